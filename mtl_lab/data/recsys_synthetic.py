"""``data=recsys_synthetic``: ``data=table`` on a synthetic recommender log it first writes to ``path``.

The table (:mod:`mtl_lab.data.table.interactions`: ``rows`` impressions of 600 users and 300 items,
deterministic from ``seed``) is written as Parquet to ``path`` (by default into the run directory), then
read like any user's table with the features and tasks of ``conf/data/recsys_synthetic.yaml``: binary
``click`` (every row), binary ``conversion`` (labelled only where clicked, the funnel of CTR/CVR models)
and regression ``rating`` (1-5 stars, labelled only where converted). The three tasks share a latent
user-item affinity and differ in their other effects, so they are related but not identical; about 30% of
the rows carry a conversion label and 11% a rating. An existing file is reused when it is this generator's
table with the same rows and seed (recorded in its Parquet metadata); any other existing file is refused,
never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtl_lab.data.datamodule import DATAMODULES
from mtl_lab.data.table import TableDataModule
from mtl_lab.data.table.generated import ensure_generated, generator_parameters
from mtl_lab.data.table.interactions import GENERATOR, VERSION, write_interactions
from mtl_lab.errors import ConfigError

RECSYS_FEATURES = {
    "numeric": ["user_age", "user_activity", "item_price", "hour"],
    "categorical": ["user_id", "item_id", "item_category", "device"],
}
RECSYS_TASKS = {
    "click": {"column": "clicked", "kind": "binary"},
    "conversion": {"column": "converted", "kind": "binary"},
    "rating": {"column": "rating", "kind": "regression"},
}


def ensure_interactions(path: Path, rows: int, seed: int) -> Path:
    """Write the interaction table at ``path``, or reuse the one there if it has the same parameters."""
    if rows < 10:
        raise ConfigError(f"data.rows: must be >= 10, got {rows}")
    parameters = generator_parameters(GENERATOR, VERSION, rows, seed)
    return ensure_generated(path, GENERATOR, parameters, lambda p: write_interactions(p, rows, seed))


@DATAMODULES.register("recsys_synthetic")
class RecsysSyntheticDataModule(TableDataModule):
    """``data=table`` on the synthetic interactions written to ``path`` (see the module docstring)."""

    name = "recsys_synthetic"

    def __init__(
        self,
        path: str = "interactions.parquet",
        rows: int = 20000,
        features: Mapping[str, Sequence[str] | None] | None = None,
        tasks: Mapping[str, Mapping[str, Any] | None] | None = None,
        seed: int | None = 0,
        **kwargs: Any,
    ) -> None:
        self.rows = rows
        ensure_interactions(Path(path), rows, 0 if seed is None else seed)
        super().__init__(
            path=path,
            features=RECSYS_FEATURES if features is None else features,
            tasks=RECSYS_TASKS if tasks is None else tasks,
            seed=seed,
            **kwargs,
        )

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"path": str(Path(workdir) / "interactions.parquet"), "rows": 1000, "batch_size": 64}
