"""data=text: the three ways to split, labels and masks, truncation, the one-line errors, and the
preprocessing state."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyarrow as pa
import pytest
import torch
from text_files import TASKS, ner_rows, text_data, tiny_tokenizer, write_csv, write_jsonl

from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.source import read_lists
from mtl_lab.errors import ConfigError, DataError


def numbered(n: int = 20) -> list[dict[str, object]]:
    """:func:`ner_rows` with ``row``: the 1-based file row, as a regression label."""
    return [{**row, "row": i + 1} for i, row in enumerate(ner_rows(n))]


def split_rows(dm: TextDataModule) -> dict[str, list[int]]:
    return {s: dm.split(s).targets["row"].flatten().int().tolist() for s in ("train", "val", "test")}


ROW_TASK = {"row": {"kind": "regression"}}


def test_a_split_column_fractions_or_one_file_per_split_place_the_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rows.csv", numbered())  # lists as whitespace-separated items
    by_column = split_rows(text_data(path, tasks=ROW_TASK))
    assert by_column == {
        "train": [r for r in range(1, 21) if r % 10 not in (9, 0)],
        "val": [9, 19],
        "test": [10, 20],
    }
    random = split_rows(
        text_data(path, tasks=ROW_TASK, split_column=None, split={"train": 0.5, "val": 0.25, "test": 0.25})
    )
    assert [len(random[s]) for s in ("train", "val", "test")] == [10, 5, 5]
    assert sorted(r for rows in random.values() for r in rows) == list(range(1, 21))
    again = split_rows(
        text_data(path, tasks=ROW_TASK, split_column=None, split={"train": 0.5, "val": 0.25, "test": 0.25})
    )
    assert again == random  # a function of the seed
    files = {
        s: str(write_jsonl(tmp_path / f"{s}.jsonl", numbered(n)))
        for s, n in (("train", 6), ("val", 2), ("test", 3))
    }
    per_file = split_rows(
        text_data(
            None,
            tasks=ROW_TASK,
            split_column=None,
            train_path=files["train"],
            val_path=files["val"],
            test_path=files["test"],
        )
    )
    assert per_file == {"train": [1, 2, 3, 4, 5, 6], "val": [1, 2], "test": [1, 2, 3]}
    with pytest.raises(ConfigError, match=r"^data.split_column: 'label' is also a text or label column$"):
        text_data(path, split_column="label")  # fmt: skip


def test_labels_and_tags_are_masked_where_missing(tmp_path: Path) -> None:
    rows = ner_rows()
    rows[0]["label"], rows[1]["tags"] = None, None
    dm = text_data(write_jsonl(tmp_path / "rows.jsonl", rows), text_column="text")
    assert dm.tasks["sentiment"].class_names == ("neg", "pos") and dm.tasks["ner"].num_outputs == 4
    assert dm.labelled_counts() == {"train": {"sentiment": 15, "ner": 15}, "val": {"sentiment": 2, "ner": 2}, "test": {"sentiment": 2, "ner": 2}}  # fmt: skip
    batch = dm.split("train")
    assert batch.masks["sentiment"][:2].tolist() == [False, True]
    assert not bool(dm.split("train").token_tags["ner"][batch.offsets[1] : batch.offsets[2]].max() >= 0)


def test_long_rows_are_cut_with_one_warning_or_fail_naming_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ner_rows())
    dm = text_data(path, max_length=6)  # [CLS] + 4 words + [SEP] fits; the 7-word sentence does not
    with caplog.at_level(logging.WARNING, logger="mtl_lab.data.text.encode"):
        dm.setup()
    assert len(caplog.records) == 1
    assert re.search(
        r"max_length=6 tokens were truncated: 4 of 16 train, 0 of 2 val, 1 of 2 test", caplog.text
    )
    assert int(dm.split("train").lengths.max()) == 6
    with pytest.raises(
        DataError,
        match=rf"^data.truncation=error: {path}, split 'train', row 4: longer than data.max_length=6 tokens",
    ):
        text_data(path, max_length=6, truncation="error").setup()  # fmt: skip


def error(tmp_path: Path, rows: list[dict[str, object]], **extra: object) -> str:
    with pytest.raises((ConfigError, DataError)) as info:
        text_data(write_jsonl(tmp_path / "rows.jsonl", rows), **extra).setup()
    return str(info.value)


def test_errors_name_the_file_the_column_the_row_and_the_tag(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    present = "choices: fold, label, tags, text, tokens"
    assert error(tmp_path, ner_rows(), tokens_column="words") == (
        f"data.tokens_column ({path}): unknown column 'words'; {present}"
    )
    assert error(
        tmp_path, ner_rows(), tokens_column=None, text_column="body", tasks={"s": TASKS["sentiment"]}
    ) == (f"data.text_column ({path}): unknown column 'body'; {present}")
    assert error(tmp_path, ner_rows(), tasks={"s": {"column": "labels", "kind": "classification"}}) == (
        f"data.tasks.s.column ({path}): unknown column 'labels'; {present}; did you mean 'label'?"
    )
    short = ner_rows()
    short[2]["tags"] = ["O"]
    assert error(tmp_path, short) == (
        f"task 'ner' ({path}, column 'tags'), split 'train', row 3: 1 tags for 4 words; a tag list needs one tag per word"
    )
    unseen = ner_rows()
    unseen[8]["tags"] = ["B-MISC", "O", "O", "B-LOC"]
    assert error(tmp_path, unseen) == (
        f"task 'ner' ({path}, column 'tags'), split 'val', row 9: tag 'B-MISC' is not a tag of the train split; train tags: O, B-LOC, B-PER, I-LOC"
    )
    assert error(tmp_path, ner_rows(), tokenizer=None).startswith(
        "data.tokenizer: not set; set encoder.pretrained"
    )
    assert error(tmp_path, ner_rows(), tokens_column=None) == (
        "data.tasks.ner: a token_classification task needs data.tokens_column, the column holding each row's list of words (its tags are one per word)"
    )  # fmt: skip


def test_saved_tags_map_a_tag_to_the_same_id_in_a_fresh_datamodule(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ner_rows())
    trained = text_data(path)
    state = trained.preprocessing_state()
    assert state["tasks"]["ner"]["tags"] == ["O", "B-LOC", "B-PER", "I-LOC"]
    assert state["tasks"]["sentiment"]["classes"] == ["neg", "pos"]
    # a test file whose train split lacks I-LOC and B-LOC: alone it would fit other ids
    rows = [
        {**r, "tags": ["B-PER"] + ["O"] * (len(r["tokens"]) - 1) if r["fold"] == "train" else r["tags"]}
        for r in ner_rows()
    ]
    other = write_jsonl(tmp_path / "other.jsonl", rows)
    with pytest.raises(DataError, match="tag 'B-LOC' is not a tag of the train split; train tags: O, B-PER$"):
        text_data(other).setup()
    fresh = text_data(other)
    fresh.load_preprocessing_state(state)
    assert fresh.tasks == trained.tasks and fresh.preprocessing_state() == state
    val = next(iter(fresh.val_dataloader()))
    assert val.targets["ner"][val.masks["ner"]].tolist() == [2, 0, 0, 1, 0, 0, 0, 0]
    with pytest.raises(ConfigError, match="not a data=text preprocessing"):
        fresh.load_preprocessing_state({"format": "mtl_lab.table/1"})


def test_sentence_targets_have_the_table_shapes(tmp_path: Path) -> None:
    rows = [{**r, "flag": i % 2, "score": i * 0.5} for i, r in enumerate(ner_rows())]
    tasks = {"flag": {"kind": "binary"}, "score": {"kind": "regression"}, **TASKS}
    batch = next(iter(text_data(write_jsonl(tmp_path / "rows.jsonl", rows), tasks=tasks).train_dataloader()))
    assert batch.targets["flag"].shape == (4,) and batch.targets["flag"].dtype == torch.float32
    assert batch.targets["score"].shape == (4, 1) and batch.targets["sentiment"].dtype == torch.long
    assert set(batch.masks) == set(tasks) and batch.masks["ner"].shape == batch.inputs["input_ids"].shape
    assert tiny_tokenizer()


def test_list_cells_of_text_files_are_json_arrays_or_whitespace_separated(tmp_path: Path) -> None:
    cells = pa.chunked_array([['["B-PER", "O"]', "B-PER  O", None, "", "[1, 2]"]])
    assert read_lists(cells, "where") == [["B-PER", "O"], ["B-PER", "O"], None, None, ["1", "2"]]
    with pytest.raises(DataError, match=r"^where, row 2: '\[B-PER' is not a JSON array of items$"):
        read_lists(pa.chunked_array([["O", "[B-PER"]]), "where")
    rows = ner_rows()
    rows[4]["text"] = None
    path = tmp_path / "rows.jsonl"
    assert error(tmp_path, rows, tokens_column=None, tasks={"s": TASKS["sentiment"]}) == (
        f"{path}, column 'text', row 5: no text (every row needs one)"
    )
