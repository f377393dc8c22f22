"""mtl-predict's work: a finished run's model applied to rows, one output row per input row, in order.

:func:`predict_run` loads the run as ``mtl-eval`` does (:func:`mtl_lab.evaluation.load_run`: its config,
``preprocessing.json`` and checkpoint), picks the rows (a ``data=table`` file streamed in batches,
:class:`~mtl_lab.prediction.table_stream.TableStream`; a text run's file tokenized,
:class:`~mtl_lab.prediction.text_source.TextSource`, whose ``data.path`` / ``data.<split>_path`` name
that file and are not applied to the run's config; else a split of the in-memory data), predicts them
with the run's Trainer settings (``trainer=ddp_cpu`` and the like: every rank predicts every W-th batch,
rank 0 merges) and writes ``output`` batch by batch, plus ``<output>.metrics.json`` when the rows have
labels of some task.

``<output>.metrics.json``: ``split``, ``rows`` (predicted), ``predicted`` (which rows, in words),
``labelled`` ({task: labelled units}, the scored tasks), ``metrics`` (``<split>/<task>/<metric>``,
``<split>/<task>/loss`` and, when every task is scored, ``<split>/loss``: the names and values mtl-eval
logs), ``checkpoint``, ``ckpt``, ``run_dir``, ``output``, ``overrides``, ``predicted_at`` (UTC, ISO
8601), ``wall_time_s``.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict

from mtl_lab.data.datamodule import MultiTaskDataModule
from mtl_lab.data.text import TextDataModule
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.evaluation import LoadedRun, load_run
from mtl_lab.experiment import build_trainer
from mtl_lab.prediction.columns import column_names
from mtl_lab.prediction.files import PredictionFiles
from mtl_lab.prediction.predictor import PredictionWriter, Predictor
from mtl_lab.prediction.run_config import prediction_config
from mtl_lab.prediction.sources import PredictionSource, SplitSource, prediction_loader
from mtl_lab.prediction.table_data import TablePredictionData, prediction_datamodule
from mtl_lab.prediction.table_stream import TableStream
from mtl_lab.prediction.text_rows import text_file_overrides
from mtl_lab.prediction.text_source import text_source
from mtl_lab.summary import collect_metrics

SPLITS = ("test", "val", "train")


@dataclass
class PredictionResult:
    output: Path
    rows: int
    description: str  # which rows were predicted
    metrics_path: Path | None  # None: no task had labels
    record: dict[str, Any]  # the metrics file's content (``metrics`` empty without labels)


def _gives_data_path(overrides: Sequence[str]) -> bool:
    keys = [o.key_or_group for o in OverridesParser.create().parse_overrides(list(overrides))]
    return "data.path" in keys


def prediction_source(
    run: LoadedRun,
    split: str,
    new_data: bool,
    carry: Sequence[str],
    text_files: Mapping[str, str | None],
) -> PredictionSource:
    """The rows to predict: a table file streamed, a text run's file (``text_files``: the file overrides
    kept out of its config), or a split of the run's in-memory data."""
    data, name = run.datamodule, run.cfg.data.get("name")
    if isinstance(data, TablePredictionData):
        node: dict[str, Any] = OmegaConf.to_container(run.cfg.data, resolve=True)  # type: ignore[assignment]
        batch_size = int(node.get("eval_batch_size") or node["batch_size"])
        return TableStream(data, node, split, new_data, carry, batch_size)
    if isinstance(data, TextDataModule):
        return text_source(data, split, text_files, carry)
    if carry:
        raise ConfigError(
            f"carry: only rows read from a file (data=table, data=text) have columns to carry; "
            f"this run has data={name}"
        )
    if not isinstance(data, MultiTaskDataModule):
        raise ConfigError(
            f"data={name}: mtl-predict predicts data=table and data=text files and in-memory datamodules, "
            f"not a {type(data).__name__}"
        )
    return SplitSource(data.split(split), data.eval_batch_size, f"the {split} split of data={name}")


def predict_run(
    run_dir: str | Path,
    output: str | Path,
    split: str = "test",
    ckpt: str = "best",
    overrides: Sequence[str] = (),
    carry: Sequence[str] = (),
    probabilities: bool = False,
    overwrite: bool = False,
) -> PredictionResult | None:
    """Predict the rows (see the module docstring); returns what rank 0 wrote (None on other ranks)."""
    started = time.perf_counter()
    if split not in SPLITS:
        raise unknown_choice("split", split, SPLITS, "split")
    run_dir = Path(run_dir)
    files = PredictionFiles(output, run_dir, overwrite)
    text_files, config_overrides = text_file_overrides(run_dir, overrides)
    cfg = prediction_config(run_dir, config_overrides)
    run = load_run(run_dir, cfg, ckpt, prediction_datamodule)
    source = prediction_source(run, split, _gives_data_path(overrides), carry, text_files)
    if source.path is not None and source.path.resolve() == files.output.resolve():
        raise ConfigError(f"output: {files.output} is the file being predicted; write it elsewhere")
    tasks = run.module.tasks
    for column in carry:
        if column in column_names(tasks, probabilities):
            raise ConfigError(f"carry: column {column!r} has the name of a prediction column; rename it")
    with open_dict(cfg):
        cfg.callbacks = None
        cfg.logger = None
        cfg.trainer.enable_checkpointing = False
    trainer = build_trainer(cfg, [PredictionWriter(files, probabilities)])
    predictor = Predictor(run.module, source.labelled_tasks, split)
    try:
        trainer.predict(predictor, dataloaders=prediction_loader(source), return_predictions=False)
        files.close()
        rows = files.finish(source.description)
    except BaseException:
        files.discard()
        raise
    if rows is None:
        return None
    record = {
        "split": split,
        "rows": rows,
        "predicted": source.description,
        "labelled": {t: n for t, n in predictor.labelled.items() if t in source.labelled_tasks},
        "metrics": collect_metrics(predictor.metrics),
        "checkpoint": str(run.checkpoint.resolve()),
        "ckpt": ckpt,
        "run_dir": str(run_dir.resolve()),
        "output": str(files.output.resolve()),
        "overrides": list(overrides),
        "predicted_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": time.perf_counter() - started,
    }
    metrics_path = files.write_metrics(record if source.labelled_tasks else None)
    return PredictionResult(files.output, rows, source.description, metrics_path, record)
