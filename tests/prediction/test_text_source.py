"""A text file as mtl-predict's source, without a model: the rows of a split (or of a new file) in input
order, encoded exactly as data=text encodes that split, each batch padded to its own longest row, every
word's first sub-token known with or without labels (-1 once cut by truncation), batches sharded over
ranks exactly once; token tasks' columns are per-word tag lists."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_runs import write_fake_run

from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.tokenize import tokenize
from mtl_lab.data.text.words import NO_TOKEN, word_starts
from mtl_lab.errors import ConfigError, DataError
from mtl_lab.prediction.columns import column_names, prediction_columns
from mtl_lab.prediction.sources import SourceBatch
from mtl_lab.prediction.text_rows import text_file_overrides
from mtl_lab.prediction.text_source import TextSource, text_source
from mtl_lab.tasks import TaskSpec

TAGS = ("O", "B-LOC", "B-PER", "I-LOC")


def _example(tmp_path: Path, **overrides: object) -> TextDataModule:
    return TextDataModule(**{**TextDataModule.example(tmp_path), "eval_batch_size": 2, **overrides})


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _carried(batches: Iterable[SourceBatch], column: str) -> list[object]:
    """The carried ``column`` of ``batches``, one list."""
    return [value for b in batches if b.carry is not None for value in b.carry.column(column).to_pylist()]


def _shard(source: TextSource, world_size: int) -> list[SourceBatch]:
    """Each rank's batches, interleaved back one batch at a time."""
    ranks = [list(source.batches(lambda n, r=r: n % world_size == r)) for r in range(world_size)]
    return [ranks[n % world_size][n // world_size] for n in range(sum(map(len, ranks)))]


def test_a_split_is_encoded_as_data_text_encodes_it_in_padded_batches_and_shards(tmp_path: Path) -> None:
    data = _example(tmp_path)
    source = text_source(data, "val", {}, ["text", "split"])
    rows = [r for r in _rows(tmp_path / "example_text.jsonl") if r["split"] == "val"]
    assert [r["tags"] is None for r in rows] == [False, False, True]
    assert source.description == f"the rows of {tmp_path / 'example_text.jsonl'} whose 'split' is 'val'"
    assert source.labelled_tasks == ("sentiment", "entities")
    batches = list(source.batches(lambda n: True))
    assert [len(b.carry) for b in batches] == [2, 1]
    assert _carried(batches, "text") == [r["text"] for r in rows]
    expected = data.dataset("val").__getitems__([0, 1, 2])  # data=text's own val rows, in one batch
    start = 0
    for item in batches:
        n, width = len(item.carry), item.batch.inputs["input_ids"].shape[1]
        mask = item.batch.inputs["attention_mask"]
        assert width == int(mask.sum(1).max())  # padded to the batch's own longest row
        part = slice(start, start + n)
        assert torch.equal(item.batch.inputs["input_ids"], expected.inputs["input_ids"][part, :width])
        for task in ("sentiment", "entities"):
            got, want = item.batch.masks[task], expected.masks[task][part]
            assert torch.equal(got, want[:, :width] if got.dim() == 2 else want)
            assert torch.equal(item.batch.targets[task][got], expected.targets[task][part][want])
        assert item.words is not None
        assert item.words.counts.tolist() == [len(r["tokens"]) for r in rows[part]]
        for i, row in enumerate(rows[part]):  # each word's first sub-token: where a tagged row's tag sits
            positions = item.words.rows(i, i + 1).positions.tolist()
            labelled = item.batch.masks["entities"][i].nonzero().flatten().tolist()
            assert labelled == (positions if row["tags"] is not None else [])
        start += n
    for world_size in (2, 3):  # every batch on exactly one rank, back in input order
        assert _carried(_shard(source, world_size), "text") == [r["text"] for r in rows]


def test_a_new_file_is_read_whole_and_its_label_columns_are_optional(tmp_path: Path) -> None:
    data = _example(tmp_path)
    rows = _rows(tmp_path / "example_text.jsonl")
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({"id": i, "tokens": r["tokens"]}) + "\n" for i, r in enumerate(rows)))
    source = text_source(data, "test", {"path": str(new)}, ["id"])
    assert source.labelled_tasks == () and source.path == new
    assert source.description == f"every row of {new} (no split column 'split')"
    batches = list(source.batches(lambda n: True))
    assert _carried(batches, "id") == list(range(30))
    assert not any(b.batch.targets for b in batches)
    with pytest.raises(
        ConfigError, match=r"^carry \(.*new.jsonl\): unknown column 'ids'; .*did you mean 'id'\?$"
    ):
        text_source(data, "test", {"path": str(new)}, ["ids"])
    # a label column present is scored; one without any label is not
    lines = [{"tokens": r["tokens"], "sentiment": r["sentiment"], "tags": None} for r in rows]
    new.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert text_source(data, "val", {"path": str(new)}, []).labelled_tasks == ("sentiment",)


