"""mtl-eval: a real tiny run evaluated again from its own saved config and checkpoints."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fake_runs import train_tiny_run

from mtl_lab.errors import ConfigError
from mtl_lab.evaluate import main
from mtl_lab.evaluation import evaluate_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("eval") / "run")


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_best_checkpoint_reproduces_the_summary_test_metrics_and_writes_only_eval_json(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    before = _files(run_dir)
    result = evaluate_run(run_dir)
    record = json.loads((run_dir / "eval.json").read_text())
    assert record == json.loads(json.dumps(result.record))
    assert record["split"] == "test" and record["ckpt"] == "best"
    assert Path(record["checkpoint"]).name == Path(summary["checkpoint"]).name != "last.ckpt"
    assert record["tasks"] == summary["tasks"]
    expected = {k: v for k, v in summary["metrics"].items() if k.startswith("test/")}
    assert set(record["metrics"]) == set(expected) and len(expected) == 10
    for name, value in expected.items():
        assert record["metrics"][name] == pytest.approx(value, abs=1e-5), name
    after = _files(run_dir)
    assert {k: v for k, v in after.items() if k != "eval.json"} == before  # checkpoints, logs untouched


def test_last_checkpoint_on_val_reproduces_the_last_validation(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    result = evaluate_run(run_dir, ckpt="last", split="val")
    assert Path(result.record["checkpoint"]).name == "last.ckpt"
    expected = {k: v for k, v in summary["metrics"].items() if k.startswith("val/")}
    assert set(result.record["metrics"]) == set(expected)
    for name, value in expected.items():
        assert result.record["metrics"][name] == pytest.approx(value, abs=1e-5), name


def test_overrides_apply_and_an_earlier_eval_json_is_kept(run_dir: Path) -> None:
    for old in run_dir.glob("eval*.json"):
        old.unlink()
    full = evaluate_run(run_dir)
    ckpt = str(run_dir / "checkpoints" / "last.ckpt")
    limited = evaluate_run(run_dir, ckpt, "test", ["data.eval_batch_size=16", "trainer.limit_test_batches=1"])
    assert limited.kept_previous == run_dir / "eval.1.json"
    assert json.loads((run_dir / "eval.1.json").read_text())["metrics"] == full.record["metrics"]
    record = json.loads((run_dir / "eval.json").read_text())
    assert record["overrides"] == ["data.eval_batch_size=16", "trainer.limit_test_batches=1"]
    assert record["ckpt"] == ckpt
    # one batch of 16 samples instead of the whole test split: other numbers
    assert record["metrics"]["test/loss"] != pytest.approx(full.record["metrics"]["test/loss"], abs=1e-5)
    evaluate_run(run_dir)
    assert sorted(p.name for p in run_dir.glob("eval*.json")) == ["eval.1.json", "eval.2.json", "eval.json"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_dir": "MISSING"}, r"run: no such run directory '.*MISSING'$"),
        (
            {"ckpt": "nope.ckpt"},
            r"ckpt: no checkpoint 'nope.ckpt'; checkpoints in .*: epoch\d+-step\d+.ckpt, last.ckpt$",
        ),
        ({"split": "train"}, r"split: unknown split 'train'; choices: test, val$"),
        (
            {"overrides": ["data.batch_sise=8"]},
            r"data.batch_sise: unknown key .*; did you mean 'data.batch_size'\?$",
        ),
        ({"overrides": ["trainer=cpu"]}, r"trainer: is a config node of the run, not a value"),
        ({"overrides": ["data.batch_size=1,2"]}, r"data.batch_size=1,2: a sweep"),
    ],
)
def test_errors_are_one_line(run_dir: Path, kwargs: dict, message: str) -> None:
    if kwargs.get("run_dir") == "MISSING":
        kwargs = {"run_dir": run_dir.parent / "MISSING"}
    with pytest.raises(ConfigError, match=message) as err:
        evaluate_run(**{"run_dir": run_dir, **kwargs})
    assert "\n" not in str(err.value)


def test_missing_config_or_checkpoints_name_what_exists(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no .hydra/config.yaml"):
        evaluate_run(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(run_dir / ".hydra", copy / ".hydra")
    (copy / "checkpoints").mkdir()
    shutil.copy(run_dir / "checkpoints" / "last.ckpt", copy / "checkpoints")
    with pytest.raises(
        ConfigError,
        match=r"ckpt=best: no best checkpoint in .*; checkpoints there: last.ckpt \(use ckpt=last\)$",
    ):
        evaluate_run(copy)
    (copy / "checkpoints" / "last.ckpt").unlink()
    with pytest.raises(ConfigError, match=r"ckpt=last: no .*last.ckpt; checkpoints there: none$"):
        evaluate_run(copy, ckpt="last")


def test_checkpoint_with_pickled_code_is_refused(tmp_path: Path, run_dir: Path) -> None:
    import torch

    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {}, "payload": Path("x")}, bad)  # an arbitrary class: needs unpickling code
    with pytest.raises(ConfigError, match=r"refused by torch.load\(weights_only=True\)"):
        evaluate_run(run_dir, ckpt=str(bad))


def test_main_prints_the_table_and_cli_errors_are_one_line(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([f"run={run_dir}", "split=val"])
    out = capsys.readouterr().out
    assert "Val results (" in out and "left   classification" in out and f"eval: {run_dir}/eval.json" in out
    with pytest.raises(SystemExit, match=r"^mtl-eval: error: run: missing; pass run=<run dir>$"):
        main(["data.batch_size=3"])
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["mtl-eval"] == "mtl_lab.evaluate:main"
