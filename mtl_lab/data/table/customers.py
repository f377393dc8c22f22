"""A deterministic synthetic customer table (the data of ``data=table_demo``), written as Parquet.

Each customer has observed features, age, income, tenure_months, monthly_spend (dollars),
support_calls, region, plan and channel, and two unobserved traits (satisfaction, price sensitivity).
The labels follow from features and traits plus noise, so they are learnable but not exactly:

- ``churned`` (binary): logistic in support calls, tenure, plan, channel and (low) satisfaction;
- ``segment`` (classes bargain/family/professional/vip): the best of four scores over income, age,
  plan and channel, with Gumbel noise (a multinomial logit);
- ``spend_next_month`` (regression, hundreds of dollars): this month's spend, mostly lost on churn,
  scaled by satisfaction, plus noise.

About ``label_missing`` of each label column is missing (independently per column) and a few feature
values are missing (age 2%, income 3%, region and channel 1%). Everything comes from one NumPy PCG64
generator seeded with ``seed``: the same seed and rows give the same bytes (with the same pyarrow).
The parameters are recorded in the file's schema metadata (:mod:`mtl_lab.data.table.generated`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from mtl_lab.data.table.generated import generator_parameters, write_generated

GENERATOR = "table_demo"
VERSION = 1
REGIONS = ("north", "south", "east", "west", "central")
PLANS = ("basic", "standard", "premium")
CHANNELS = ("web", "store", "phone", "partner")
SEGMENTS = ("bargain", "family", "professional", "vip")


def _choice(rng: np.random.Generator, values: tuple[str, ...], p: list[float], n: int) -> np.ndarray:
    return rng.choice(len(values), size=n, p=p)


def customer_columns(rows: int, seed: int, label_missing: float = 0.3) -> dict[str, pa.Array]:
    """The table's columns (see the module docstring)."""
    rng = np.random.default_rng(seed)
    region = _choice(rng, REGIONS, [0.25, 0.2, 0.2, 0.2, 0.15], rows)
    plan = _choice(rng, PLANS, [0.5, 0.35, 0.15], rows)
    channel = _choice(rng, CHANNELS, [0.45, 0.25, 0.2, 0.1], rows)
    satisfaction, price_sensitivity = rng.normal(size=(2, rows))
    age = np.clip(rng.normal(42, 13, rows), 18, 85).round()
    income = np.exp(
        np.log(52_000)
        + 0.012 * (age - 42)
        + 0.25 * plan
        - 0.2 * price_sensitivity
        + rng.normal(0, 0.35, rows)
    ).round(-2)
    tenure = np.clip(rng.gamma(2.0, 14.0, rows) * np.exp(0.3 * satisfaction), 0, (age - 17) * 12).round()
    monthly_spend = (25 + 30 * plan + 0.0004 * income - 6 * price_sensitivity + rng.normal(0, 6, rows)).clip(
        5
    )
    calls_rate = np.exp(0.2 + 0.5 * (plan == 0) + 0.4 * (channel == 2) - 0.6 * satisfaction - 0.008 * tenure)
    support_calls = rng.poisson(calls_rate)
    region_effect = np.array([0.0, 0.3, -0.2, 0.1, -0.3])[region]
    churn_logit = (
        -1.2
        + 0.55 * support_calls
        - 0.03 * tenure
        + 0.7 * (plan == 0)
        - 0.6 * (plan == 2)
        + 0.5 * (channel == 0)
        + region_effect
        - 0.8 * satisfaction
        + 0.5 * price_sensitivity
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-churn_logit))
    z_income = (np.log(income) - np.log(52_000)) / 0.45
    scores = np.stack(
        [
            -1.5 * z_income + 1.0 * (plan == 0) + 0.8 * price_sensitivity,
            1.2 - ((age - 40) / 8) ** 2 / 2 + 0.8 * (channel == 1),
            0.8 * z_income + 0.8 * (channel == 0) - ((age - 33) / 10) ** 2 / 2,
            2.0 * z_income + 1.8 * (plan == 2) - 1.2,
        ],
        axis=1,
    ) + rng.gumbel(0, 0.6, (rows, len(SEGMENTS)))
    segment = scores.argmax(axis=1)
    kept = np.where(churned, 0.25, 1.0) * (1 + 0.08 * satisfaction)
    spend_next = (monthly_spend * kept + rng.normal(0, 6, rows)).clip(0) / 100

    def masked(fraction: float) -> np.ndarray:
        return rng.random(rows) < fraction

    def labels(strings: tuple[str, ...], codes: np.ndarray, fraction: float) -> pa.Array:
        indices = pa.array(codes.astype(np.int32), mask=masked(fraction))
        return pa.DictionaryArray.from_arrays(indices, pa.array(strings)).cast(pa.string())

    return {
        "customer_id": pa.array(np.arange(1, rows + 1)),
        "age": pa.array(age.astype(np.int64), mask=masked(0.02)),
        "income": pa.array(income, mask=masked(0.03)),
        "tenure_months": pa.array(tenure.astype(np.int64)),
        "monthly_spend": pa.array(monthly_spend.round(2)),
        "support_calls": pa.array(support_calls.astype(np.int64)),
        "region": labels(REGIONS, region, 0.01),
        "plan": labels(PLANS, plan, 0.0),
        "channel": labels(CHANNELS, channel, 0.01),
        "churned": pa.array(churned, mask=masked(label_missing)),
        "segment": labels(SEGMENTS, segment, label_missing),
        "spend_next_month": pa.array(spend_next.round(4), mask=masked(label_missing)),
    }


def write_customers(path: Path, rows: int, seed: int) -> Path:
    """Write the table to ``path`` (atomically) with its parameters recorded (:mod:`.generated`)."""
    parameters = generator_parameters(GENERATOR, VERSION, rows, seed)
    return write_generated(path, GENERATOR, customer_columns(rows, seed), parameters)
