"""W&B logger of one mtl_lab run: Lightning's ``WandbLogger`` that never prompts or hangs when it
starts, and that ends its W&B run with the run's ``summary.json`` and best checkpoint.

- Start (first use, rank 0 only): :func:`~mtl_lab.loggers.wandb_setup.choose_mode` picks online,
  offline or disabled; falling back to offline (no API key, host unreachable, or the online start
  failed) prints one warning line with the ``wandb sync`` command.
- During the run Lightning logs every value with ``trainer/global_step`` as its x-axis
  (``define_metric("*", step_metric="trainer/global_step")``).
- :meth:`WandbRunLogger.finish_run` puts the summary's fields in the W&B run summary
  (:func:`summary_fields`), logs the best checkpoint as a ``model`` artifact (``log_model``, completed
  runs) and finishes the run with exit code 0 (completed) or 1 (failed, diverged), so that the next
  job of a multirun starts a new W&B run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from mtl_lab.errors import ConfigError
from mtl_lab.loggers.wandb_setup import ModeChoice, choose_mode

log = logging.getLogger(__name__)

#: W&B accepts tags of 1 to 64 characters.
MAX_TAG_LENGTH = 64


def _tags(tags: list[str] | None, auto_tags: list[str] | None) -> list[str]:
    for tag in tags or []:
        if not 1 <= len(str(tag)) <= MAX_TAG_LENGTH:
            raise ConfigError(
                f"logger.wandb.tags: tag {str(tag)!r} has {len(str(tag))} characters; "
                f"W&B tags have 1 to {MAX_TAG_LENGTH}"
            )
    automatic = [str(tag)[:MAX_TAG_LENGTH] for tag in auto_tags or [] if str(tag)]
    return list(dict.fromkeys([*(str(tag) for tag in tags or []), *automatic]))


def summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """``summary.json`` as flat W&B summary keys: metrics under their logged names (``test/left/accuracy``),
    every other field by its path (``status``, ``weights/left``, ``optimized_metric/value``,
    ``tasks/left/kind``, ``wall_time_s``, ...); null values are left out."""
    fields: dict[str, Any] = {}

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                add(f"{prefix}/{key}" if prefix else str(key), item)
        elif value is not None:
            fields[prefix] = value

    for key, value in summary.items():
        add("" if key == "metrics" else key, value)
    return fields


class WandbRunLogger(WandbLogger):
    """Logs one run to W&B under ``<save_dir>/wandb/``.

    ``tags`` are yours, ``auto_tags`` are derived from the config (``weighting:gradnorm``, ...; cut to
    64 characters); ``group`` gathers the jobs of a multirun; ``offline`` records the run locally for a
    later ``wandb sync``; ``log_model`` logs the best checkpoint as a ``model`` artifact when the run
    completes (aliases ``best``, ``latest``).
    """

    def __init__(
        self,
        save_dir: str,
        project: str = "mtl_lab",
        entity: str | None = None,
        name: str | None = None,
        group: str | None = None,
        job_type: str | None = "train",
        tags: list[str] | None = None,
        auto_tags: list[str] | None = None,
        notes: str | None = None,
        offline: bool = False,
        log_model: bool = True,
    ) -> None:
        super().__init__(
            name=name,
            save_dir=save_dir,
            project=project,
            log_model=False,  # the best checkpoint is logged by finish_run, offline runs included
            entity=entity,
            group=group,
            job_type=job_type,
            tags=_tags(tags, auto_tags),
            notes=notes,
        )
        del self._wandb_init["anonymous"]  # deprecated in wandb; passing it (even None) prints a warning
        self.offline = offline
        self.log_best_checkpoint = log_model
        #: How the run started (None until it has).
        self.mode: ModeChoice | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The W&B run, started on first use (rank 0; other ranks get a no-op object)."""
        if self._experiment is None:
            self._start()
        return self._experiment

    def _start(self) -> None:
        choice = choose_mode(self.offline)
        self._wandb_init["mode"] = choice.mode
        try:
            run = super().experiment
        except Exception as err:
            if choice.mode != "online":
                raise
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            choice = ModeChoice("offline", fallback=f"the online run did not start ({reason})")
            self._wandb_init["mode"] = "offline"
            run = super().experiment
        self.mode = choice
        if choice.fallback:
            sync_dir = run.settings.sync_dir
            log.warning(
                "W&B: %s; logging offline to %s; upload later: wandb sync %s",
                choice.fallback,
                sync_dir,
                sync_dir,
            )

    @rank_zero_only
    def finish_run(self, summary: Mapping[str, Any]) -> None:
        """End the W&B run with ``summary`` (``summary.json``'s content); nothing if it never started."""
        run = self._experiment
        if run is None:
            return
        completed = summary.get("status") == "completed"
        try:
            run.summary.update(summary_fields(summary))
            checkpoint = summary.get("checkpoint")
            if self.log_best_checkpoint and completed and checkpoint:
                self._log_checkpoint(run, Path(checkpoint), summary.get("optimized_metric") or {})
        finally:
            run.finish(exit_code=0 if completed else 1)

    @staticmethod
    def _log_checkpoint(run: Any, path: Path, optimized_metric: Mapping[str, Any]) -> None:
        import wandb

        metadata = {"original_filename": path.name, "optimized_metric": dict(optimized_metric)}
        artifact = wandb.Artifact(name=f"model-{run.id}", type="model", metadata=metadata)
        # immutable: referenced in place (the run directory keeps it), not copied to W&B's staging area
        artifact.add_file(str(path), name="model.ckpt", policy="immutable")
        aliases = ["latest"] if path.name == "last.ckpt" else ["best", "latest"]
        run.log_artifact(artifact, aliases=aliases)
