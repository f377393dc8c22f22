"""mtl-export's work: a finished run's model as one self-contained file, ONNX or TorchScript.

The exported model takes the data's inputs by name, in the data's order (``image``; ``numeric`` and
``categorical`` for ``data=table``; ``input_ids`` and ``attention_mask`` for text), with a dynamic batch
axis (and a dynamic ``sequence`` axis for token id inputs and token-level outputs, so text of any length
up to the data's ``max_length`` runs unpadded), and returns one output per task, named
by the task, in the run's task order: what the task's head returns (logits for classification, binary
and multilabel tasks, values for regression), as :class:`~mtl_lab.models.model.MultiTaskModel` does.
The file carries a JSON description of its inputs and outputs (kind, class names) under the key
``mtl_lab`` (ONNX: ``metadata_props``; TorchScript: the extra file ``mtl_lab.json``). A ``data=table``
run's ``preprocessing.json`` (how to turn columns into the inputs) is copied next to the model as
``<model stem>.preprocessing.json`` (an identical copy already there is kept: both formats share it); a
text run's tokenizer is saved beside it as ``<model stem>.tokenizer/`` (``save_pretrained``).

ONNX uses PyTorch's TorchScript-based exporter (``dynamo=False``: a second per model, no onnxscript);
TorchScript is ``torch.jit.trace``. A model the exporter cannot handle is a one-line error naming the
run's architecture and encoder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.data.preprocessing_file import PREPROCESSING_FILE
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.evaluation import LoadedRun, load_run, load_run_config
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.prediction.table_data import prediction_datamodule

#: Format -> the default file name's extension.
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
#: Key of the model's description in the exported file.
METADATA_KEY = "mtl_lab"
#: Opset of the ONNX files.
ONNX_OPSET = 17


class ExportedModel(nn.Module):
    """``model`` with positional inputs (in ``input_names`` order) and a tuple of task outputs."""

    def __init__(self, model: MultiTaskModel, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        predictions = self.model(dict(zip(self.input_names, inputs, strict=True))).predictions
        return tuple(predictions[task] for task in self.model.task_names)


@dataclass
class ExportResult:
    path: Path
    preprocessing: Path | None  # the copy of preprocessing.json; None: the run has none
    description: dict[str, Any]


def default_output(run_dir: Path, fmt: str) -> Path:
    """``<run dir>/export/model.onnx`` (``model.pt`` for TorchScript)."""
    return run_dir / "export" / f"model{FORMATS[fmt]}"


def sequence_inputs(specs: Mapping[str, InputSpec]) -> list[str]:
    """The token id inputs (integer, one axis per sample, no categorical columns): their second axis is
    the sequence, as long as each batch's longest row."""
    return [
        name
        for name, spec in specs.items()
        if not spec.dtype.is_floating_point and len(spec.shape) == 1 and not spec.cardinalities
    ]


def _shape(name: str, spec: InputSpec, sequences: Sequence[str]) -> list[int | str]:
    return ["batch", "sequence"] if name in sequences else ["batch", *spec.shape]


def describe(run: LoadedRun) -> dict[str, Any]:
    """The exported model's inputs (shape with ``batch`` first, dtype) and outputs (each task's kind,
    size, loss, class names and whether it returns ``logits`` or a ``value``)."""
    specs = run.datamodule.input_specs
    sequences = sequence_inputs(specs)
    inputs = {
        name: {"shape": _shape(name, spec, sequences), "dtype": str(spec.dtype).removeprefix("torch.")}
        for name, spec in specs.items()
    }
    outputs = {
        task: {
            **spec.describe(),
            "output": "value" if spec.kind == "regression" else "logits",
            **({"unit": "token"} if spec.unit == "token" else {}),
        }
        for task, spec in run.module.tasks.items()
    }
    return {"inputs": inputs, "outputs": outputs, "checkpoint": str(run.checkpoint.resolve())}


def _onnx(model: ExportedModel, example: tuple[Tensor, ...], path: Path, description: Mapping) -> None:
    import onnx

    outputs = model.model.task_names
    sequences = [n for n, i in description["inputs"].items() if i["shape"][1:2] == ["sequence"]]
    per_token = [t for t, o in description["outputs"].items() if o.get("unit") == "token"]
    axes = {name: {0: "batch"} for name in [*model.input_names, *outputs]}
    for name in [*sequences, *per_token]:
        axes[name][1] = "sequence"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=model.input_names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(description)})
    onnx.save(proto, str(path))


def _torchscript(model: ExportedModel, example: tuple[Tensor, ...], path: Path, description: Mapping) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(path), _extra_files={f"{METADATA_KEY}.json": json.dumps(description)})


EXPORTERS = {"onnx": _onnx, "torchscript": _torchscript}


def export_run(
    run_dir: str | Path,
    fmt: str,
    ckpt: str = "best",
    output: str | Path | None = None,
    overwrite: bool = False,
    overrides: Sequence[str] = (),
) -> ExportResult:
    """Export checkpoint ``ckpt`` of the run as ``fmt`` to ``output`` (default :func:`default_output`);
    an existing file is refused unless ``overwrite``."""
    if fmt not in FORMATS:
        raise unknown_choice("format", fmt, FORMATS, "export format")
    run_dir = Path(run_dir)
    path = Path(output) if output is not None else default_output(run_dir, fmt)
    source = run_dir / PREPROCESSING_FILE
    copy = path.with_name(f"{path.stem}.{PREPROCESSING_FILE}") if source.is_file() else None
    same_copy = copy is not None and copy.is_file() and copy.read_bytes() == source.read_bytes()
    for target in (path, None if same_copy else copy):
        if target is not None and target.exists() and not overwrite:
            raise ConfigError(f"output: {target} exists; pass overwrite=true to replace it")
    run = load_run(run_dir, load_run_config(run_dir, overrides), ckpt, prediction_datamodule)
    tokenizer = getattr(run.datamodule, "tokenizer", None)  # text data: saved beside the model
    tokenizer_files = None if tokenizer is None else _tokenizer_files(tokenizer)
    tokenizer_dir = path.with_name(f"{path.stem}.tokenizer")
    kept = overwrite or tokenizer_files is None or _same_files(tokenizer_dir, tokenizer_files)
    if tokenizer_dir.exists() and not kept:
        raise ConfigError(f"output: {tokenizer_dir} exists; pass overwrite=true to replace it")
    specs = run.datamodule.input_specs
    model = ExportedModel(run.module.model.cpu().eval(), list(specs))
    example = tuple(example_inputs(specs, batch_size=2).values())
    description = describe(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        EXPORTERS[fmt](model, example, partial, description)
    except Exception as err:
        partial.unlink(missing_ok=True)
        first = (str(err).strip().splitlines() or [""])[0]
        architecture, encoder = run.cfg.architecture.name, run.cfg.encoder.name
        raise ConfigError(
            f"format={fmt}: cannot export this run's model (architecture={architecture}, "
            f"encoder={encoder}): {type(err).__name__}: {first}"
        ) from None
    partial.replace(path)
    if copy is not None:
        shutil.copyfile(source, copy)
    if tokenizer_files is not None:
        tokenizer_dir.mkdir(exist_ok=True)
        for name, content in tokenizer_files.items():
            (tokenizer_dir / name).write_bytes(content)
    return ExportResult(path, copy, description)


def _tokenizer_files(tokenizer: Any) -> dict[str, bytes]:
    """The files ``save_pretrained`` writes for ``tokenizer``, by name."""
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}


def _same_files(directory: Path, files: Mapping[str, bytes]) -> bool:
    present = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    return present == set(files) and all((directory / n).read_bytes() == c for n, c in files.items())
