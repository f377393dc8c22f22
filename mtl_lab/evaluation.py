"""Evaluate a finished run's checkpoint again, on its own saved config, and record it in ``eval.json``.

:func:`load_run_config` reads ``<run>/.hydra/config.yaml`` (saved unresolved), points
``paths.output_dir`` at the run directory, makes evaluation single-process (``trainer.devices=1``,
``num_nodes=1``, ``strategy=auto``: DDP would pad the split with repeated samples) and applies the
user's overrides (Hydra's override grammar: ``key=value`` for an existing key, ``+key=value`` for a new
one). :func:`load_run` builds the datamodule and module with the library builders and loads the
checkpoint's ``state_dict`` with ``torch.load(weights_only=True)`` (no pickled code runs; a Lightning
checkpoint of mtl_lab holds only tensors, numbers, strings and containers, so no safe globals are
added); ``mtl-eval``, ``mtl-predict`` and ``mtl-export`` all load a run this way. :func:`evaluate_run`
tests (or validates) the loaded run with a Trainer that has no loggers, callbacks or checkpointing, and
writes ``eval.json``. An existing ``eval.json`` is first renamed ``eval.<n>.json`` (next free n): the
latest evaluation is always ``eval.json`` and earlier ones are kept.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from mtl_lab.data.datamodule import BaseDataModule
from mtl_lab.data.preprocessing_file import load_preprocessing
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.experiment import build_datamodule, build_module, build_trainer, describe_tasks
from mtl_lab.models.model import upgrade_state_dict
from mtl_lab.module import MultiTaskModule
from mtl_lab.summary import SUMMARY_FILE, collect_metrics, read_summary

EVAL_FILE = "eval.json"
SPLITS = ("test", "val")
#: Trainer settings evaluation starts from; user overrides come after them.
SINGLE_PROCESS = {"trainer.devices": 1, "trainer.num_nodes": 1, "trainer.strategy": "auto"}


@dataclass
class EvalResult:
    record: dict[str, Any]
    path: Path  # the eval.json written
    kept_previous: Path | None  # where an earlier eval.json went


def _dotted_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, Mapping):
        return []
    keys = []
    for key, value in node.items():
        name = f"{prefix}{key}"
        keys.append(name)
        keys += _dotted_keys(value, name + ".")
    return keys


def _lookup(container: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = container
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """Apply Hydra-grammar overrides in place; unknown keys and group swaps are one-line errors."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as err:
        raise ConfigError(f"cannot parse override: {str(err).splitlines()[0]}") from None
    for override in parsed:
        key = override.key_or_group
        if override.is_sweep_override():
            raise ConfigError(f"{override.input_line}: a sweep; evaluation takes one value per key")
        if override.type == OverrideType.DEL:
            raise ConfigError(f"{override.input_line}: deleting keys is not supported; set the value instead")
        container = OmegaConf.to_container(cfg, resolve=False)
        exists, current = _lookup(container, key)  # type: ignore[arg-type]
        value = override.value()
        if override.type == OverrideType.CHANGE and not exists:
            keys = _dotted_keys(container)
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{key}: unknown key (not in the run's config; add one with +{key}=...){hint}")
        if override.type == OverrideType.ADD and exists:
            raise ConfigError(f"+{key}: the run's config already has {key}; override it with {key}=...")
        if isinstance(current, Mapping) and not isinstance(value, Mapping):
            raise ConfigError(
                f"{key}: is a config node of the run, not a value; override its keys ({key}.<key>=...)"
            )
        with open_dict(cfg):
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)


def load_run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The run's saved config, pointed at ``run_dir``, single-process, with ``overrides`` applied."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run: no such run directory {str(run_dir)!r}")
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"run: {run_dir} has no .hydra/config.yaml (not an mtl-train run directory?)")
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{path}: not a config mapping")
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir.resolve())
        for key, value in SINGLE_PROCESS.items():
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    apply_overrides(cfg, overrides)
    return cfg


def _listing(directory: Path) -> str:
    names = sorted(p.name for p in directory.glob("*.ckpt")) if directory.is_dir() else []
    return ", ".join(names) if names else "none"


