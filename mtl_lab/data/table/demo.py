"""``data=table_demo``: ``data=table`` on a synthetic customer table it first writes to ``path``.

The table (:mod:`mtl_lab.data.table.customers`: ``rows`` customers, deterministic from ``seed``, about
30% of each label missing) is written as Parquet to ``path`` (by default into the run directory), then
read like any user's table with the features and tasks listed in ``conf/data/table_demo.yaml``: binary
``churn`` (column churned), classification ``segment`` and regression ``spend`` (spend_next_month, in
hundreds of dollars). An existing file is reused when it is this demo's table with the same parameters
(recorded in its Parquet metadata); any other existing file is refused, never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtl_lab.data.datamodule import DATAMODULES
from mtl_lab.data.table.customers import GENERATOR, VERSION, write_customers
from mtl_lab.data.table.datamodule import TableDataModule
from mtl_lab.data.table.generated import ensure_generated, generator_parameters
from mtl_lab.errors import ConfigError

DEMO_FEATURES = {
    "numeric": ["age", "income", "tenure_months", "monthly_spend", "support_calls"],
    "categorical": ["region", "plan", "channel"],
}
DEMO_TASKS = {
    "churn": {"column": "churned", "kind": "binary"},
    "segment": {"column": "segment", "kind": "classification"},
    "spend": {"column": "spend_next_month", "kind": "regression"},
}


def ensure_customers(path: Path, rows: int, seed: int) -> Path:
    """Write the demo table at ``path``, or reuse the one there if it has the same parameters."""
    if rows < 10:
        raise ConfigError(f"data.rows: must be >= 10, got {rows}")
    parameters = generator_parameters(GENERATOR, VERSION, rows, seed)
    return ensure_generated(path, GENERATOR, parameters, lambda p: write_customers(p, rows, seed))


@DATAMODULES.register("table_demo")
class TableDemoDataModule(TableDataModule):
    """``data=table`` on the synthetic customers written to ``path`` (see the module docstring)."""

    name = "table_demo"

    def __init__(
        self,
        path: str = "customers.parquet",
        rows: int = 20000,
        features: Mapping[str, Sequence[str] | None] | None = None,
        tasks: Mapping[str, Mapping[str, Any] | None] | None = None,
        seed: int | None = 0,
        **kwargs: Any,
    ) -> None:
        self.rows = rows
        ensure_customers(Path(path), rows, 0 if seed is None else seed)
        super().__init__(
            path=path,
            features=DEMO_FEATURES if features is None else features,
            tasks=DEMO_TASKS if tasks is None else tasks,
            seed=seed,
            **kwargs,
        )

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"path": str(Path(workdir) / "customers.parquet"), "rows": 400, "batch_size": 32}
