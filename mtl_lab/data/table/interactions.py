"""A deterministic synthetic user x item interaction log (the data of ``data=recsys_synthetic``), as Parquet.

A fixed population of :data:`USERS` users and :data:`ITEMS` items is drawn first (the same for any number of
rows). Users have an age, an activity level (sessions a day), a main device, a click propensity, a rating
bias and a taste vector p_u in R^k, k = :data:`LATENT`, partly set by age: p_u = 0.8 age_z d + 0.6 n_u.
Items have a category, a price, a popularity and a vector q_i = 0.8 mu_c + 0.6 n_i around their category's
centroid mu_c (d, n, mu ~ N(0, I), all scaled by k^-1/4 so that the affinity a = p_u . q_i has about unit
variance). Each row is one impression: a user drawn in proportion to activity, an item in proportion to
exp(0.8 popularity), a device (the user's main one 80% of the time) and an hour (fewer at night). The
labels share the affinity a and differ in their other effects and noise:

- ``clicked`` (binary, every row): logistic in a, popularity, mobile, night hours, activity and the
  user's click propensity (about 30% of rows);
- ``converted`` (binary, only where clicked, missing elsewhere): logistic in a, price (negative),
  desktop and age (about 35-40% of clicks, 9-13% of rows);
- ``rating`` (1-5 stars, only where converted, missing elsewhere): 3.0 + 0.8 a - 0.25 price (standardised
  log price) + the user's rating bias + N(0, 0.6^2), rounded and clipped.

Observed columns: user_id, item_id (integers from 1), item_category, device (text), user_age,
user_activity, item_price, hour. The affinity, latent vectors, popularity and per-user effects are not
observed: age and category carry part of the affinity, the ids the rest. Everything comes from one NumPy
PCG64 generator seeded with ``seed``: the same seed and rows give the same bytes (with the same pyarrow);
the parameters are recorded in the file's schema metadata (:mod:`mtl_lab.data.table.generated`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from mtl_lab.data.table.generated import generator_parameters, write_generated

GENERATOR = "recsys_synthetic"
VERSION = 1
USERS, ITEMS, LATENT = 600, 300, 8
CATEGORIES = (
    "auto",
    "beauty",
    "books",
    "electronics",
    "fashion",
    "garden",
    "grocery",
    "home",
    "music",
    "sports",
    "toys",
    "video_games",
)
DEVICES = ("mobile", "desktop", "tablet")
#: how often an impression falls in each hour of the day (a daytime and an evening bump, quiet nights)
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 11, 11, 9, 6, 4], float)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _standardised(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def interaction_columns(rows: int, seed: int) -> dict[str, pa.Array]:
    """The table's columns (see the module docstring)."""
    rng = np.random.default_rng(seed)
    scale = LATENT**-0.25  # a = p . q sums k products of two coordinates of variance about k^-1/2
    # users
    age = np.clip(rng.normal(36, 12, USERS), 16, 80).round()
    activity = np.exp(rng.normal(0, 0.6, USERS))
    main_device = rng.choice(len(DEVICES), size=USERS, p=[0.6, 0.3, 0.1])
    age_direction = rng.normal(0, 1, LATENT)
    taste = scale * (0.8 * np.outer((age - 36) / 12, age_direction) + 0.6 * rng.normal(0, 1, (USERS, LATENT)))
    click_propensity, rating_bias = rng.normal(0, [[0.5], [0.4]], (2, USERS))
    # items
    category = rng.choice(len(CATEGORIES), size=ITEMS, p=rng.dirichlet(np.full(len(CATEGORIES), 4.0)))
    centroids = rng.normal(0, 1, (len(CATEGORIES), LATENT))
    item_vector = scale * (0.8 * centroids[category] + 0.6 * rng.normal(0, 1, (ITEMS, LATENT)))
    log_price = rng.uniform(np.log(5), np.log(200), len(CATEGORIES))[category] + rng.normal(0, 0.4, ITEMS)
    price = np.exp(log_price).round(2)
    popularity = rng.normal(0, 1, ITEMS)
    # impressions
    user = rng.choice(USERS, size=rows, p=activity / activity.sum())
    item = rng.choice(ITEMS, size=rows, p=np.exp(0.8 * popularity) / np.exp(0.8 * popularity).sum())
    device = np.where(rng.random(rows) < 0.8, main_device[user], rng.choice(len(DEVICES), size=rows))
    hour = rng.choice(24, size=rows, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    affinity = np.einsum("nk,nk->n", taste[user], item_vector[item])
    price_z = _standardised(log_price)[item]
    click_logit = (
        -2.0
        + 1.5 * affinity
        + 0.6 * popularity[item]
        + 0.3 * (device == 0)
        - 0.5 * (hour < 6)
        + 0.4 * np.log(activity[user])
        + click_propensity[user]
    )
    clicked = rng.random(rows) < _logistic(click_logit)
    convert_logit = -1.4 + 1.0 * affinity - 0.9 * price_z + 0.4 * (device == 1) + 0.015 * (age[user] - 36)
    converted = clicked & (rng.random(rows) < _logistic(convert_logit))
    stars = 3.0 + 0.8 * affinity - 0.25 * price_z + rating_bias[user] + rng.normal(0, 0.6, rows)
    rating = np.clip(stars.round(), 1, 5)
    return {
        "user_id": pa.array(user.astype(np.int64) + 1),
        "item_id": pa.array(item.astype(np.int64) + 1),
        "item_category": pa.array(np.asarray(CATEGORIES)[category[item]]),
        "device": pa.array(np.asarray(DEVICES)[device]),
        "user_age": pa.array(age[user].astype(np.int64)),
        "user_activity": pa.array(activity[user].round(3)),
        "item_price": pa.array(price[item]),
        "hour": pa.array(hour.astype(np.int64)),
        "clicked": pa.array(clicked),
        "converted": pa.array(converted, mask=~clicked),
        "rating": pa.array(rating, mask=~converted),
    }


def write_interactions(path: Path, rows: int, seed: int) -> Path:
    """Write the table to ``path`` (atomically) with its parameters recorded (:mod:`.generated`)."""
    parameters = generator_parameters(GENERATOR, VERSION, rows, seed)
    return write_generated(path, GENERATOR, interaction_columns(rows, seed), parameters)
