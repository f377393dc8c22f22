"""How callbacks add fields to ``summary.json``: implement ``summary_fields()``.

:func:`collect_summary_fields` asks every callback of the trainer that has the method for its fields
at the end of the run (completed, diverged or failed) and merges them; a name that is a built-in
summary field or that an earlier callback already gave is skipped with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from mtl_lab.summary import BUILTIN_FIELDS


@runtime_checkable
class SummaryContributor(Protocol):
    def summary_fields(self) -> dict[str, Any]:
        """Top-level ``summary.json`` fields (JSON-serialisable values); called on every rank."""
        ...


def collect_summary_fields(callbacks: Iterable[object]) -> dict[str, Any]:
    collected: dict[str, Any] = {}
    for callback in callbacks:
        if not isinstance(callback, SummaryContributor):
            continue
        for name, value in callback.summary_fields().items():
            if name in BUILTIN_FIELDS or name in collected:
                warnings.warn(
                    f"{type(callback).__name__}.summary_fields: field {name!r} is already in the summary; "
                    "skipped",
                    stacklevel=2,
                )
                continue
            collected[name] = value
    return collected
