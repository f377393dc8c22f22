"""per_task's sources: defaults, one source per task, task selection, shared inputs, shared table preprocessing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mtl_lab.data import DATAMODULES, PerTaskDataModule
from mtl_lab.data.table.example_file import write_example_table
from mtl_lab.errors import ConfigError

SPECIES = {"name": "iris", "parts": 2, "part": 0, "use_tasks": ["species"]}
PETAL_WIDTH = {"name": "iris", "parts": 2, "part": 1, "use_tasks": ["petal_width"]}
IRIS = {"species": SPECIES, "petal_width": PETAL_WIDTH}


def test_union_of_the_sources_tasks_and_their_inputs() -> None:
    dm = PerTaskDataModule(sources=IRIS)
    assert list(dm.sources) == ["species", "petal_width"]
    assert list(dm.tasks) == ["species", "petal_width"]
    assert dm.tasks["species"].class_names == ("setosa", "versicolor", "virginica")
    assert [list(s.tasks) for s in dm.sources.values()] == [["species"], ["petal_width"]]
    assert dm.input_specs == dm.sources["species"].input_specs == {"features": dm.input_specs["features"]}


def test_per_task_values_apply_to_sources_that_do_not_set_their_own() -> None:
    sources = {"species": {**SPECIES, "batch_size": 4, "seed": 7}, "petal_width": PETAL_WIDTH}
    dm = PerTaskDataModule(sources=sources, batch_size=16, eval_batch_size=32, seed=5)
    species, petal_width = dm.sources["species"], dm.sources["petal_width"]
    assert (species.batch_size, species.eval_batch_size, species.seed) == (4, 32, 7)
    assert (petal_width.batch_size, petal_width.eval_batch_size, petal_width.seed) == (16, 32, 5)
    assert petal_width.num_workers == 0  # null: the source's own default
    plain = PerTaskDataModule(sources=IRIS).sources["species"]
    assert plain.batch_size == 128  # the iris datamodule's own default


def test_selecting_tasks_drops_sources_left_without_one_and_restricts_the_others() -> None:
    dm = PerTaskDataModule(sources=IRIS, use_tasks=["species"])
    assert list(dm.sources) == ["species"] and list(dm.tasks) == ["species"]
    assert set(next(iter(dm.train_dataloader())).targets) == {"species"}
    both = PerTaskDataModule(sources={"all": {"name": "iris", "parts": 2}}, use_tasks=["petal_width"])
    assert list(both.sources["all"].tasks) == ["petal_width"]
    assert set(next(iter(both.val_dataloader())).targets) == {"petal_width"}
    ordered = PerTaskDataModule(sources=IRIS, use_tasks=["petal_width", "species"])
    assert list(ordered.tasks) == ["petal_width", "species"]


def _error(sources: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        PerTaskDataModule(sources=sources, **kwargs)
    return str(info.value)


def test_a_task_from_two_sources_is_refused_naming_both() -> None:
    sources = {"a": SPECIES, "b": {"name": "iris", "parts": 2, "part": 1}}
    assert _error(sources) == (
        "data.sources: task 'species' comes from two sources, 'a' and 'b'; give each task one source "
        "(a source's use_tasks selects the tasks it serves)"
    )


def test_sources_with_different_inputs_are_refused_naming_both() -> None:
    toy = {"name": "gradnorm_toy", "input_dim": 4, "train_size": 8, "val_size": 4, "test_size": 4}
    assert _error({"species": SPECIES, "toy": toy}) == (
        "data.sources: sources 'species' and 'toy' give different inputs (features (3,) float32 vs "
        "features (4,) float32); one shared model reads every source, so they need the same inputs"
    )


def test_source_node_mistakes_name_the_source_and_the_key() -> None:
    assert _error({}) == (
        "data.sources: no source given; set {source_name: {name: <registered data>, ...}} for each source "
        "(e.g. experiment=iris_two_tasks)"
    )
    assert _error({"a": {"parts": 2}}) == (
        "data.sources.a: expected a data node {name: <registered data>, ...}, got {'parts': 2}"
    )
    choices = ", ".join(n for n in DATAMODULES.names() if n != "per_task")
    assert _error({"a": {"name": "irs"}}) == (
        f"data.sources.a.name: unknown data 'irs'; choices: {choices}; did you mean 'iris'?"
    )
    assert _error({"a": {"name": "per_task", "sources": IRIS}}).startswith(
        "data.sources.a.name: unknown data 'per_task'; choices: "
    )
    assert _error({"a": {**SPECIES, "colour": 1}}).startswith(
        "data.sources.a: unexpected key 'colour'; accepted keys: parts, part, batch_size"
    )
    assert _error({"a": {**SPECIES, "parts": "two"}}) == (
        "data.sources.a.parts: expected int, got 'two' (str)"
    )
    assert _error({"a": {**SPECIES, "part": 5}}) == (
        "data.sources.a: data.part: must be in 0..1 (data.parts=2), got 5"
    )
    assert _error({"a": {**SPECIES, "use_tasks": ["specie"]}}) == (
        "data.sources.a: tasks: unknown task for data 'iris' 'specie'; choices: petal_width, species; "
        "did you mean 'species'?"
    )


def test_mode_and_task_selection_mistakes() -> None:
    assert _error(IRIS, mode="cylce") == (
        "data.mode: unknown mode 'cylce'; choices: cycle, min_size, sample; did you mean 'cycle'?"
    )
    assert _error(IRIS, use_tasks=["petal_widht"]) == (
        "tasks: unknown task for data 'per_task' 'petal_widht'; choices: petal_width, species; "
        "did you mean 'petal_width'?"
    )
    assert _error(IRIS, sampling="uniforn").startswith("data.sampling: unknown sampling 'uniforn'")
    assert _error(IRIS, temperature=-1.0) == "data.temperature: must be > 0, got -1.0"


def _table(path: Path, task: str, column: str, kind: str) -> dict[str, Any]:
    return {
        "name": "table",
        "path": str(path),
        "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
        "tasks": {task: {"column": column, "kind": kind}},
        "split_column": "split",
        "batch_size": 8,
    }


def test_table_sources_share_one_feature_preprocessing(tmp_path: Path) -> None:
    first = write_example_table(tmp_path / "a.csv")
    second = tmp_path / "b.csv"
    lines = write_example_table(second).read_text().splitlines()
    lines[1] = lines[1].replace("red", "purple")  # a colour a.csv lacks
    lines[2] = "100" + lines[2][lines[2].index(",") :]  # and a larger x1
    second.write_text("\n".join(lines) + "\n")
    sources = {
        "flags": _table(first, "flag", "flag", "binary"),
        "amounts": _table(second, "amount", "amount", "regression"),
    }
    alone = [DATAMODULES.build(node) for node in sources.values()]
    assert alone[0].input_specs != alone[1].input_specs  # fitted apart, the colour vocabularies differ
    dm = PerTaskDataModule(sources=sources)
    flags, amounts = dm.sources["flags"], dm.sources["amounts"]
    assert flags.input_specs == amounts.input_specs == dm.input_specs
    state = dm.preprocessing_state()
    assert set(state["sources"]) == {"flags", "amounts"}
    assert state["sources"]["flags"]["features"] == state["sources"]["amounts"]["features"]
    assert state["sources"]["flags"]["features"] != alone[0].preprocessing_state()["features"]
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch.targets) == {"flag", "amount"} and set(batch.inputs) == set(dm.input_specs)
    reloaded = PerTaskDataModule(sources=sources)  # as mtl-eval does: each source gets its saved state
    reloaded.load_preprocessing_state(state)
    assert reloaded.preprocessing_state() == state and reloaded.input_specs == dm.input_specs


def test_tables_with_different_features_are_refused(tmp_path: Path) -> None:
    path = write_example_table(tmp_path / "a.csv")
    other = _table(path, "amount", "amount", "regression")
    other["features"] = {"numeric": ["x1"], "categorical": ["colour"]}
    message = _error({"flags": _table(path, "flag", "flag", "binary"), "amounts": other})
    assert message.startswith("data: tables sharing one feature preprocessing need the same features")
