"""Loaders over several sources: combined (cycle / min_size), in turn (evaluation), sharded over ranks."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader

from mtl_lab.batch import Batch
from mtl_lab.data.datamodule import TensorMultiTaskDataset, TensorSplit, identity_collate
from mtl_lab.data.source_loaders import CombinedSources, SourcePasses, SourcesInTurn, shard_loader
from mtl_lab.errors import ConfigError, DataError


def source(task: str, first_id: int, rows: int, batch_size: int, shuffle: bool = False) -> DataLoader[Batch]:
    """A loader of ``rows`` samples whose input ``x`` is the sample's id (first_id, first_id + 1, ...)."""
    ids = torch.arange(first_id, first_id + rows, dtype=torch.float32)
    split = TensorSplit(inputs={"x": ids[:, None]}, targets={task: ids.clone()})
    return DataLoader(
        TensorMultiTaskDataset(split), batch_size=batch_size, shuffle=shuffle, collate_fn=identity_collate
    )


def ids(batch: Batch) -> list[int]:
    return batch.inputs["x"][:, 0].long().tolist()


@pytest.fixture
def loaders() -> dict[str, DataLoader[Batch]]:
    # a: 10 samples in 4 batches (3, 3, 3, 1); b: 4 samples in 2 batches (2, 2)
    return {"a": source("a", 0, 10, 3), "b": source("b", 100, 4, 2)}


def test_cycle_takes_a_batch_of_every_source_per_step_and_restarts_the_shorter(
    loaders: dict[str, DataLoader[Batch]],
) -> None:
    combined = CombinedSources(loaders, "cycle", epoch=lambda: 0)
    batches = list(combined)
    assert len(combined) == len(batches) == 4  # the longest source's batches
    assert [ids(b) for b in batches] == [
        [0, 1, 2, 100, 101],
        [3, 4, 5, 102, 103],
        [6, 7, 8, 100, 101],  # b restarts
        [9, 102, 103],
    ]
    for batch in batches:
        n_a = sum(i < 100 for i in ids(batch))
        # each task is labelled on its own source's rows only, and its targets there are the source's
        assert batch.masks["a"].tolist() == [True] * n_a + [False] * (batch.size - n_a)
        assert batch.masks["b"].tolist() == [False] * n_a + [True] * (batch.size - n_a)
        assert batch.targets["a"][batch.masks["a"]].long().tolist() == ids(batch)[:n_a]
        assert batch.targets["b"][batch.masks["b"]].long().tolist() == ids(batch)[n_a:]


def test_min_size_stops_with_the_shortest_source(loaders: dict[str, DataLoader[Batch]]) -> None:
    combined = CombinedSources(loaders, "min_size", epoch=lambda: 0)
    batches = list(combined)
    assert len(combined) == len(batches) == 2
    assert [ids(b) for b in batches] == [[0, 1, 2, 100, 101], [3, 4, 5, 102, 103]]


def test_combined_loading_refuses_the_sample_mode(loaders: dict[str, DataLoader[Batch]]) -> None:
    with pytest.raises(
        ConfigError, match=r"^data.mode: combined loading takes cycle or min_size, got 'sample'$"
    ):
        CombinedSources(loaders, "sample", epoch=lambda: 0)


def test_sources_in_turn_yield_every_sample_once_with_only_their_tasks(
    loaders: dict[str, DataLoader[Batch]],
) -> None:
    in_turn = SourcesInTurn(loaders)
    batches = list(in_turn)
    assert len(in_turn) == len(batches) == 6
    assert [ids(b) for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9], [100, 101], [102, 103]]
    assert [set(b.targets) for b in batches] == [{"a"}] * 4 + [{"b"}] * 2


def test_an_empty_source_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"^data.sources.b: its loader yields no batch$"):
        SourcesInTurn({"a": source("a", 0, 3, 2), "b": source("b", 0, 0, 2)})


@pytest.mark.parametrize("shuffle", [True, False])
def test_shards_split_a_source_across_ranks_with_equal_lengths(shuffle: bool) -> None:
    loader = source("a", 0, 9, 2)
    shards = [shard_loader(loader, "a", 2, rank, shuffle=shuffle, seed=3) for rank in range(2)]
    seen = [[i for b in shard for i in ids(b)] for shard in shards]
    assert [len(s) for s in shards] == [3, 3] and [len(s) for s in seen] == [5, 5]  # 9 padded to 10
    counts = Counter(seen[0] + seen[1])
    assert set(counts) == set(range(9)) and sum(counts.values()) == 10  # one sample twice (padding)
    if not shuffle:
        assert seen == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 0]]
    again = shard_loader(loader, "a", 2, 0, shuffle=shuffle, seed=3)
    assert [i for b in again for i in ids(b)] == seen[0]  # a function of (seed, epoch): the same on rerun


def test_source_passes_give_every_pass_its_own_sampler_epoch() -> None:
    shard = shard_loader(source("a", 0, 8, 2), "a", 2, 0, shuffle=True, seed=0)  # 2 batches per pass
    passes = SourcePasses(shard, epoch=3, stride=10)
    first = [ids(passes.next()) for _ in range(2)]
    assert shard.sampler.epoch == 30
    second = [ids(passes.next()) for _ in range(2)]
    assert shard.sampler.epoch == 31 and passes.passes == 2
    rerun = SourcePasses(shard, epoch=3, stride=10)
    assert [ids(rerun.next()) for _ in range(4)] == first + second  # reproducible
    orders = {tuple(i for batch in p for i in batch) for p in (first, second)}
    assert len(orders) == 2, "each pass reshuffles"


def test_a_loader_with_its_own_batch_sampler_cannot_be_sharded() -> None:
    loader = DataLoader(list(range(4)), batch_sampler=[[0, 1], [2, 3]])
    with pytest.raises(DataError, match=r"^data.sources.a: its loader uses its own batch sampler"):
        shard_loader(loader, "a", 2, 0, shuffle=False, seed=0)
