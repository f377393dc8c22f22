"""mtl-report: table, Δm%, ranks, files and figures from fake run directories, and one real comparison."""

from __future__ import annotations

import csv
import json
import struct
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from fake_runs import train_tiny_run, write_fake_run, write_fake_seeds

from mtl_lab.errors import ConfigError
from mtl_lab.report import main, make_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

STL_LEFT = {"test/left/accuracy": 0.80, "test/left/macro_f1": 0.80, "test/left/loss": 0.6}
STL_SUM = {"test/sum/mae": 2.0, "test/sum/rmse": 2.5, "test/sum/loss": 6.0}
# Δm% against those: accuracy +12.5% -> -12.5, macro_f1 0, mae -25% -> -25, rmse 0: mean -9.375
MTL_A = {"test/left/accuracy": 0.90, "test/left/macro_f1": 0.80, "test/sum/mae": 1.5, "test/sum/rmse": 2.5}
# accuracy -12.5% -> +12.5, macro_f1 +12.5% -> -12.5, mae +25% -> +25, rmse -20% -> -20: mean 1.25
MTL_B = {"test/left/accuracy": 0.70, "test/left/macro_f1": 0.90, "test/sum/mae": 2.5, "test/sum/rmse": 2.0}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A multirun with two MTL jobs, a diverged job and two single-task baselines."""
    root = tmp_path / "multirun"
    common = ["trainer.max_epochs=2", "hydra.job.chdir=false"]
    write_fake_run(
        root / "0",
        MTL_A,
        [*common, "weighting=uncertainty"],
        weights_csv={"left": [1.0, 0.9, 0.8], "sum": [1.0, 0.6, 0.4]},
    )
    write_fake_run(root / "1", MTL_B, [*common, "weighting=gradnorm"])  # no csv/metrics.csv
    write_fake_run(root / "2", {"val/left/accuracy": 0.1}, [*common, "weighting=fixed"], status="diverged")
    write_fake_run(root / "3", STL_LEFT, [*common, "tasks=[left]"])
    write_fake_run(root / "4", STL_SUM, [*common, "tasks=[sum]"])
    # the diverged job trained both tasks: its summary names them, with no test metrics
    summary = json.loads((root / "2" / "summary.json").read_text())
    summary["tasks"] = {"left": summary["tasks"]["left"], "sum": {"kind": "regression"}}
    (root / "2" / "summary.json").write_text(json.dumps(summary))
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_rows_delta_m_ranks_and_files(sweep: Path) -> None:
    files = make_report([sweep])
    assert files.out_dir == sweep / "report"
    rows = {row["run"]: row for row in read_csv(files.csv)}
    assert list(rows) == ["0", "1", "2", "3", "4"]
    assert rows["0"]["choices"] == "weighting=uncertainty" and rows["3"]["choices"] == "tasks=[left]"
    assert float(rows["0"]["delta_m_pct"]) == pytest.approx(-9.375)
    assert float(rows["1"]["delta_m_pct"]) == pytest.approx(1.25)
    assert rows["0"]["baselines"] == "3;4"
    # ranks among the completed MTL runs: A wins accuracy and mae, B wins macro_f1... A: 1,1.5... see below
    # accuracy A1 B2; macro_f1 A2 B1; mae A1 B2; rmse A2 B1 -> both 1.5
    assert float(rows["0"]["mean_rank"]) == 1.5 and float(rows["1"]["mean_rank"]) == 1.5
    # the diverged run: its status, no metrics, no Δm%, no rank; single-task runs: no Δm%, no rank
    assert rows["2"]["status"] == "diverged"
    assert rows["2"]["test/left/accuracy"] == "n/a" and rows["2"]["delta_m_pct"] == "n/a"
    assert rows["2"]["mean_rank"] == "n/a"
    assert rows["3"]["delta_m_pct"] == "n/a" and rows["3"]["mean_rank"] == "n/a"
    assert rows["3"]["test/sum/mae"] == "n/a" and float(rows["3"]["test/left/accuracy"]) == 0.8
    assert "test/left/loss" not in rows["0"]  # losses are not compared
    assert rows["0"]["overrides"] == "trainer.max_epochs=2 weighting=uncertainty"  # hydra.* left out
    # one seed per row: as before, with n_seeds 1 and a zero std (no ± in the table)
    assert [row["n_seeds"] for row in rows.values()] == ["1"] * 5 and rows["0"]["seeds"] == "0"
    assert rows["0"]["test/left/accuracy std"] == "0.0" and rows["2"]["test/left/accuracy std"] == "n/a"
    markdown = files.markdown.read_text()
    assert "| run | choices | status | tasks | left/accuracy |" in markdown
    assert (
        "| 0 | weighting=uncertainty | completed | left,sum | 0.9000 | 0.8000 | 1.5000 | 2.5000 | -9.38 | 1.50 |"
        in markdown
    )
    assert "2: status diverged; no Δm% or rank" in markdown
    assert not any("±" in line for line in markdown.splitlines() if line.startswith("|"))
    assert "1: no csv/metrics.csv, left out of weights.png" in markdown
    assert sorted(f.name for f in files.figures) == ["metrics_left.png", "metrics_sum.png", "weights.png"]
    for figure in files.figures:
        width, height = png_size(figure)
        assert width >= 300 and height >= 300
        assert f"![{figure.stem}]({figure.name})" in markdown


def test_without_baselines_delta_m_is_na_and_says_why(tmp_path: Path) -> None:
    write_fake_run(tmp_path / "a", MTL_A, ["weighting=uncertainty"])
    write_fake_run(tmp_path / "b", MTL_B, ["weighting=gradnorm"])
    other = {"name": "multi_digits", "seed": "${seed}", "train_size": 999}
    write_fake_run(tmp_path / "c", STL_LEFT, ["tasks=[left]"], data=other)  # other data: not a baseline
    files = make_report([tmp_path / "a", tmp_path / "b", tmp_path / "c"], out_dir=tmp_path / "out")
    rows = read_csv(files.csv)
    assert [r["delta_m_pct"] for r in rows] == ["n/a", "n/a", "n/a"]
    assert any("a: Δm% n/a, no baseline for test/left/accuracy" in note for note in files.comparison.notes)
    assert not (tmp_path / "out" / "weights.png").exists()  # no run has a metrics.csv


def test_baselines_file_replaces_the_runs(tmp_path: Path, sweep: Path) -> None:
    path = tmp_path / "baselines.json"
    path.write_text(
        json.dumps(
            {
                **{k: v for k, v in STL_LEFT.items() if "loss" not in k},
                "test/sum/mae": 1.5,
                "test/sum/rmse": 2.5,
            }
        )
    )
    files = make_report([sweep], out_dir=tmp_path / "out", baselines=path)
    rows = {row["run"]: row for row in read_csv(files.csv)}
    assert float(rows["0"]["delta_m_pct"]) == pytest.approx(-12.5 / 4)
    assert rows["0"]["baselines"] == str(path)


def test_default_out_for_several_inputs_is_report_in_the_working_directory(
    tmp_path: Path, sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = make_report([sweep / "0", sweep / "3"])
    assert files.out_dir == Path("report") and (tmp_path / "report" / "report.csv").is_file()


def test_out_dir_that_is_a_run_is_refused(sweep: Path) -> None:
    before = (sweep / "0" / "summary.json").read_bytes()
    with pytest.raises(ConfigError, match=r"--out: .*0 is a run directory"):
        make_report([sweep], out_dir=sweep / "0")
    assert (sweep / "0" / "summary.json").read_bytes() == before and not (sweep / "0" / "report.csv").exists()


def test_main_prints_the_table_and_errors_are_one_line(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([str(sweep), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run", "choices", "status", "tasks"]
    assert lines[1].startswith("0    weighting=uncertainty") and "-9.38" in lines[1]
    assert f"wrote {tmp_path / 'out' / 'report.csv'}" in out
    with pytest.raises(
        SystemExit, match=r"^mtl-report: error: .*missing: no such run or multirun directory$"
    ):
        main([str(tmp_path / "missing")])
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["mtl-report"] == "mtl_lab.report:main"


def test_real_runs_two_single_task_baselines_and_one_mtl(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    one_epoch = ["trainer.max_epochs=1", "data.regression_loss=l1"]
    train_tiny_run(root / "left", *one_epoch, "tasks=[left]")
    train_tiny_run(root / "sum", *one_epoch, "tasks=[sum]")
    mtl = train_tiny_run(
        root / "mtl", *one_epoch, "tasks=[left,sum]", "weighting=uncertainty", "trainer.log_every_n_steps=1"
    )
    files = make_report([root])
    rows = {row["run"]: row for row in read_csv(files.csv)}
    assert (
        set(rows) == {"left", "mtl", "sum"}
        and rows["mtl"]["choices"] == "tasks=[left,sum] weighting=uncertainty trainer.log_every_n_steps=1"
    )
    metrics = {}
    for name in ("left", "sum", "mtl"):
        metrics[name] = json.loads((root / name / "summary.json").read_text())["metrics"]
    names = ["test/left/accuracy", "test/left/macro_f1", "test/sum/mae", "test/sum/rmse"]
    base = {**metrics["left"], **metrics["sum"]}
    expected = sum((-1 if "left" in n else 1) * (metrics["mtl"][n] - base[n]) / base[n] for n in names) * 25
    assert float(rows["mtl"]["delta_m_pct"]) == pytest.approx(expected, rel=1e-9)
    assert rows["mtl"]["mean_rank"] == "1.0" and rows["left"]["delta_m_pct"] == "n/a"
    assert png_size(files.out_dir / "weights.png")[0] > 0  # from the MTL run's csv/metrics.csv
    assert png_size(files.out_dir / "metrics_left.png")[0] > 0
    assert (mtl / "summary.json").is_file() and not (mtl / "report.csv").exists()


def test_markdown_lists_every_task_with_kind_labelled_counts_and_class_names(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "a", {"test/segment/accuracy": 0.7, "test/spend/mae": 3.0})
    summary = json.loads((run / "summary.json").read_text())
    summary["tasks"]["segment"] = {
        "kind": "classification",
        "num_outputs": 2,
        "loss": "cross_entropy",
        "class_names": ["basic", "premium"],
        "labelled": {"train": 10, "val": 3, "test": 4},
    }
    (run / "summary.json").write_text(json.dumps(summary))
    markdown = make_report([run], out_dir=tmp_path / "out").markdown.read_text()
    assert (
        "- segment: classification, 2 output(s); labelled train 10, val 3, test 4; classes basic, premium"
        in markdown
    )
    assert "- spend: regression, 1 output(s)" in markdown


def test_runs_differing_only_in_seed_are_one_row_with_mean_std_and_seed_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "multirun"
    # uncertainty: mean .92, sample std .02 over its 3 completed seeds; gradnorm: mean .86
    accuracies = {"uncertainty": [0.90, 0.92, 0.94, 0.10], "gradnorm": [0.85, 0.85, 0.88]}
    job = 0
    for weighting, values in accuracies.items():
        per_seed = [{**MTL_A, "test/left/accuracy": a} for a in values]
        statuses = ["completed"] * 3 + ["diverged"]  # the 4th uncertainty seed diverged: left out
        write_fake_seeds(root, job, per_seed, [f"weighting={weighting}"], statuses)
        job += len(values)
    write_fake_seeds(root, job, [STL_LEFT] * 3, ["tasks=[left]"])
    write_fake_seeds(root, job + 3, [STL_SUM] * 3, ["tasks=[sum]"])
    main([str(root)])
    console = capsys.readouterr().out
    files_csv = read_csv(root / "report" / "report.csv")
    rows = {row["choices"]: row for row in files_csv}
    assert list(rows) == ["weighting=uncertainty", "weighting=gradnorm", "tasks=[left]", "tasks=[sum]"]
    unc = rows["weighting=uncertainty"]
    assert unc["run"] == "0,1,2,3" and rows["tasks=[sum]"]["run"] == "10,11,12"
    assert (unc["n_seeds"], unc["n_runs"], unc["seeds"], unc["status"]) == ("3", "4", "0;1;2", "completed")
    assert float(unc["test/left/accuracy"]) == pytest.approx(0.92)
    assert float(unc["test/left/accuracy std"]) == pytest.approx(0.02)
    assert float(unc["test/sum/mae std"]) == 0.0
    # Δm% from the means: accuracy +15% -> -15, macro_f1 0, mae -25% -> -25, rmse 0: mean -10
    assert float(unc["delta_m_pct"]) == pytest.approx(-10.0)
    # ranked on the means: accuracy .92 beats .86, the other metrics tie (1.5): (1 + 3 * 1.5) / 4
    assert float(unc["mean_rank"]) == 1.375 and float(rows["weighting=gradnorm"]["mean_rank"]) == 1.625
    assert unc["path"].count(";") == 3  # every run of the group, the diverged one included
    markdown = (root / "report" / "report.md").read_text()
    assert "| completed | left,sum | 0.9200 ± 0.0200 | 0.8000 ± 0.0000 |" in markdown
    assert markdown.splitlines()[2].endswith("| delta_m_pct | mean_rank | n_seeds |")
    assert "| -10.00 | 1.38 | 3 of 4 |" in markdown and "| n/a | n/a | 3 |" in markdown
    assert "3 of 4 seeds completed; left out of the mean: 3 (seed 3, diverged)" in markdown
    assert "0.9200 ± 0.0200" in console and "3 of 4" in console
