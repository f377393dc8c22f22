"""Build an experiment from a composed config, run it, and write its summary.

``build_*`` functions turn config nodes into objects (registries for mtl_lab components, Hydra
``_target_`` for library objects) and fail with a one-line :class:`ConfigError` before any training.
:func:`run_experiment` seeds, fits, tests with the best checkpoint and writes ``summary.json``.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab import config as _config  # noqa: F401  (registers the metric_mode resolver)
from mtl_lab import lifecycle
from mtl_lab.callbacks import TrainThroughput, collect_summary_fields
from mtl_lab.data import DATAMODULES, BaseDataModule
from mtl_lab.data.preprocessing_file import save_preprocessing
from mtl_lab.ddp import check_sharded_grad_level
from mtl_lab.errors import ConfigError, DivergenceError
from mtl_lab.loggers import WandbRunLogger
from mtl_lab.models.architectures import ARCHITECTURES
from mtl_lab.models.heads import HEADS
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.models.token_tasks import check_token_tasks, token_task_names
from mtl_lab.module import MultiTaskModule
from mtl_lab.names import logged_metric_names
from mtl_lab.summary import SUMMARY_FILE, RunSummary, collect_metrics, error_line, write_summary
from mtl_lab.tasks import TaskSpec
from mtl_lab.transfer import TRANSFER_KEYS, transfer_callbacks
from mtl_lab.typecheck import check_target_node, check_value
from mtl_lab.weighting import WEIGHTINGS, Weighting


@dataclass
class Experiment:
    cfg: DictConfig
    datamodule: BaseDataModule
    module: MultiTaskModule
    trainer: pl.Trainer
    throughput: TrainThroughput

    @property
    def checkpoint_callback(self) -> ModelCheckpoint | None:
        return self.trainer.checkpoint_callback if self.trainer.checkpoint_callbacks else None


def _node(cfg: DictConfig, key: str) -> dict[str, Any]:
    value = cfg.get(key)
    if value is None:
        raise ConfigError(f"{key}: missing config node (select one with {key}=<name>)")
    return OmegaConf.to_container(value, resolve=True)  # type: ignore[return-value]


def build_datamodule(cfg: DictConfig) -> BaseDataModule:
    tasks = cfg.get("tasks")
    selection = list(tasks) if tasks is not None and not isinstance(tasks, str) else tasks
    return DATAMODULES.build(_node(cfg, "data"), use_tasks=selection)


def build_model(cfg: DictConfig, datamodule: BaseDataModule) -> MultiTaskModel:
    """The architecture (encoder inside) and one head per task, for the data's inputs and tasks. The
    token-level tasks' names go to the architecture (``token_tasks``) only when there are any."""
    tasks = datamodule.tasks
    architecture_node, encoder_node = _node(cfg, "architecture"), _node(cfg, "encoder")
    token_tasks = token_task_names(tasks)
    if token_tasks:
        check_token_tasks(architecture_node, encoder_node, token_tasks)
    architecture = ARCHITECTURES.build(
        architecture_node,
        tasks=list(tasks),
        inputs=datamodule.input_specs,
        encoder=encoder_node,
        **({"token_tasks": token_tasks} if token_tasks else {}),
    )
    head_spec = _node(cfg, "head")
    heads = {
        name: HEADS.build(head_spec, in_dim=architecture.feature_dim(name), out_dim=spec.num_outputs)
        for name, spec in tasks.items()
    }
    return MultiTaskModel(architecture, heads)


def check_tasks_per_step(weighting: Weighting, datamodule: BaseDataModule, key: str) -> None:
    """Refuse a strategy that balances all tasks in every step on data giving one task per step."""
    if weighting.needs_all_tasks and datamodule.one_task_per_step:
        raise ConfigError(
            f"weighting={key}: needs every task in every step, but data.mode=sample gives one task per "
            "step; use data.mode=cycle or data.mode=min_size, or a loss-based weighting"
        )


def check_grad_level(weighting: Weighting, model: MultiTaskModel, key: str) -> None:
    """Refuse a gradient level that the architecture's shared tensors and parameters do not give."""
    architecture = model.architecture
    if (
        weighting.requires & {"grad_norms", "gramian"}
        and weighting.grad_level not in architecture.grad_levels
    ):
        name = type(architecture).__name__
        raise ConfigError(
            f"weighting.grad_level: {weighting.grad_level!r} has no meaning for {name} (weighting={key}); "
            f"levels that work: {', '.join(architecture.grad_levels)}"
        )


