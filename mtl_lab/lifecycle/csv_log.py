"""A resumed run's ``csv/metrics.csv`` continues the killed run's instead of starting over.

Lightning's CSV writer deletes an existing ``metrics.csv`` when it starts. :func:`continue_csv_logs`
(rank 0, before anything is logged) keeps the rows logged before the checkpoint's step (a row's
``step`` is the step it was logged at; the checkpoint of step S was written after every row of a step
below S) and drops the later ones, which the resumed run logs again, then starts the writer on the
kept rows: the resumed run appends to them.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterable
from pathlib import Path

from pytorch_lightning.loggers import CSVLogger, Logger


def continue_csv_logs(loggers: Iterable[Logger], step: int) -> None:
    """Keep each CSV logger's rows logged before ``step`` and make it append (see the module docstring)."""
    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        path = Path(logger.log_dir) / "metrics.csv"
        if not path.is_file():
            continue
        with path.open(newline="") as file:
            reader = csv.DictReader(file)
            keys = list(reader.fieldnames or [])
            rows = [row for row in reader if row.get("step") and int(float(row["step"])) < step]
        with warnings.catch_warnings():  # "previous log files ... will be deleted": not these
            warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
            writer = logger.experiment
        with path.open("w", newline="") as file:
            table = csv.DictWriter(file, fieldnames=keys)
            table.writeheader()
            table.writerows(rows)
        writer.metrics_keys = keys
