"""``per_task``: one dataset (source) per task, trained together by one shared model.

``sources`` maps a source name to any registered data node (``{name: iris, parts: 2, part: 0,
use_tasks: [species]}``, ``{name: table, path: a.csv, ...}``); a source's ``use_tasks`` selects the tasks it
serves. The tasks are the union of the sources' (one source per task); every source must give the same
inputs. ``batch_size`` / ``eval_batch_size`` / ``num_workers`` / ``seed`` apply to every source that does
not set its own (null: the source's own default). The run's ``tasks=`` selection (``use_tasks``) drops the
sources left without a selected task: ``tasks=[species]`` is a single-task baseline on that source. Table
sources share one feature preprocessing (:mod:`mtl_lab.data.per_task_sources`).

Training (``mode``):

- ``cycle`` (default): every step concatenates one batch of every source (each task labelled on its own
  source's rows, masked elsewhere); an epoch lasts as long as the longest source, shorter ones restart;
- ``min_size``: the same, but the epoch stops with the shortest source;
- ``sample``: one source per step, drawn ``proportional`` to its training samples, ``uniform`` or with a
  ``temperature`` (:mod:`mtl_lab.data.task_sampling`), identically on every DDP rank; the step's batch
  has the labels of that source's tasks only (``one_task_per_step``: strategies that need every task in
  every step, such as GradNorm and the Gramian family, are refused).

Validation and test take every batch of every source once, source after source. Every loader yields
:class:`~mtl_lab.batch.Batch` (the concatenation happens in the loader, not in a batch-transfer hook), and
under DDP each source is split across ranks with a ``DistributedSampler`` built here
(:mod:`mtl_lab.data.source_loaders`). Labelled counts and preprocessing states are the sources'
(``{"sources": {name: state}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, SPLITS, BaseDataModule
from mtl_lab.data.per_task_sources import build_sources, check_same_inputs
from mtl_lab.data.source_loaders import CombinedSources, SourcesInTurn, shard_loader
from mtl_lab.data.task_sampling import SampledSources, sampling_probabilities
from mtl_lab.errors import ConfigError, DataError, unknown_choice

MODES = ("cycle", "min_size", "sample")


@DATAMODULES.register("per_task")
class PerTaskDataModule(BaseDataModule):
    """One source per task, trained together (see the module docstring); ``sources`` are data nodes."""

    name = "per_task"

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, Any]],
        mode: str = "cycle",
        sampling: str = "proportional",
        temperature: float = 2.0,
        batch_size: int | None = None,
        eval_batch_size: int | None = None,
        num_workers: int | None = None,
        seed: int | None = 0,
        use_tasks: Sequence[str] | str | None = None,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise unknown_choice("data.mode", mode, MODES, "mode")
        sampling_probabilities([1], sampling, temperature)  # checks sampling and temperature
        self.mode, self.sampling, self.temperature = mode, sampling, temperature
        self.seed = 0 if seed is None else seed  # the same draws and shards on every rank, even unseeded
        defaults = {
            "batch_size": batch_size,
            "eval_batch_size": eval_batch_size,
            "num_workers": num_workers,
            "seed": seed,
        }
        given = {key: value for key, value in defaults.items() if value is not None}
        self.sources, self.tasks = build_sources(sources, given, use_tasks)

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        """The inputs every source gives (checked equal when built and when a state is loaded)."""
        return dict(next(iter(self.sources.values())).input_specs)

    @property
    def one_task_per_step(self) -> bool:
        return self.mode == "sample"

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {
            "sources": {
                "species": {"name": "iris", "parts": 2, "part": 0, "use_tasks": ["species"]},
                "petal_width": {"name": "iris", "parts": 2, "part": 1, "use_tasks": ["petal_width"]},
            },
            "batch_size": 16,
        }

    # ----------------------------------------------------------------------------- lifecycle
    def prepare_data(self) -> None:
        for source in self.sources.values():
            source.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        for source in self.sources.values():
            source.setup(stage)  # type: ignore[arg-type]

    def teardown(self, stage: str | None = None) -> None:
        for source in self.sources.values():
            source.teardown(stage)  # type: ignore[arg-type]

    # ----------------------------------------------------------------------------- counts and state
    def labelled_counts(self) -> dict[str, dict[str, int]]:
        per_source = [source.labelled_counts() for source in self.sources.values()]
        return {split: {t: n for c in per_source for t, n in c[split].items()} for split in SPLITS}

    def preprocessing_state(self) -> dict[str, Any] | None:
        states = {name: source.preprocessing_state() for name, source in self.sources.items()}
        kept = {name: state for name, state in states.items() if state is not None}
        return {"sources": kept} if kept else None

    def load_preprocessing_state(self, state: Mapping[str, Any]) -> None:
        states = state.get("sources")
        if not isinstance(states, Mapping):
            raise ConfigError(
                f"preprocessing.json: a per_task state needs a 'sources' mapping, got {state!r}"
            )
        for name, source_state in states.items():
            if name not in self.sources:
                raise unknown_choice("preprocessing.json sources", name, self.sources, "source")
            self.sources[name].load_preprocessing_state(source_state)
        check_same_inputs(self.sources)

    # ----------------------------------------------------------------------------- loaders
    def _epoch(self) -> int:
        """The Trainer's current epoch (0 outside a Trainer)."""
        return self.trainer.current_epoch if self.trainer is not None else 0

    def _loaders(self, split: str) -> dict[str, DataLoader[Any]]:
        """Every source's loader of ``split``; under DDP each reads its rank's share."""
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        loaders = {}
        for name, source in self.sources.items():
            loader = getattr(source, f"{split}_dataloader")()
            if world > 1:
                loader = shard_loader(loader, name, world, rank, shuffle=split == "train", seed=self.seed)
            loaders[name] = loader
        return loaders

    def train_dataloader(self) -> CombinedSources | SampledSources:
        loaders = self._loaders("train")
        if self.mode != "sample":
            return CombinedSources(loaders, self.mode, self._epoch)
        sizes = [_samples(loader, name) for name, loader in loaders.items()]
        probabilities = sampling_probabilities(sizes, self.sampling, self.temperature)
        return SampledSources(loaders, probabilities, self.seed, self._epoch)

    def val_dataloader(self) -> SourcesInTurn:
        return SourcesInTurn(self._loaders("val"))

    def test_dataloader(self) -> SourcesInTurn:
        return SourcesInTurn(self._loaders("test"))


def _samples(loader: Any, source: str) -> int:
    """Training samples of a source (its whole dataset, the same number on every rank)."""
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        raise DataError(
            f"data.sources.{source}: data.sampling needs the number of its training samples, but its "
            "dataset has no length"
        ) from None
