"""mtl-predict on real tiny runs (MultiDigits, data=table): rows in input order, equal to a direct forward
of the model, metrics equal to mtl-eval's, streaming in batches, DDP through the CLI, one-line errors."""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import entry_points
from pathlib import Path

import cli_runner
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import torch
from conftest import REPO
from prediction_runs import customers, digits_run, runs_root, table_run

from mtl_lab.evaluation import evaluate_run, load_run, load_run_config
from mtl_lab.predict import main
from mtl_lab.prediction import predict_run
from mtl_lab.prediction import table_stream as stream_module


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return digits_run(runs_root(tmp_path_factory))


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return table_run(runs_root(tmp_path_factory))


def _forward(run_dir: Path, split: str) -> dict[str, torch.Tensor]:
    """The model's outputs on the run's own split, straight from the run's datamodule."""
    run = load_run(run_dir, load_run_config(run_dir))
    with torch.no_grad():
        return run.module.model.eval()(run.datamodule.split(split).inputs).predictions


def _close_to_eval(record: dict, run_dir: Path, split: str) -> None:
    expected = evaluate_run(run_dir, split=split).record["metrics"]
    assert set(record["metrics"]) == set(expected)
    for name, value in expected.items():
        assert record["metrics"][name] == pytest.approx(value, abs=1e-6), name


def test_digits_rows_follow_the_split_and_equal_a_direct_forward(digits: Path, tmp_path: Path) -> None:
    output = tmp_path / "preds.parquet"
    result = predict_run(digits, output, probabilities=True)
    assert result is not None and result.rows == 128 and result.output == output
    table = pq.read_table(output)
    logits = _forward(digits, "test")
    for task in ("left", "right"):
        probs = np.stack([table.column(f"{task}/{c}").to_numpy() for c in range(10)], axis=1)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(probs, torch.softmax(logits[task], -1).numpy(), atol=1e-5)
        assert table.column(task).type == pa.int64()
        assert table.column(task).to_pylist() == logits[task].argmax(-1).tolist()
    np.testing.assert_allclose(table.column("sum").to_numpy(), logits["sum"][:, 0].numpy(), atol=1e-5)
    assert table.column_names[:3] == ["left", *[f"left/{c}" for c in range(2)]]
    saved = json.loads((tmp_path / "preds.parquet.metrics.json").read_text())
    assert saved["rows"] == 128 and saved["labelled"] == {"left": 128, "right": 128, "sum": 128}
    _close_to_eval(saved, digits, "test")


def test_table_predictions_carry_ids_and_match_mtl_eval_on_each_split(table: Path, tmp_path: Path) -> None:
    for split in ("test", "val"):
        output = tmp_path / f"{split}.csv"
        result = predict_run(table, output, split=split, carry=["customer_id", "fold"], probabilities=True)
        assert result is not None and result.metrics_path == tmp_path / f"{split}.csv.metrics.json"
        _close_to_eval(result.record, table, split)
        rows = pa_csv.read_csv(output)
        ids = np.flatnonzero(np.array(customers()["fold"]) == split) + 1000
        assert rows.column("customer_id").to_pylist() == ids.tolist()
        assert set(rows.column("fold").to_pylist()) == {split}
        logits = _forward(table, split)
        probs = np.stack([rows.column(f"segment/{c}").to_numpy() for c in ("bargain", "family", "vip")], 1)
        np.testing.assert_allclose(probs, torch.softmax(logits["segment"], -1).numpy(), atol=1e-5)
        names = np.array(["bargain", "family", "vip"])[probs.argmax(1)]
        assert rows.column("segment").to_pylist() == names.tolist()
        churn = torch.sigmoid(logits["churn"][:, 0]).numpy()
        np.testing.assert_allclose(rows.column("churn").to_numpy(), churn, atol=1e-5)
        np.testing.assert_allclose(rows.column("spend").to_numpy(), logits["spend"][:, 0].numpy(), atol=1e-5)