def build_module(cfg: DictConfig, datamodule: BaseDataModule) -> MultiTaskModule:
    weighting_node = _node(cfg, "weighting")
    weighting = WEIGHTINGS.build(weighting_node, tasks=datamodule.tasks)
    check_tasks_per_step(weighting, datamodule, str(weighting_node["name"]))
    model = build_model(cfg, datamodule)
    check_grad_level(weighting, model, str(weighting_node["name"]))
    scheduler_cfg = cfg.get("scheduler")
    return MultiTaskModule(
        tasks=datamodule.tasks,
        model=model,
        weighting=weighting,
        optimizer=_instantiate("optimizer", cfg.optimizer),
        scheduler=_instantiate("scheduler.builder", scheduler_cfg.builder) if scheduler_cfg else None,
        scheduler_interval=scheduler_cfg.get("interval", "epoch") if scheduler_cfg else "epoch",
        check_divergence_every_n_steps=int(cfg.get("check_divergence_every_n_steps", 50)),
    )


def check_optimized_metric(name: str, tasks: Mapping[str, TaskSpec]) -> None:
    known = logged_metric_names(tasks)
    if name not in known:
        message = f"optimized_metric: {name!r} is not a logged metric; choices include val/loss, "
        message += ", ".join(n for n in known if n.startswith("val/") and n != "val/loss")
        close = difflib.get_close_matches(name, known, n=1)
        raise ConfigError(message + (f"; did you mean {close[0]!r}?" if close else ""))


def _instantiate(key: str, node: DictConfig, **provided: Any) -> Any:
    check_target_node(key, OmegaConf.to_container(node, resolve=True), provided)  # type: ignore[arg-type]
    return instantiate(node, **provided)


def _instantiate_all(cfg: DictConfig, key: str) -> list[Any]:
    node = cfg.get(key)
    if not node:
        return []
    return [_instantiate(f"{key}.{name}", value) for name, value in node.items() if value is not None]


def build_trainer(cfg: DictConfig, extra_callbacks: list[Callback]) -> pl.Trainer:
    callbacks: list[Callback] = _instantiate_all(cfg, "callbacks") + extra_callbacks
    loggers: list[Logger] = _instantiate_all(cfg, "logger")
    return _instantiate("trainer", cfg.trainer, callbacks=callbacks, logger=loggers or False)


#: Top-level keys of ``train.yaml`` and their types.
RUN_KEYS: dict[str, Any] = {
    "seed": int | None,
    "tasks": list[str] | str | None,
    "optimized_metric": str,
    "test": bool,
    "check_divergence_every_n_steps": int,
    **TRANSFER_KEYS,
    **lifecycle.LIFECYCLE_KEYS,
}


def build_experiment(cfg: DictConfig) -> Experiment:
    """Everything a run needs, built and validated; nothing has trained yet."""
    for key, annotation in RUN_KEYS.items():
        value = cfg.get(key)
        check_value(key, OmegaConf.to_object(value) if OmegaConf.is_config(value) else value, annotation)
    datamodule = build_datamodule(cfg)
    check_optimized_metric(str(cfg.optimized_metric), datamodule.tasks)
    module = build_module(cfg, datamodule)
    throughput = TrainThroughput()
    callbacks = [throughput, *module.model.architecture.callbacks(), *transfer_callbacks(cfg, module)]
    trainer = build_trainer(cfg, [*callbacks, *lifecycle.lifecycle_callbacks(cfg)])
    weighting = module.weighting
    needs_gradients = bool(weighting.requires & {"grad_norms", "gramian"})
    check_sharded_grad_level(trainer.strategy, weighting.grad_level, needs_gradients, str(cfg.weighting.name))
    lifecycle.use_atomic_checkpoints(trainer)
    return Experiment(cfg=cfg, datamodule=datamodule, module=module, trainer=trainer, throughput=throughput)


def describe_tasks(datamodule: BaseDataModule) -> dict[str, dict[str, Any]]:
    """``summary.json``'s ``tasks``: kind, outputs, loss, class names, and ``labelled`` samples per split."""
    counts = datamodule.labelled_counts()
    return {
        name: {**spec.describe(), "labelled": {split: counts[split][name] for split in counts}}
        for name, spec in datamodule.tasks.items()
    }


