"""data=per_task: the three training modes, evaluation, counts and states, and experiments built on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from conftest import compose_config
from label_plugins import LabelledTasksRecorder

from mtl_lab.batch import Batch
from mtl_lab.data import PerTaskDataModule
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_datamodule, build_experiment, build_module, run_experiment
from mtl_lab.gradients import level_inputs

SPECIES = {"name": "iris", "parts": 2, "part": 0, "use_tasks": ["species"], "batch_size": 16}
PETAL_WIDTH = {"name": "iris", "parts": 2, "part": 1, "use_tasks": ["petal_width"], "batch_size": 8}
# 45 training rows each: species in 3 batches (16, 16, 13), petal_width in 6 (8 x 5, 5)
IRIS = {"species": SPECIES, "petal_width": PETAL_WIDTH}
FAST = [
    "experiment=iris_two_tasks",
    "trainer.max_epochs=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
]


def rows(inputs: torch.Tensor, targets: torch.Tensor) -> Counter[tuple[float, ...]]:
    """The multiset of (features..., target) rows (iris has duplicate flowers, so a multiset)."""
    table = torch.cat([inputs, targets.reshape(len(targets), -1).float()], dim=1)
    return Counter(tuple(round(v, 4) for v in row) for row in table.tolist())


def task_rows(batches: list[Batch], task: str) -> Counter[tuple[float, ...]]:
    total: Counter[tuple[float, ...]] = Counter()
    for batch in batches:
        if task in batch.targets:
            labelled = batch.masks.get(task, torch.ones(batch.size, dtype=torch.bool))
            total += rows(batch.inputs["features"][labelled], batch.targets[task][labelled])
    return total


def source_rows(dm: PerTaskDataModule, task: str, split: str) -> Counter[tuple[float, ...]]:
    data = dm.sources[task].split(split)
    return rows(data.inputs["features"], data.targets[task])


def test_cycle_mode_concatenates_one_batch_of_every_source_and_cycles_the_shorter() -> None:
    dm = PerTaskDataModule(sources=IRIS)
    loader = dm.train_dataloader()
    batches = list(loader)
    assert len(loader) == len(batches) == 6
    for batch in batches:  # species rows first, then petal_width rows; each task labelled on its own
        n = int(batch.masks["species"].sum())
        assert batch.masks["species"].tolist() == [True] * n + [False] * (batch.size - n)
        assert batch.masks["petal_width"].tolist() == [False] * n + [True] * (batch.size - n)
    assert [int(b.masks["species"].sum()) for b in batches] == [16, 16, 13, 16, 16, 13]
    assert [int(b.masks["petal_width"].sum()) for b in batches] == [8, 8, 8, 8, 8, 5]
    species = source_rows(dm, "species", "train")
    assert task_rows(batches, "species") == species + species  # the shorter source twice
    assert task_rows(batches, "petal_width") == source_rows(dm, "petal_width", "train")


def test_min_size_mode_stops_with_the_shortest_source() -> None:
    dm = PerTaskDataModule(sources=IRIS, mode="min_size")
    batches = list(dm.train_dataloader())
    assert len(dm.train_dataloader()) == len(batches) == 3
    assert task_rows(batches, "species") == source_rows(dm, "species", "train")
    assert sum(task_rows(batches, "petal_width").values()) == 24 and not dm.one_task_per_step


def test_sample_mode_gives_one_sources_batch_per_step() -> None:
    dm = PerTaskDataModule(sources=IRIS, mode="sample", sampling="uniform", seed=3)
    assert dm.one_task_per_step
    loader = dm.train_dataloader()
    assert loader.probabilities == [0.5, 0.5]
    assert PerTaskDataModule(sources=IRIS, mode="sample").train_dataloader().probabilities == [0.5, 0.5]
    batches = list(loader)
    assert len(loader) == len(batches) == 9  # the sources' batches together
    assert [list(b.targets) for b in batches] == [[source] for source in loader.draws(0)]
    assert all(not b.masks for b in batches)  # the source's own batch: every row labelled for its task


@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluation_takes_every_sample_of_every_source_once(split: str) -> None:
    dm = PerTaskDataModule(sources=IRIS, eval_batch_size=4)
    loader = getattr(dm, f"{split}_dataloader")()
    batches = list(loader)
    assert len(loader) == len(batches) == 8  # 15 rows per source in batches of 4
    assert [list(b.targets) for b in batches] == [["species"]] * 4 + [["petal_width"]] * 4
    for task in ("species", "petal_width"):
        assert task_rows(batches, task) == source_rows(dm, task, split)


def test_labelled_counts_are_the_sources() -> None:
    dm = PerTaskDataModule(sources=IRIS)
    expected = {"species": 45, "petal_width": 45}
    assert dm.labelled_counts() == {
        "train": expected,
        "val": {"species": 15, "petal_width": 15},
        "test": {"species": 15, "petal_width": 15},
    }


def test_preprocessing_state_holds_each_sources_and_gives_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    dm = PerTaskDataModule(sources=IRIS)
    assert dm.preprocessing_state() is None  # iris has no fitted preprocessing
    loaded: dict[str, object] = {}
    for name in dm.sources:
        monkeypatch.setattr(
            dm.sources[name], "load_preprocessing_state", lambda s, n=name: loaded.update({n: s})
        )
    monkeypatch.setattr(dm.sources["species"], "preprocessing_state", lambda: {"shift": 1.5})
    assert dm.preprocessing_state() == {"sources": {"species": {"shift": 1.5}}}  # only sources with one
    dm.load_preprocessing_state({"sources": {"species": {"shift": 4.0}, "petal_width": {"shift": 5.0}}})
    assert loaded == {"species": {"shift": 4.0}, "petal_width": {"shift": 5.0}}  # each its own
    with pytest.raises(
        ConfigError,
        match=r"^preprocessing.json sources: unknown source 'specie'; choices: petal_width, species; "
        r"did you mean 'species'\?$",
    ):
        dm.load_preprocessing_state({"sources": {"specie": {}}})
    with pytest.raises(
        ConfigError,
        match=r"^preprocessing.json: a per_task state needs a 'sources' mapping, got {'shift': 1.0}$",
    ):
        dm.load_preprocessing_state({"shift": 1.0})


@pytest.mark.parametrize("weighting", ["gradnorm", "upgrad"])
def test_strategies_needing_every_task_are_refused_in_sample_mode_only(
    weighting: str, tmp_path: Path
) -> None:
    cfg = compose_config([*FAST, f"weighting={weighting}", "data.mode=sample"], tmp_path)
    with pytest.raises(ConfigError) as info:
        build_experiment(cfg)
    assert str(info.value) == (
        f"weighting={weighting}: needs every task in every step, but data.mode=sample gives one task per "
        "step; use data.mode=cycle or data.mode=min_size, or a loss-based weighting"
    )
    for mode in ("cycle", "min_size"):
        cfg = compose_config([*FAST, f"weighting={weighting}", f"data.mode={mode}"], tmp_path)
        assert build_experiment(cfg).module.weighting.needs_all_tasks
    assert build_experiment(
        compose_config([*FAST, "data.mode=sample"], tmp_path)
    ).datamodule.one_task_per_step


def test_representation_gramian_of_a_merged_batch_matches_separate_backward_passes(tmp_path: Path) -> None:
    cfg = compose_config([*FAST, "weighting=upgrad", "weighting.grad_level=representation"], tmp_path)
    dm = build_datamodule(cfg)
    module = build_module(cfg, dm)
    module.eval()
    batch = next(iter(dm.train_dataloader()))
    gramian = module.task_gramian(module.shared_step(batch), "representation")
    n_species = int(batch.masks["species"].sum())
    own_rows = {"species": slice(0, n_species), "petal_width": slice(n_species, batch.size)}
    other_rows = {"species": slice(n_species, batch.size), "petal_width": slice(0, n_species)}
    gradients = []
    for k, task in enumerate(module.task_names):
        step = module.shared_step(batch)
        (shared,), _ = level_inputs(module.model.architecture, step.output, "representation")
        (gradient,) = torch.autograd.grad(step.losses.values[k], [shared])
        assert gradient[other_rows[task]].abs().max() == 0, "a task's gradient lives on its source's rows"
        assert gradient[own_rows[task]].abs().max() > 0
        gradients.append(gradient.reshape(-1))
    expected = torch.stack(gradients) @ torch.stack(gradients).T
    assert torch.allclose(gramian, expected, rtol=1e-4, atol=1e-8)
    assert gramian[0, 1] == 0 and gramian[1, 0] == 0  # disjoint rows: orthogonal task gradients


def test_a_short_iris_two_tasks_run_reports_every_tasks_metrics_and_counts(tmp_path: Path) -> None:
    summary = run_experiment(compose_config(FAST, tmp_path), tmp_path)
    assert summary.status == "completed"
    for task, metric in (("species", "accuracy"), ("petal_width", "mae")):
        assert summary.tasks[task]["labelled"] == {"train": 45, "val": 15, "test": 15}
        assert f"test/{task}/{metric}" in summary.metrics and f"val/{task}/loss" in summary.metrics
    assert 0.0 <= summary.metrics["test/species/accuracy"] <= 1.0
    assert (tmp_path / "summary.json").is_file()


def test_sample_mode_training_draws_the_sources_of_each_trainer_epoch(tmp_path: Path) -> None:
    overrides = [
        *FAST,
        "data.mode=sample",
        "+callbacks.tasks._target_=label_plugins.LabelledTasksRecorder",
        "test=false",
    ]
    experiment = build_experiment(compose_config([*overrides, "trainer.max_epochs=3"], tmp_path))
    experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    (recorder,) = [c for c in experiment.trainer.callbacks if isinstance(c, LabelledTasksRecorder)]
    loader = experiment.datamodule.train_dataloader()
    names = experiment.module.task_names
    expected = [[[name == source for name in names]] for epoch in range(3) for source in loader.draws(epoch)]
    assert recorder.steps == expected
    assert recorder.epochs == [e for e in range(3) for _ in range(len(loader))]
    assert loader.draws(0) != loader.draws(1)
