"""data=text tokens: word tags on first sub-tokens, batches padded to their own longest row, and the
same ids in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from text_files import tiny_tokenizer, write_jsonl

from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text import tokenize as tokenize_module
from mtl_lab.data.text.tokenize import tokenize
from mtl_lab.text.pretrained import load_tokenizer

# ids of the example vocabulary: [CLS] 2, [SEP] 3, [PAD] 0, john 5, anna 7, movie 17, good 19,
# un ##believ ##able 21 22 23
ROWS = [
    {"tokens": ["John", "unbelievable", "movie"], "tags": ["B-PER", "O", "B-LOC"]},
    {"tokens": ["anna", "good"], "tags": ["B-PER", "O"]},
]


def one_file_data(tmp_path: Path, **extra: object) -> TextDataModule:
    path = str(write_jsonl(tmp_path / "rows.jsonl", ROWS))
    return TextDataModule(
        train_path=path,
        val_path=path,
        test_path=path,
        tokens_column="tokens",
        tasks={"ner": {"column": "tags", "kind": "token_classification"}},
        tokenizer=tiny_tokenizer(),
        **extra,  # type: ignore[arg-type]
    )


def test_a_words_tag_sits_on_its_first_sub_token_only(tmp_path: Path) -> None:
    dm = one_file_data(tmp_path, eval_batch_size=2)
    assert dm.tasks["ner"].class_names == ("O", "B-LOC", "B-PER")  # sorted, O first
    batch = next(iter(dm.val_dataloader()))
    assert batch.inputs["input_ids"].tolist() == [[2, 5, 21, 22, 23, 17, 3], [2, 7, 19, 3, 0, 0, 0]]
    assert batch.inputs["attention_mask"].tolist() == [[1] * 7, [1, 1, 1, 1, 0, 0, 0]]
    mask = batch.masks["ner"]
    assert mask.dtype == torch.bool
    # John | un ##believ ##able (labelled on "un" only) | movie; [CLS], [SEP] and padding unlabelled
    assert mask.tolist() == [
        [False, True, True, False, False, True, False],
        [False, True, True, False, False, False, False],
    ]
    target = batch.targets["ner"]
    assert target.dtype == torch.long and target[mask].tolist() == [2, 0, 1, 2, 0]
    assert dm.labelled_counts()["val"] == {"ner": 2}


def test_batches_are_padded_to_their_own_longest_row(tmp_path: Path) -> None:
    dm = one_file_data(tmp_path, eval_batch_size=1, max_length=64)
    assert dm.input_specs["input_ids"].shape == (64,) and dm.input_specs["input_ids"].vocab_size == 28
    widths = [tuple(b.inputs["input_ids"].shape) for b in dm.test_dataloader()]
    assert widths == [(1, 7), (1, 4)]
    assert [tuple(b.masks["ner"].shape) for b in dm.test_dataloader()] == widths


# loads tokenize.py by its path: importing the mtl_lab.data package would import Lightning too (slow)
CHILD = """
import importlib.util, json, sys
from mtl_lab.text.pretrained import load_tokenizer
spec = importlib.util.spec_from_file_location("tokenize_module", sys.argv[3])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
rows = json.loads(sys.argv[2])
t = module.tokenize(load_tokenizer(sys.argv[1], "data.tokenizer"), rows, True, 6)
print(json.dumps([t.ids.tolist(), t.offsets.tolist(), t.word_ids.tolist(), t.truncated.tolist()]))
"""


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_tokenization_gives_the_same_ids_in_another_process() -> None:
    rows = [row["tokens"] for row in ROWS] + [["new", "york", "visited", "paris", "in", "the", "film"]]
    tokenizer = tiny_tokenizer()
    here = tokenize(load_tokenizer(tokenizer, "data.tokenizer"), rows, True, 6)
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, tokenizer, json.dumps(rows), tokenize_module.__file__],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    there = json.loads(child.stdout.strip().splitlines()[-1])
    assert there == [
        here.ids.tolist(),
        here.offsets.tolist(),
        here.word_ids.tolist(),
        here.truncated.tolist(),
    ]
    assert here.truncated.tolist() == [True, False, True]  # 7 and 9 tokens cut to 6