def resolve_checkpoint(run_dir: str | Path, choice: str = "best") -> Path:
    """``best`` (the run's best checkpoint), ``last`` or a path (as given, or relative to the run)."""
    run_dir = Path(run_dir)
    directory = run_dir / "checkpoints"
    if choice == "last":
        path = directory / "last.ckpt"
        if not path.is_file():
            raise ConfigError(f"ckpt=last: no {path}; checkpoints there: {_listing(directory)}")
        return path
    if choice == "best":
        best = sorted(p for p in directory.glob("*.ckpt") if not p.stem.startswith("last"))
        if len(best) > 1 and (run_dir / SUMMARY_FILE).is_file():
            recorded = read_summary(run_dir / SUMMARY_FILE).get("checkpoint")
            best = [p for p in best if recorded and p.name == Path(recorded).name] or best
        if len(best) == 1:
            return best[0]
        if not best:
            raise ConfigError(
                f"ckpt=best: no best checkpoint in {directory}; checkpoints there: {_listing(directory)}"
                + (" (use ckpt=last)" if (directory / "last.ckpt").is_file() else "")
            )
        raise ConfigError(f"ckpt=best: several in {directory} ({_listing(directory)}); pass ckpt=<path>")
    for path in (Path(choice), run_dir / choice):
        if path.is_file():
            return path
    raise ConfigError(f"ckpt: no checkpoint {choice!r}; checkpoints in {directory}: {_listing(directory)}")


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's ``state_dict``, loaded with ``weights_only=True``."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"ckpt: {path}: refused by torch.load(weights_only=True): {first}") from None
    except (OSError, RuntimeError, EOFError) as err:
        raise ConfigError(f"ckpt: {path}: not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise ConfigError(f"ckpt: {path}: no 'state_dict' in it (not a Lightning checkpoint)")
    return checkpoint["state_dict"]


def _write_keeping_previous(record: Mapping[str, Any], path: Path) -> Path | None:
    kept = None
    if path.exists():
        n = 1
        while (path.parent / f"eval.{n}.json").exists():
            n += 1
        kept = path.parent / f"eval.{n}.json"
        path.replace(kept)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    return kept


@dataclass
class LoadedRun:
    """A finished run ready to use again: its config (overrides applied), the checkpoint chosen, the data
    (given the run's saved preprocessing) and the module holding the checkpoint's model weights."""

    cfg: DictConfig
    checkpoint: Path
    datamodule: BaseDataModule
    module: MultiTaskModule


#: Builds the data of a loaded run from its config and its saved preprocessing (None: the run has none).
DataBuilder = Callable[[DictConfig, Mapping[str, Any] | None], BaseDataModule]


def run_datamodule(cfg: DictConfig, preprocessing: Mapping[str, Any] | None) -> BaseDataModule:
    """The run's datamodule as ``mtl-train`` built it, using the saved preprocessing when there is one."""
    datamodule = build_datamodule(cfg)
    if preprocessing is not None:
        datamodule.load_preprocessing_state(preprocessing)
    return datamodule


def load_run(
    run_dir: str | Path, cfg: DictConfig, ckpt: str = "best", build_data: DataBuilder = run_datamodule
) -> LoadedRun:
    """The run at ``run_dir`` with config ``cfg`` (:func:`load_run_config`): checkpoint ``ckpt`` resolved
    and read with ``weights_only=True``, the data built by ``build_data`` from ``preprocessing.json``, the
    module built with the library builders and the checkpoint's model weights loaded (a weighting's state
    plays no part in using a trained model)."""
    run_dir = Path(run_dir)
    checkpoint = resolve_checkpoint(run_dir, ckpt)
    state_dict = load_state_dict(checkpoint)
    if isinstance(cfg.get("seed"), int):
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_data(cfg, load_preprocessing(run_dir))
    module = build_module(cfg, datamodule)
    model_state = {
        k[len("model.") :]: v for k, v in upgrade_state_dict(state_dict).items() if k.startswith("model.")
    }
    try:
        module.model.load_state_dict(model_state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"ckpt: {checkpoint}: does not fit the run's model ({first})") from None
    return LoadedRun(cfg=cfg, checkpoint=checkpoint, datamodule=datamodule, module=module)


def evaluate_run(
    run_dir: str | Path, ckpt: str = "best", split: str = "test", overrides: Sequence[str] = ()
) -> EvalResult:
    """Evaluate ``ckpt`` of the run on ``split`` and write ``<run_dir>/eval.json``; returns the record.

    ``eval.json``: ``split``, ``checkpoint`` (the file's path), ``ckpt`` (the choice), ``metrics``
    (every ``<split>/...`` name logged, as in ``summary.json``), ``tasks``, ``overrides``, ``run_dir``,
    ``seed``, ``evaluated_at`` (UTC, ISO 8601), ``wall_time_s``.
    """
    started = time.perf_counter()
    if split not in SPLITS:
        raise unknown_choice("split", split, SPLITS, "split")
    run_dir = Path(run_dir)
    run = load_run(run_dir, load_run_config(run_dir, overrides), ckpt)
    cfg, checkpoint, datamodule = run.cfg, run.checkpoint, run.datamodule
    with open_dict(cfg):
        cfg.callbacks = None
        cfg.logger = None
        cfg.trainer.enable_checkpointing = False
    trainer = build_trainer(cfg, [])
    test = trainer.test if split == "test" else trainer.validate
    results = test(run.module, datamodule=datamodule, verbose=False)
    record = {
        "split": split,
        "checkpoint": str(checkpoint.resolve()),
        "ckpt": ckpt,
        "metrics": collect_metrics(results[0] if results else {}),
        "tasks": describe_tasks(datamodule),
        "overrides": list(overrides),
        "run_dir": str(run_dir.resolve()),
        "seed": cfg.get("seed"),
        "evaluated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": time.perf_counter() - started,
    }
    path = run_dir / EVAL_FILE
    kept = _write_keeping_previous(record, path) if trainer.is_global_zero else None
    return EvalResult(record=record, path=path, kept_previous=kept)