def test_a_new_file_without_split_or_labels_is_predicted_whole_and_streamed_in_batches(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = customers(rows=95, seed=3)
    for name in ("fold", "churned", "segment", "spend"):
        del columns[name]
    new = tmp_path / "new.parquet"
    pq.write_table(pa.table(columns), new)
    monkeypatch.setattr(stream_module, "READ_ROWS", 10)  # blocks of 10 rows, cut into batches of 7
    old_metrics = tmp_path / "out.parquet.metrics.json"
    old_metrics.write_text("{}")
    output = tmp_path / "out.parquet"
    overrides = [f"data.path={new}", "data.eval_batch_size=7"]
    result = predict_run(table, output, overrides=overrides, carry=["customer_id"], overwrite=True)
    assert result is not None and result.rows == 95 and result.metrics_path is None
    assert result.description == f"every row of {new} (no split column 'fold')"
    assert not old_metrics.exists()  # an earlier prediction's metrics do not describe these rows
    written = pq.ParquetFile(output)
    assert written.metadata.num_row_groups == 14  # 13 batches of 7 rows and one of 4, written as they came
    assert written.read().column("customer_id").to_pylist() == list(range(1000, 1095))
    # with one label column: that task is scored
    pq.write_table(pa.table({**columns, "segment": customers(rows=95, seed=3)["segment"]}), new)
    scored = predict_run(table, tmp_path / "scored.csv", overrides=[f"data.path={new}"])
    assert scored is not None and scored.metrics_path == tmp_path / "scored.csv.metrics.json"
    assert sorted(scored.record["metrics"]) == [
        "test/segment/accuracy",
        "test/segment/loss",
        "test/segment/macro_f1",
    ]
    assert scored.record["labelled"] == {"segment": 95 - customers(rows=95, seed=3)["segment"].null_count}
    # the same rows as JSON lines, one batch of 1024
    whole = predict_run(table, tmp_path / "out.jsonl", overrides=[f"data.path={new}"])
    assert whole is not None
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    streamed = written.read().to_pylist()
    assert [sorted(line) for line in lines[:1]] == [["churn", "segment", "spend"]]
    for line, row in zip(lines, streamed, strict=True):
        assert line["segment"] == row["segment"] and line["spend"] == pytest.approx(row["spend"], abs=1e-6)


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_ddp_cli_writes_every_row_once_in_input_order(table: Path, tmp_path: Path) -> None:
    output = tmp_path / "ddp.parquet"
    args = [
        f"run={table}",
        f"output={output}",
        "trainer=ddp_cpu",
        "data.eval_batch_size=3",
        "carry=[customer_id]",
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    result = cli_runner.run_python("mtl_lab.predict", args, cwd=tmp_path, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"predicted 40 rows (the rows of {table.parent}" in result.stdout
    ids = np.flatnonzero(np.array(customers()["fold"]) == "test") + 1000
    assert pq.read_table(output).column("customer_id").to_pylist() == ids.tolist()  # 14 batches, 2 ranks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.parquet", "ddp.parquet.metrics.json"]
    _close_to_eval(json.loads((tmp_path / "ddp.parquet.metrics.json").read_text()), table, "test")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run=RUN/nope", "output=o.parquet"], r"run: no such run directory '.*nope'$"),
        (
            ["run=TMP", "output=o.parquet"],
            r"run: .* has no .hydra/config.yaml \(not an mtl-train run directory\?\)$",
        ),
        (
            ["run=TABLE", "output=o.txt"],
            r"output \(o.txt\): unknown file extension '.txt'; choices: .csv, .jsonl, .parquet$",
        ),
        (
            ["run=TABLE", "output=EXISTING"],
            r"output: .*existing.csv exists; pass overwrite=true to replace it$",
        ),
        (
            ["run=TABLE", "output=TABLE/checkpoints/p.csv"],
            r"output: .* is inside the run's .*checkpoints; write it elsewhere$",
        ),
        (
            ["run=TABLE", "output=o.csv", "carry=[customer_ids]"],
            r"carry \(.*customers.parquet\): unknown column 'customer_ids'; choices: .*; did you mean 'customer_id'\?$",
        ),
        (
            ["run=TABLE", "output=o.csv", "carry=[spend]"],
            r"carry: column 'spend' has the name of a prediction column; rename it$",
        ),
        (
            ["run=DIGITS", "output=o.csv", "carry=[id]"],
            r"carry: only rows read from a file \(data=table, data=text\) have columns to carry; "
            r"this run has data=multi_digits$",
        ),
        (
            ["run=TABLE", "output=o.csv", "split=tests"],
            r"split: unknown split 'tests'; choices: test, train, val; did you mean 'test'\?$",
        ),
        (
            ["run=TABLE", "output=o.csv", "trainer=ddp_cpus"],
            r"trainer: unknown trainer 'ddp_cpus'; choices: .*; did you mean 'ddp_cpu'\?$",
        ),
        (["run=TABLE", "output=o.csv", "overwrite=yes"], r"overwrite: expected true or false, got 'yes'$"),
        (["run=TABLE"], r"output: missing; pass output=<file>$"),
        (
            ["run=TABLE", "output=OWNDATA", "overwrite=true"],
            r"output: .*customers.parquet is the file being predicted; write it elsewhere$",
        ),
        (
            ["run=TABLE", "output=o.csv", "data.path=RENAMED"],
            r"data.features.numeric \(.*renamed.csv\): unknown column 'income'; choices: .*; did you mean 'incme'\?$",
        ),
    ],
)
def test_errors_are_one_line(
    arguments: list[str],
    message: str,
    table: Path,
    digits: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing.csv").write_text("x\n")
    renamed = pa.table(customers(rows=20)).rename_columns(
        ["customer_id", "age", "incme", *list(customers())[3:]]
    )
    pa_csv.write_csv(renamed, tmp_path / "renamed.csv")
    paths = {"RUN": str(tmp_path), "TMP": str(tmp_path), "TABLE": str(table), "DIGITS": str(digits)}
    paths |= {"EXISTING": str(tmp_path / "existing.csv"), "RENAMED": str(tmp_path / "renamed.csv")}
    paths |= {"OWNDATA": str(table.parent / "table_data" / "customers.parquet")}
    argv = []
    for argument in arguments:
        key, _, value = argument.partition("=")
        for placeholder, path in paths.items():
            value = value.replace(placeholder, path, 1) if value.startswith(placeholder) else value
        argv.append(f"{key}={value}")
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    text = str(exit_.value.code)
    assert text.startswith("mtl-predict: error: ") and "\n" not in text
    assert re.search(message, text.removeprefix("mtl-predict: error: ")), text
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "o.csv").exists()


def test_main_prints_rows_and_metrics_and_the_script_is_installed(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([f"run={table}", f"output={tmp_path / 'p.csv'}", "split=val"])
    out = capsys.readouterr().out
    assert f"predicted 40 rows (the rows of {table.parent}" in out and "val/churn/auroc = " in out
    assert f"metrics: {tmp_path / 'p.csv.metrics.json'}" in out
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["mtl-predict"] == "mtl_lab.predict:main"
