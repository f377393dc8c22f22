"""``summary.json``: the machine-readable record of one run, read by sweeps and reports.

Fields: ``status`` ("completed", "failed", "diverged"), ``tasks`` ({name: {kind, num_outputs, loss}}),
``metrics`` (every logged name -> final value: ``test/*`` from the best checkpoint's test, ``val/*``
from the last validation epoch, ``train/*`` epoch metrics from the last epoch and per-step values
(losses, ``train/weight/<task>``, ``train/log_var/<task>``) from the last step), ``weights`` ({task:
final coefficient}), ``optimized_metric`` ({name, value}: the best checkpoint's score when the
checkpoint monitors it), ``wall_time_s``, ``train_samples_per_s``, ``checkpoint`` (best checkpoint
path, else the last one, else null), ``seed``; ``diverged_at_step`` and ``error`` when relevant.
Callbacks add their own top-level fields (:class:`mtl_lab.callbacks.SummaryContributor`), e.g.
``task_affinity``, or ``resumed_from`` ({step, epoch, checkpoint}) for a run continued with ``resume=``;
they never replace the fields above.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from torch import Tensor

from mtl_lab.names import parse_task_metric

SUMMARY_FILE = "summary.json"


@dataclass
class RunSummary:
    status: str
    tasks: dict[str, dict[str, Any]]
    metrics: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    optimized_metric: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float | None = None
    train_samples_per_s: float | None = None
    checkpoint: str | None = None
    seed: int | None = None
    diverged_at_step: int | None = None
    error: str | None = None
    #: Top-level fields contributed by callbacks (``summary_fields()``), written after the fields above.
    callback_fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, cfg: Mapping[str, Any], err: BaseException, wall_time_s: float) -> RunSummary:
        """A run that failed before training (``cfg``: its config): no tasks, no metrics, the error's
        first line."""
        seed = cfg.get("seed")
        return cls(
            status="failed",
            tasks={},
            optimized_metric={"name": str(cfg.get("optimized_metric")), "value": None},
            wall_time_s=wall_time_s,
            seed=seed if isinstance(seed, int) else None,
            error=error_line(err),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("callback_fields")
        data = {k: v for k, v in data.items() if v is not None or k not in ("diverged_at_step", "error")}
        return {**data, **{k: v for k, v in extra.items() if k not in BUILTIN_FIELDS}}


#: Names of the built-in summary fields; callbacks cannot replace them.
BUILTIN_FIELDS = frozenset(f.name for f in fields(RunSummary)) - {"callback_fields"}


def _number(value: Any) -> float | None:
    number = float(value.item() if isinstance(value, Tensor) else value)
    return number if math.isfinite(number) else None


def collect_metrics(logged: Mapping[str, Any]) -> dict[str, float]:
    """Logged values (tensors or numbers) as plain floats keyed by their full name, sorted."""
    return {name: _number(value) for name, value in sorted(logged.items())}  # type: ignore[misc]


def write_summary(summary: RunSummary, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary.to_json(), indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def error_line(err: BaseException) -> str:
    """A summary's ``error``: the exception's first line, ``interrupted`` for Ctrl-C."""
    if isinstance(err, (KeyboardInterrupt, SystemExit)):  # Lightning turns Ctrl-C into SystemExit(1)
        return "interrupted"
    return f"{type(err).__name__}: {err}".splitlines()[0]


def read_summary(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def format_results_table(summary: Mapping[str, Any], split: str = "test") -> str:
    """Per-task table of a summary's ``<split>/<task>/*`` metrics, one row per task."""
    metrics: Mapping[str, float | None] = summary["metrics"]
    rows = []
    columns: list[str] = []
    parsed = {name: parse_task_metric(name) for name in metrics}
    for task, info in summary["tasks"].items():
        values = {
            p.metric: metrics[name] for name, p in parsed.items() if p and p.split == split and p.task == task
        }
        for name in values:
            if name not in columns:
                columns.append(name)
        rows.append((task, str(info["kind"]), values, summary.get("weights", {}).get(task)))
    columns.sort(key=lambda c: (c != "loss", c))
    header = ["task", "kind", *columns, "weight"]
    table = [header]
    for task, kind, values, weight in rows:
        cells = [f"{values[c]:.4f}" if values.get(c) is not None else "-" for c in columns]
        table.append([task, kind, *cells, f"{weight:.4f}" if weight is not None else "-"])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines)
