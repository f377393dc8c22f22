"""Feature preprocessing of ``data=table``, fitted on the train split only, and the model inputs it makes.

- numeric columns: standardised, (x - mean) / std with the train rows' mean and (population) standard
  deviation; a standard deviation of 0 counts as 1. A missing value is filled with the train mean (0
  after standardisation). Input ``numeric``: float32 [n, number of numeric columns].
- categorical columns: a vocabulary per column, the distinct train values as text, sorted; id = position
  + 1, and id 0 is the unknown slot for values never seen in train and for missing values. Input
  ``categorical``: int64 [n, number of categorical columns], ``cardinalities`` = vocabulary size + 1.

One preprocessing can be fitted over the train rows of several tables (:meth:`FeaturePreprocessing.fit`
takes a list), so that they all map a value to the same number or id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from mtl_lab.batch import InputSpec
from mtl_lab.data.table.config import FeatureColumns
from mtl_lab.errors import ConfigError, DataError


@dataclass(frozen=True)
class FeatureRows:
    """Some rows of one file's feature columns (numeric float64 with NaN where missing, categorical text
    with nulls), taken column by column when asked, so a split is never copied whole."""

    numeric_columns: Mapping[str, np.ndarray]
    categorical_columns: Mapping[str, pa.ChunkedArray]
    rows: np.ndarray | None  # 0-based rows of the file; None: all
    n_rows: int
    where: str  # the file, for errors

    def numeric(self, column: str) -> np.ndarray:
        values = self.numeric_columns[column]
        return values if self.rows is None else values[self.rows]

    def categorical(self, column: str) -> pa.ChunkedArray:
        values = self.categorical_columns[column]
        return values if self.rows is None else values.take(pa.array(self.rows))


@dataclass(frozen=True)
class FeaturePreprocessing:
    """Fitted numeric statistics and category vocabularies, in the order of the configured columns."""

    columns: FeatureColumns
    means: tuple[float, ...]
    stds: tuple[float, ...]
    vocabularies: tuple[tuple[str, ...], ...]

    @classmethod
    def fit(cls, columns: FeatureColumns, tables: Sequence[FeatureRows]) -> FeaturePreprocessing:
        """Fit over the train rows of every table in ``tables`` together."""
        means, stds = [], []
        for column in columns.numeric:
            parts = [t.numeric(column) for t in tables]
            values = parts[0] if len(parts) == 1 else np.concatenate(parts)
            present = values[~np.isnan(values)]
            if present.size == 0:
                files = ", ".join(t.where for t in tables)
                raise DataError(f"feature {column!r} ({files}): no value in the train split")
            std = float(present.std())
            means.append(float(present.mean()))
            stds.append(std if std > 0 and np.isfinite(std) else 1.0)
        vocabularies = []
        for column in columns.categorical:
            seen: set[str] = set()
            for table in tables:
                seen.update(pc.drop_null(pc.unique(table.categorical(column))).to_pylist())
            vocabularies.append(tuple(sorted(seen)))
        return cls(columns, tuple(means), tuple(stds), tuple(vocabularies))

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        specs = {}
        if self.columns.numeric:
            specs["numeric"] = InputSpec((len(self.columns.numeric),))
        if self.columns.categorical:
            cardinalities = tuple(len(v) + 1 for v in self.vocabularies)
            specs["categorical"] = InputSpec((len(cardinalities),), torch.long, cardinalities=cardinalities)
        return specs

    def encode(self, features: FeatureRows) -> dict[str, Tensor]:
        """The model inputs of the rows of ``features`` (one split), column by column into preallocated
        tensors."""
        inputs, n_rows = {}, features.n_rows
        if self.columns.numeric:
            out = torch.empty(n_rows, len(self.columns.numeric), dtype=torch.float32)
            for j, column in enumerate(self.columns.numeric):
                standard = (features.numeric(column) - self.means[j]) / self.stds[j]
                out[:, j] = torch.from_numpy(np.nan_to_num(standard, nan=0.0).astype(np.float32))
            inputs["numeric"] = out
        if self.columns.categorical:
            out = torch.empty(n_rows, len(self.columns.categorical), dtype=torch.int64)
            for j, column in enumerate(self.columns.categorical):
                known = pa.array(self.vocabularies[j], pa.string())
                codes = pc.fill_null(pc.index_in(features.categorical(column), value_set=known), -1)
                out[:, j] = torch.from_numpy(np.asarray(codes.to_numpy(zero_copy_only=False), np.int64) + 1)
            inputs["categorical"] = out
        return inputs

    def to_state(self) -> dict[str, Any]:
        return {
            "numeric": [
                {"column": c, "mean": m, "std": s}
                for c, m, s in zip(self.columns.numeric, self.means, self.stds, strict=True)
            ],
            "categorical": [
                {"column": c, "vocabulary": list(v)}
                for c, v in zip(self.columns.categorical, self.vocabularies, strict=True)
            ],
        }

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], columns: FeatureColumns, where: str
    ) -> FeaturePreprocessing:
        """The preprocessing saved by :meth:`to_state`; its columns must be the configured ones."""
        try:
            numeric = [(str(e["column"]), float(e["mean"]), float(e["std"])) for e in state["numeric"]]
            categorical = [
                (str(e["column"]), tuple(str(v) for v in e["vocabulary"])) for e in state["categorical"]
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{where}: features: not a saved table preprocessing ({err!r})") from None
        saved = FeatureColumns(tuple(c for c, _, _ in numeric), tuple(c for c, _ in categorical))
        if saved != columns:
            raise ConfigError(
                f"{where}: the saved features {saved.describe()} are not data.features {columns.describe()}"
            )
        return cls(
            columns,
            tuple(m for _, m, _ in numeric),
            tuple(s for _, _, s in numeric),
            tuple(v for _, v in categorical),
        )
