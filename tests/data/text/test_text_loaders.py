"""data=text loaders: the resumable (optionally length-bucketed) training loader, and text sources of
data=per_task concatenated with sequences of different lengths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from text_files import TASKS, ner_rows, text_data, tiny_tokenizer, write_jsonl

from mtl_lab.batch import Batch, concat_batches
from mtl_lab.data import PerTaskDataModule
from mtl_lab.errors import DataError


def padding(batches: list[Batch]) -> int:
    return sum(int((1 - b.inputs["attention_mask"]).sum()) for b in batches)


@pytest.mark.parametrize("bucketing", [False, True])
def test_the_training_loader_is_a_function_of_seed_and_epoch_and_resumes_mid_epoch(
    tmp_path: Path, bucketing: bool
) -> None:
    dm = text_data(write_jsonl(tmp_path / "rows.jsonl", ner_rows()), bucketing=bucketing, batch_size=3)
    full = list(dm.train_dataloader())
    assert [b.size for b in full] == [3, 3, 3, 3, 3, 1]
    again = list(dm.train_dataloader())
    assert all(
        torch.equal(a.inputs["input_ids"], b.inputs["input_ids"]) for a, b in zip(full, again, strict=True)
    )
    resumed = dm.train_dataloader()
    resumed.load_state_dict({"epoch": 0, "batches": 2})
    rest = list(resumed)
    assert len(rest) == 4 and resumed.state_dict() == {"epoch": 0, "batches": 6}
    assert all(torch.equal(a.targets["ner"], b.targets["ner"]) for a, b in zip(full[2:], rest, strict=True))
    # train: 12 rows of 6 tokens, 4 of 11; bucketed batches hold rows of one length
    assert (padding(full) == 0) == bucketing

    def order(epoch: int) -> list[int]:
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        return list(loader.sampler)

    assert order(1) == order(1) != order(0) and sorted(order(1)) == sorted(order(0)) == list(range(16))


def test_concat_pads_sequences_and_per_token_targets_to_the_longest() -> None:
    short = Batch(
        inputs={"input_ids": torch.tensor([[2, 5, 3]]), "attention_mask": torch.ones(1, 3, dtype=torch.long)},
        targets={"ner": torch.tensor([[0, 1, 0]])},
        masks={"ner": torch.tensor([[False, True, False]])},
    )
    long = Batch(
        inputs={"input_ids": torch.tensor([[2, 5, 6, 7, 3]] * 2), "attention_mask": torch.ones(2, 5, dtype=torch.long)},
        targets={"sentiment": torch.tensor([1, 0])},
        masks={"sentiment": torch.tensor([True, False])},
    )  # fmt: skip
    batch = concat_batches([short, long])
    assert batch.inputs["input_ids"].tolist() == [[2, 5, 3, 0, 0], [2, 5, 6, 7, 3], [2, 5, 6, 7, 3]]
    assert batch.inputs["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1] * 5, [1] * 5]
    assert batch.targets["ner"].tolist() == [[0, 1, 0, 0, 0], [0] * 5, [0] * 5]
    assert batch.masks["ner"].tolist() == [[False, True, False, False, False], [False] * 5, [False] * 5]
    assert batch.masks["sentiment"].tolist() == [False, True, False]
    features = Batch(inputs={"x": torch.zeros(1, 3)}, targets={})
    with pytest.raises(
        DataError, match=r"^per-task batches have different inputs: \{'x': \(3,\)\} and \{'x': \(4,\)\}"
    ):
        concat_batches([features, Batch(inputs={"x": torch.zeros(1, 4)}, targets={})])  # fmt: skip


def test_per_task_text_sources_of_different_lengths_are_padded_and_masked(tmp_path: Path) -> None:
    words = write_jsonl(tmp_path / "words.jsonl", ner_rows(10))
    long_rows = [{**r, "text": r["text"] + " and the movie was good and bad"} for r in ner_rows(10)]
    texts = write_jsonl(tmp_path / "texts.jsonl", long_rows)
    common = {"name": "text", "tokenizer": tiny_tokenizer(), "split_column": "fold", "batch_size": 4}
    sources = {
        "words": {**common, "path": str(words), "tokens_column": "tokens", "tasks": {"ner": TASKS["ner"]}},
        "texts": {**common, "path": str(texts), "tasks": {"sentiment": TASKS["sentiment"]}},
    }
    dm = PerTaskDataModule(sources=sources, mode="cycle")
    assert set(dm.tasks) == {"ner", "sentiment"} and dm.input_specs["input_ids"].vocab_size == 28
    own = {name: next(iter(source.train_dataloader())) for name, source in dm.sources.items()}
    batch = next(iter(dm.train_dataloader()))
    n, width = own["words"].size, own["texts"].inputs["input_ids"].shape[1]
    short = own["words"].inputs["input_ids"].shape[1]
    assert short < width and batch.inputs["input_ids"].shape == (n + own["texts"].size, width)
    assert torch.equal(batch.inputs["input_ids"][:n, :short], own["words"].inputs["input_ids"])
    assert not batch.inputs["attention_mask"][:n, short:].any()
    assert torch.equal(batch.inputs["input_ids"][n:], own["texts"].inputs["input_ids"])
    ner = batch.masks["ner"]
    assert ner.shape == (batch.size, width) and not ner[n:].any() and not ner[:, short:].any()
    assert torch.equal(ner[:n, :short], own["words"].masks["ner"])
    assert torch.equal(batch.targets["ner"][:n, :short], own["words"].targets["ner"])
    assert batch.masks["sentiment"].tolist() == [False] * n + own["texts"].masks["sentiment"].tolist()
    assert dm.labelled_counts()["val"] == {"ner": 1, "sentiment": 1}