def _best_checkpoint(experiment: Experiment) -> str | None:
    callback = experiment.checkpoint_callback
    if callback is None:
        return None
    for path in (callback.best_model_path, lifecycle.last_checkpoint_path(experiment.trainer)):
        if path and Path(path).is_file():
            return str(path)
    return None


def _coefficients(module: MultiTaskModule) -> dict[str, float]:
    coefficients = module.weighting.current_coefficients()
    return {task: float(c) for task, c in zip(module.task_names, coefficients, strict=True)}


def _optimized_value(experiment: Experiment, metrics: Mapping[str, float]) -> float | None:
    name = str(experiment.cfg.optimized_metric)
    callback = experiment.checkpoint_callback
    if callback is not None and callback.monitor == name and callback.best_model_score is not None:
        return float(callback.best_model_score)
    return metrics.get(name)


def run_experiment(cfg: DictConfig, output_dir: str | Path | None = None) -> RunSummary:
    """Seed, build, fit, test with the best checkpoint, write ``summary.json`` (rank 0) and return it.

    Every logger gets the resolved config as hyper-parameters before training; callbacks with
    ``summary_fields()`` add their fields. A run that fails to build (configuration error), diverges
    (:class:`DivergenceError`) or fails still writes its summary (``status`` failed/diverged, ``error``;
    a W&B run ends as failed with it), then re-raises — except over the ``summary.json`` of an earlier
    run in the same directory, which a failed run never replaces.
    """
    started = time.perf_counter()
    output = Path(output_dir or cfg.paths.output_dir)
    earlier = (output / SUMMARY_FILE).exists()
    if isinstance(cfg.get("seed"), int):
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    try:
        experiment = build_experiment(cfg)
        resume_from = lifecycle.prepare_resume(cfg, output, experiment.trainer)
        if rank_zero_only.rank == 0:
            save_preprocessing(experiment.datamodule.preprocessing_state(), output)
    except BaseException as err:
        if rank_zero_only.rank == 0 and not earlier:
            failure = RunSummary.failure(cfg, err, time.perf_counter() - started)
            write_summary(failure, output / SUMMARY_FILE)
        raise
    trainer, module = experiment.trainer, experiment.module
    summary = RunSummary(
        status="completed", tasks=describe_tasks(experiment.datamodule), seed=cfg.get("seed")
    )
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
        for logger in trainer.loggers:
            logger.log_hyperparams(resolved)  # type: ignore[arg-type]
        trainer.fit(module, datamodule=experiment.datamodule, ckpt_path=resume_from)
        summary.weights = _coefficients(module)  # at the end of training, before the best checkpoint loads
        logged = {**lifecycle.restored_metrics(trainer.callbacks), **trainer.callback_metrics}
        summary.metrics = collect_metrics(logged)  # values logged before a resume included
        if cfg.get("test", True):
            checkpoint = _best_checkpoint(experiment)
            results = trainer.test(
                module, datamodule=experiment.datamodule, ckpt_path=checkpoint, verbose=False
            )
            summary.metrics.update(collect_metrics(results[0] if results else {}))
    except DivergenceError as err:
        summary.status = "diverged"
        summary.diverged_at_step = err.step
        summary.error = str(err)
        summary.metrics = collect_metrics(trainer.callback_metrics)
        raise
    except BaseException as err:
        summary.status = "failed"
        summary.error = error_line(err)
        raise
    finally:
        summary.weights = summary.weights or _coefficients(module)
        summary.checkpoint = _best_checkpoint(experiment)
        summary.optimized_metric = {
            "name": str(cfg.optimized_metric),
            "value": _optimized_value(experiment, summary.metrics),
        }
        summary.wall_time_s = time.perf_counter() - started
        summary.train_samples_per_s = experiment.throughput.samples_per_s
        summary.callback_fields = collect_summary_fields(trainer.callbacks)
        if trainer.is_global_zero and (summary.status == "completed" or not earlier):
            write_summary(summary, output / SUMMARY_FILE)
        for logger in trainer.loggers:
            if isinstance(logger, WandbRunLogger):
                logger.finish_run(summary.to_json())
    return summary
