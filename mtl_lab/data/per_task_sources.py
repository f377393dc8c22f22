"""The sources of ``data=per_task``: built from their data nodes, checked, and restricted to the selection.

:func:`build_sources` turns ``{source_name: {name: <registered data>, ...its keys}}`` into datamodules:

1. each node gets the per_task-level ``defaults`` (batch sizes, workers, seed) it does not set itself
   (only the keys its datamodule accepts); its own ``use_tasks`` selects the tasks it serves;
2. a task served by two sources is an error (one source per task);
3. the run's task selection (``tasks=``) is applied to the union: a source keeps its selected tasks (it
   is rebuilt with that ``use_tasks``) and a source left without one is dropped;
4. table sources share one feature preprocessing (``TableDataModule.share_feature_preprocessing``);
5. every source must give the same inputs (names, shapes, dtypes, cardinalities): one model reads them.

Errors are one line naming ``data.sources.<source>`` and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, BaseDataModule, select_tasks
from mtl_lab.errors import ConfigError, DataError, unknown_choice
from mtl_lab.tasks import TaskSpec
from mtl_lab.typecheck import _named_parameters, check_arguments

#: The datamodule this module serves; a source cannot be one.
PER_TASK = "per_task"
#: The registered name of the table datamodule, whose sources share one feature preprocessing.
TABLE = "table"


def build_sources(
    nodes: Mapping[str, Mapping[str, Any]],
    defaults: Mapping[str, Any],
    selection: Sequence[str] | str | None,
) -> tuple[dict[str, BaseDataModule], dict[str, TaskSpec]]:
    """The kept sources by name and the selected tasks (in selection order, else in source order)."""
    if not nodes:
        raise ConfigError(
            "data.sources: no source given; set {source_name: {name: <registered data>, ...}} for each "
            "source (e.g. experiment=iris_two_tasks)"
        )
    full = {name: _with_defaults(name, node, defaults) for name, node in nodes.items()}
    sources = {name: _build(name, node) for name, node in full.items()}
    owners: dict[str, str] = {}
    for name, source in sources.items():
        for task in source.tasks:
            if task in owners:
                raise ConfigError(
                    f"data.sources: task {task!r} comes from two sources, {owners[task]!r} and {name!r}; "
                    "give each task one source (a source's use_tasks selects the tasks it serves)"
                )
            owners[task] = name
    declared = {task: spec for source in sources.values() for task, spec in source.tasks.items()}
    tasks = select_tasks(declared, selection, PER_TASK)
    kept: dict[str, BaseDataModule] = {}
    for name, source in sources.items():
        own = [task for task in tasks if owners[task] == name]
        if own and own != list(source.tasks):
            source = _build(name, {**full[name], "use_tasks": own})
        if own:
            kept[name] = source
    share_table_preprocessing(kept)
    check_same_inputs(kept)
    return kept, tasks


def _with_defaults(source: str, node: Any, defaults: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
        raise ConfigError(
            f"data.sources.{source}: expected a data node {{name: <registered data>, ...}}, got {node!r}"
        )
    name = node["name"]
    if ":" not in name and (name not in DATAMODULES or name == PER_TASK):
        choices = [n for n in DATAMODULES.names() if n != PER_TASK]
        raise unknown_choice(f"data.sources.{source}.name", name, choices, "data")
    accepted = _named_parameters(DATAMODULES.resolve(name))
    extra = {k: v for k, v in defaults.items() if k not in node and (accepted is None or k in accepted)}
    return {**node, **extra}


def _build(source: str, node: Mapping[str, Any]) -> BaseDataModule:
    builder = DATAMODULES.resolve(node["name"])
    kwargs = {k: v for k, v in node.items() if k != "name"}
    check_arguments(f"data.sources.{source}", builder, kwargs)
    try:
        return builder(**kwargs)
    except (ConfigError, DataError) as err:
        raise type(err)(f"data.sources.{source}: {err}") from None


def share_table_preprocessing(sources: Mapping[str, BaseDataModule]) -> None:
    """Make the table sources use one feature preprocessing fitted on all their training rows."""
    if TABLE not in DATAMODULES:  # the table datamodule is not registered (nor can a source be one)
        return
    table_class = DATAMODULES.resolve(TABLE)
    tables = [s for s in sources.values() if isinstance(s, table_class)]  # type: ignore[arg-type]
    if len(tables) > 1:
        table_class.share_feature_preprocessing(tables)  # type: ignore[attr-defined]


def describe_inputs(specs: Mapping[str, InputSpec]) -> str:
    """``features (3,) float32, ids (4,) int64 cardinalities (5, 7)``, ``input_ids (128,) int64
    vocab_size 30522``."""
    parts = []
    for name, spec in specs.items():
        text = f"{name} {spec.shape} {str(spec.dtype).removeprefix('torch.')}"
        text += f" cardinalities {spec.cardinalities}" if spec.cardinalities else ""
        parts.append(text + (f" vocab_size {spec.vocab_size}" if spec.vocab_size is not None else ""))
    return ", ".join(parts) or "(none)"


def check_same_inputs(sources: Mapping[str, BaseDataModule]) -> None:
    """Every source gives the inputs of the first one (one shared model reads them all)."""
    (first, reference), *others = sources.items()
    for name, source in others:
        if source.input_specs != reference.input_specs:
            raise ConfigError(
                f"data.sources: sources {first!r} and {name!r} give different inputs "
                f"({describe_inputs(reference.input_specs)} vs {describe_inputs(source.input_specs)}); "
                "one shared model reads every source, so they need the same inputs"
            )
