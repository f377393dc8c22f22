"""mtl-export: ONNX files run by onnxruntime and TorchScript files loaded back give the model's outputs
on real rows (MultiDigits' CNN, data=table's tabular encoder with categorical inputs)."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from prediction_runs import digits_run, runs_root, table_run, text_run

from mtl_lab.errors import ConfigError
from mtl_lab.evaluation import load_run, load_run_config
from mtl_lab.export import main
from mtl_lab.model_export import export_run
from mtl_lab.text.pretrained import load_tokenizer


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = runs_root(tmp_path_factory)
    return {"digits": digits_run(root), "table": table_run(root)}


def _rows(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The run's test rows (37 of them: not the traced batch size) and the model's outputs on them."""
    run = load_run(run_dir, load_run_config(run_dir))
    inputs = {name: x[:37] for name, x in run.datamodule.split("test").inputs.items()}
    with torch.no_grad():
        return inputs, run.module.model.eval()(inputs).predictions


@pytest.mark.parametrize(
    ("name", "inputs", "tasks"),
    [
        ("digits", ["image"], ["left", "right", "sum"]),
        ("table", ["numeric", "categorical"], ["churn", "segment", "spend"]),
    ],
)
def test_onnx_runs_in_onnxruntime_with_the_model_outputs(
    runs: dict[str, Path], name: str, inputs: list[str], tasks: list[str], tmp_path: Path
) -> None:
    result = export_run(runs[name], "onnx", output=tmp_path / "m.onnx")
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == inputs
    assert [o.name for o in session.get_outputs()] == tasks
    rows, expected = _rows(runs[name])
    outputs = session.run(None, {n: rows[n].numpy() for n in inputs})
    for task, output in zip(tasks, outputs, strict=True):
        np.testing.assert_allclose(output, expected[task].numpy(), atol=1e-4)
    metadata = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert json.loads(metadata["mtl_lab"]) == result.description
    copy = tmp_path / "m.preprocessing.json"
    if name == "table":
        assert result.preprocessing == copy
        assert copy.read_text() == (runs[name] / "preprocessing.json").read_text()
        assert result.description["outputs"]["segment"]["class_names"] == ["bargain", "family", "vip"]
        assert result.description["inputs"]["categorical"] == {"shape": ["batch", 2], "dtype": "int64"}
    else:
        assert result.preprocessing is None and not copy.exists()
        assert result.description["outputs"]["sum"]["output"] == "value"


def test_torchscript_round_trip_and_default_paths_beside_an_onnx_export(runs: dict[str, Path]) -> None:
    run_dir = runs["table"]
    onnx_file = export_run(run_dir, "onnx", overwrite=True)
    result = export_run(run_dir, "torchscript")  # the identical preprocessing copy is shared, not refused
    assert onnx_file.path == run_dir / "export" / "model.onnx"
    assert result.path == run_dir / "export" / "model.pt"
    assert result.preprocessing == run_dir / "export" / "model.preprocessing.json"
    extra = {"mtl_lab.json": ""}
    loaded = torch.jit.load(str(result.path), _extra_files=extra)
    assert json.loads(extra["mtl_lab.json"]) == result.description
    rows, expected = _rows(run_dir)
    with torch.no_grad():
        outputs = loaded(rows["numeric"], rows["categorical"])
    for task, output in zip(["churn", "segment", "spend"], outputs, strict=True):
        torch.testing.assert_close(output, expected[task], atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match=r"^output: .*model.pt exists; pass overwrite=true to replace it$"):
        export_run(run_dir, "torchscript")


def test_errors_are_one_line(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(
        SystemExit,
        match=r"^mtl-export: error: format: unknown export format 'onx'; choices: onnx, torchscript; did you mean 'onnx'\?$",
    ):
        main([f"run={runs['digits']}", "format=onx"])
    with pytest.raises(SystemExit, match=r"^mtl-export: error: run: .* has no .hydra/config.yaml"):
        main([f"run={tmp_path}", "format=onnx"])

    def unsupported(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Exporting the operator 'aten::magic' to ONNX is not supported\nmore")

    monkeypatch.setattr(torch.onnx, "export", unsupported)
    with pytest.raises(SystemExit) as exit_:
        main([f"run={runs['digits']}", "format=onnx", f"output={tmp_path / 'x.onnx'}"])
    assert str(exit_.value.code) == (
        "mtl-export: error: format=onnx: cannot export this run's model (architecture=shared, encoder=cnn): "
        "RuntimeError: Exporting the operator 'aten::magic' to ONNX is not supported"
    )
    assert not list(tmp_path.iterdir())
    main([f"run={runs['digits']}", "format=torchscript", f"output={tmp_path / 'd.pt'}"])
    out = capsys.readouterr().out
    assert f"model: {tmp_path / 'd.pt'}" in out and "inputs: image ['batch', 1, 11, 11] float32" in out
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["mtl-export"] == "mtl_lab.export:main"


def test_a_text_run_exports_with_a_sequence_axis_and_its_tokenizer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run_dir = text_run(runs_root(tmp_path_factory))
    out = tmp_path_factory.mktemp("text_export")
    onnx_model = export_run(run_dir, "onnx", output=out / "model.onnx")
    traced = torch.jit.load(str(export_run(run_dir, "torchscript", output=out / "model.pt").path))
    description = onnx_model.description
    assert description["inputs"]["input_ids"] == {"shape": ["batch", "sequence"], "dtype": "int64"}
    assert description["outputs"]["ner"]["unit"] == "token"
    tokenizer = load_tokenizer(out / "model.tokenizer", "exported tokenizer")
    run = load_run(run_dir, load_run_config(run_dir))
    session = ort.InferenceSession(str(onnx_model.path), providers=["CPUExecutionProvider"])
    # two batches of other lengths than the traced example's, tokenized by the exported tokenizer
    for texts in (
        ["Mara Quill loved the Harbor Cafe in Lisbon ."],
        ["It was bad .", "Not good at all , but fine ."],
    ):
        inputs = dict(tokenizer(texts, padding=True, return_tensors="pt", return_token_type_ids=False))
        with torch.no_grad():
            expected = run.module.model.eval()(inputs).predictions
            scripted = traced(inputs["input_ids"], inputs["attention_mask"])
        outputs = session.run(None, {n: inputs[n].numpy() for n in ("input_ids", "attention_mask")})
        for task, output, script in zip(["sentiment", "ner"], outputs, scripted, strict=True):
            np.testing.assert_allclose(output, expected[task].numpy(), atol=1e-4)
            np.testing.assert_allclose(script.numpy(), expected[task].numpy(), atol=1e-4)