def test_words_cut_by_truncation_have_no_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = _example(tmp_path, max_length=8)
    words = [["anna", "loves", "the", "unbelievable", "film"], ["john"], ["unbelievable"] * 2 + ["paris"]]
    starts = word_starts(tokenize(data.tokenizer, words, True, 8), [5, 1, 3])
    # [CLS] anna loves the un ##believ ##able [SEP]: film is cut; un ##believ ##able un ##believ ##able: paris
    assert starts.positions.tolist() == [1, 2, 3, 4, NO_TOKEN, 1, 1, 4, NO_TOKEN]
    assert starts.rows(1, 3).positions.tolist() == [1, 1, 4, NO_TOKEN]
    assert starts.rows(1, 3).offsets.tolist() == [0, 1, 4]
    new = tmp_path / "cut.jsonl"
    new.write_text("".join(json.dumps({"tokens": w}) + "\n" for w in words))
    with caplog.at_level(logging.WARNING):
        source = text_source(data, "test", {"path": str(new)}, [])
    assert "truncated: 2 of 3 test" in caplog.text
    item = next(source.batches(lambda n: True))
    assert item.words is not None and item.words.positions.tolist() == [1, 2, 3, 4, NO_TOKEN, 1]


def test_token_tasks_give_one_tag_per_word_and_null_for_a_cut_word(tmp_path: Path) -> None:
    tasks = {"ner": TaskSpec("ner", "token_classification", 4, class_names=TAGS)}
    data = _example(tmp_path, max_length=8)
    words = word_starts(tokenize(data.tokenizer, [["anna"] * 9, ["paris", "paris"]], True, 8), [9, 2])
    logits = torch.full((2, 8, 4), -5.0)
    logits[0, :, 2] = 5.0  # every token of row 0: B-PER
    logits[1, 1, 1], logits[1, 2, 3] = 5.0, 5.0  # row 1: B-LOC I-LOC
    columns = prediction_columns(tasks, {"ner": logits}, probabilities=True, words=words)
    assert list(columns) == column_names(tasks, probabilities=True) == ["ner", *[f"ner/{t}" for t in TAGS]]
    assert columns["ner"].to_pylist() == [["B-PER"] * 6 + [None] * 3, ["B-LOC", "I-LOC"]]
    per_tag = np.array([columns[f"ner/{t}"].to_pylist()[1] for t in TAGS])  # [tags, words]
    np.testing.assert_allclose(per_tag.sum(0), 1.0, rtol=1e-6)
    assert columns["ner/O"].to_pylist()[0][6:] == [None] * 3
    with pytest.raises(DataError, match="task 'ner': its tags are per word; these rows have no word lists"):
        prediction_columns(tasks, {"ner": logits}, probabilities=False)


def test_a_text_runs_file_overrides_are_kept_out_of_its_config(tmp_path: Path) -> None:
    text = write_fake_run(tmp_path / "text", {}, data={"name": "reviews"})
    digits = write_fake_run(tmp_path / "digits", {})
    overrides = ["data.path=new.jsonl", "trainer=ddp_cpu", "+data.test_path='a b.csv'", "data.max_length=8"]
    files, others = text_file_overrides(text, overrides)
    assert files == {"path": "new.jsonl", "test_path": "a b.csv"}
    assert others == ["trainer=ddp_cpu", "data.max_length=8"]
    assert text_file_overrides(digits, overrides) == ({}, overrides)
