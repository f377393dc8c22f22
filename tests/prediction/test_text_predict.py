"""mtl-predict on a real tiny text run (experiment=sentiment_ner): the rows of a split in file order, one
tag per word equal to a direct forward at each word's first sub-token, metrics equal to mtl-eval's, the
same lists in .parquet, .jsonl and .csv, a new unlabelled file (null tags for words cut by truncation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import torch
from prediction_runs import runs_root, text_run

from mtl_lab.errors import ConfigError
from mtl_lab.evaluation import evaluate_run, load_run, load_run_config
from mtl_lab.prediction import predict_run
from mtl_lab.text.pretrained import load_tokenizer

TAGS = ["O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER"]


@pytest.fixture(scope="module")
def text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return text_run(runs_root(tmp_path_factory))


def _file_rows(run_dir: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "reviews" / f"{split}.jsonl").read_text().splitlines()]


def _forward(run_dir: Path, split: str) -> tuple[list[str], list[str]]:
    """(sentiment per row, tag per labelled word in order): the model on data=reviews' own batches of 6
    (the run's data.eval_batch_size), read where the data marks each word's tag (its first sub-token)."""
    run = load_run(run_dir, load_run_config(run_dir))
    dataset = run.datamodule.dataset(split)
    sentiment, tags = [], []
    with torch.no_grad():
        for start in range(0, len(dataset), 6):
            batch = dataset.__getitems__(list(range(start, min(start + 6, len(dataset)))))
            out = run.module.model.eval()(batch.inputs).predictions
            sentiment += [["negative", "positive"][i] for i in out["sentiment"].argmax(-1).tolist()]
            tags += [TAGS[i] for i in out["ner"].argmax(-1)[batch.masks["ner"]].tolist()]
    return sentiment, tags


def test_a_split_gives_its_rows_in_order_one_tag_per_word_and_mtl_evals_metrics(
    text: Path, tmp_path: Path
) -> None:
    result = predict_run(text, tmp_path / "test.parquet", carry=["text", "tokens"])
    rows = _file_rows(text, "test")
    assert result is not None and result.rows == len(rows) == 20
    assert result.description == f"every row of {text / 'reviews' / 'test.jsonl'} (data.test_path)"
    table = pq.read_table(tmp_path / "test.parquet")
    assert table.column_names == ["text", "tokens", "sentiment", "ner"]
    assert table.column("text").to_pylist() == [r["text"] for r in rows]
    assert table.column("tokens").to_pylist() == [r["tokens"] for r in rows]
    tags = table.column("ner").to_pylist()
    assert [len(t) for t in tags] == [len(r["tokens"]) for r in rows]  # no row is cut at 64 tokens
    assert {tag for row in tags for tag in row} <= set(TAGS)
    sentiment, forward_tags = _forward(text, "test")
    assert table.column("sentiment").to_pylist() == sentiment
    assert [tag for row in tags for tag in row] == forward_tags
    expected = evaluate_run(text, split="test").record["metrics"]
    assert set(result.record["metrics"]) == set(expected) and "test/ner/entity_f1" in expected
    for name, value in expected.items():
        assert result.record["metrics"][name] == pytest.approx(value, abs=1e-6), name
    words = sum(len(r["tokens"]) for r in rows)
    assert result.record["labelled"] == {"sentiment": 20, "ner": words}


def test_parquet_jsonl_and_csv_hold_the_same_tag_and_probability_lists(text: Path, tmp_path: Path) -> None:
    written = {}
    for fmt in ("parquet", "jsonl", "csv"):
        output = tmp_path / f"val.{fmt}"
        assert predict_run(text, output, split="val", probabilities=True) is not None
        if fmt == "parquet":
            written[fmt] = pq.read_table(output).to_pylist()
        elif fmt == "jsonl":
            written[fmt] = [json.loads(line) for line in output.read_text().splitlines()]
        else:  # a list cell is its JSON text
            csv = pa_csv.read_csv(output).to_pylist()
            written[fmt] = [
                {k: json.loads(v) if k.startswith("ner") else v for k, v in r.items()} for r in csv
            ]
    rows = _file_rows(text, "val")
    assert [len(r["ner"]) for r in written["parquet"]] == [len(r["tokens"]) for r in rows]
    for row in written["parquet"]:
        probs = np.array([row[f"ner/{tag}"] for tag in TAGS])  # [tags, words]
        np.testing.assert_allclose(probs.sum(0), 1.0, rtol=1e-5)
        assert [TAGS[i] for i in probs.argmax(0)] == row["ner"]
    for fmt in ("jsonl", "csv"):
        assert len(written[fmt]) == len(rows)
        for got, want in zip(written[fmt], written["parquet"], strict=True):
            assert list(got) == list(want)
            assert got["ner"] == want["ner"] and got["sentiment"] == want["sentiment"]
            np.testing.assert_allclose(got["ner/B-PER"], want["ner/B-PER"], rtol=1e-6)


def test_a_new_file_without_labels_gets_a_tag_per_word_null_where_truncated(
    text: Path, tmp_path: Path
) -> None:
    rows = _file_rows(text, "val")[:4]
    long = rows[0]["tokens"] * 30  # far over data.max_length=64 tokens
    words = [*(r["tokens"] for r in rows), long]
    new = tmp_path / "new.csv"  # word lists as space-separated cells
    new.write_text("id,tokens\n" + "".join(f'{i},"{" ".join(w)}"\n' for i, w in enumerate(words)))
    output = tmp_path / "new.jsonl"
    result = predict_run(text, output, overrides=[f"data.path={new}"], carry=["id"])
    assert result is not None and result.rows == 5 and result.metrics_path is None
    assert result.description == f"every row of {new}"
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["id"] for line in lines] == list(range(5)) and list(lines[0]) == ["id", "sentiment", "ner"]
    assert [len(line["ner"]) for line in lines] == [len(w) for w in words]
    assert all(None not in line["ner"] for line in lines[:4])
    tokenizer = load_tokenizer(text / "tiny_bert", "tokenizer")
    seen = set(tokenizer(long, is_split_into_words=True, truncation=True, max_length=64).word_ids())
    kept = [tag is not None for tag in lines[4]["ner"]]
    assert kept == [i in seen for i in range(len(long))] and 0 < sum(kept) < len(long)
    assert kept == sorted(kept, reverse=True)  # the words cut are the last ones
    # the output may not replace the file predicted, nor an existing file without overwrite=true
    with pytest.raises(
        ConfigError, match=r"output: .*new.csv is the file being predicted; write it elsewhere$"
    ):
        predict_run(text, new, overrides=[f"data.path={new}"], overwrite=True)
    with pytest.raises(ConfigError, match=r"output: .*new.jsonl exists; pass overwrite=true to replace it$"):
        predict_run(text, output, overrides=[f"data.path={new}"])
    assert new.read_text().startswith("id,tokens\n")
