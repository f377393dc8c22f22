"""Callbacks add top-level summary.json fields through summary_fields(); built-in fields stay theirs."""

from __future__ import annotations

from typing import Any

import pytest

from mtl_lab.callbacks import SummaryContributor, TaskAffinity, TrainThroughput, collect_summary_fields
from mtl_lab.summary import RunSummary


class Gives:
    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def summary_fields(self) -> dict[str, Any]:
        return self.fields


def test_fields_are_merged_at_the_top_level_after_the_built_in_ones() -> None:
    fields = collect_summary_fields([TrainThroughput(), Gives(a=1), Gives(b=[1, 2])])
    assert fields == {"a": 1, "b": [1, 2]}
    summary = RunSummary(status="completed", tasks={}, callback_fields=fields)
    data = summary.to_json()
    assert list(data)[-2:] == ["a", "b"] and "callback_fields" not in data


def test_a_field_that_exists_already_is_skipped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="field 'status' is already in the summary"):
        fields = collect_summary_fields([Gives(status="mine", a=1)])
    with pytest.warns(UserWarning, match="field 'a' is already in the summary"):
        fields = collect_summary_fields([Gives(a=1), Gives(a=2)])
    assert fields == {"a": 1}


def test_task_affinity_is_a_contributor_and_gives_nothing_before_it_saw_a_module() -> None:
    assert isinstance(TaskAffinity(), SummaryContributor) and not isinstance(
        TrainThroughput(), SummaryContributor
    )
    assert TaskAffinity().summary_fields() == {}
