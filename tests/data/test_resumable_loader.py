"""The training loader's shuffle (a function of seed and epoch) and its checkpointed position."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from mtl_lab.batch import Batch
from mtl_lab.data.datamodule import TensorMultiTaskDataset, TensorSplit, identity_collate
from mtl_lab.data.resumable_loader import ResumableLoader, StepPosition, training_loader


def _loader(
    n: int = 10, batch_size: int = 3, seed: int = 0, replicas: int = 1, rank: int = 0
) -> ResumableLoader:
    split = TensorSplit(inputs={"x": torch.arange(n).float()[:, None]}, targets={"t": torch.arange(n)})
    return training_loader(
        TensorMultiTaskDataset(split), batch_size, seed, replicas, rank, collate_fn=identity_collate
    )


def _rows(batches: list[Batch]) -> list[list[int]]:
    return [b.targets["t"].tolist() for b in batches]


def _flat(rows: list[list[int]]) -> list[int]:
    return [i for row in rows for i in row]


def test_the_shuffle_is_a_function_of_seed_and_epoch_and_leaves_the_global_rng_alone() -> None:
    loader = _loader()
    rng = torch.get_rng_state()
    first = _rows(list(loader))
    assert torch.equal(rng, torch.get_rng_state()), "iterating draws nothing from the global generator"
    torch.manual_seed(123)
    assert _rows(list(_loader())) == first
    assert sorted(_flat(first)) == list(range(10)) and [len(b) for b in first] == [3, 3, 3, 1]
    loader.sampler.set_epoch(1)
    assert _rows(list(loader)) != first
    assert _rows(list(_loader(seed=1))) != first


def test_a_loaded_position_resumes_the_epoch_after_the_batches_already_taken() -> None:
    loader = _loader()
    loader.sampler.set_epoch(2)
    full = _rows(list(loader))
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    assert state == {"epoch": 2, "batches": 2}

    resumed = _loader()
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(2)  # what Lightning calls as the epoch starts: the position stays
    iterator = iter(resumed)
    assert _rows([next(iterator)]) == full[2:3]
    assert resumed.state_dict() == {"epoch": 2, "batches": 3}, "a second resume counts from the start"
    assert _rows(list(iterator)) == full[3:]
    resumed.sampler.set_epoch(3)
    assert len(list(resumed)) == 4, "the next epoch is whole"


def test_a_position_saved_in_another_epoch_is_dropped_when_the_epoch_changes() -> None:
    loader = _loader()
    loader.load_state_dict({"epoch": 0, "batches": 4})  # a checkpoint at the end of epoch 0
    loader.sampler.set_epoch(1)
    expected = _loader()
    expected.sampler.set_epoch(1)
    assert _rows(list(loader)) == _rows(list(expected))


def test_under_ddp_each_rank_reads_its_own_share() -> None:
    shares = [_flat(_rows(list(_loader(replicas=2, rank=r)))) for r in (0, 1)]
    assert not set(shares[0]) & set(shares[1]) and sorted(shares[0] + shares[1]) == list(range(10))


def test_step_position_resumes_an_epoch_after_the_steps_already_taken() -> None:
    class Steps(StepPosition):
        def __iter__(self) -> Iterator[int]:
            return self.positioned(self.epoch, iter(range(5)))  # type: ignore[arg-type]

    steps = Steps()
    steps.epoch = 3
    iterator = iter(steps)
    next(iterator), next(iterator)
    assert steps.state_dict() == {"epoch": 3, "batches": 2}
    resumed = Steps()
    resumed.epoch = 3
    resumed.load_state_dict(steps.state_dict())
    assert list(resumed) == [2, 3, 4] and resumed.state_dict() == {"epoch": 3, "batches": 5}
    assert list(resumed) == [0, 1, 2, 3, 4], "once"
    resumed.load_state_dict({"epoch": 2, "batches": 5})
    assert list(resumed) == [0, 1, 2, 3, 4], "a position of another epoch"
