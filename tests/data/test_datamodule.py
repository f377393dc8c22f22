"""Contract of every registered datamodule, built from the example it declares, and the in-memory base."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from plugins import PartialLabels

from mtl_lab.batch import Batch
from mtl_lab.data import DATAMODULES
from mtl_lab.errors import ConfigError, DataError


def build(name: str, workdir: Path, **extra: object):
    example = DATAMODULES.resolve(name).example(workdir)
    return DATAMODULES.build({"name": name, **example}, **extra)


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_every_datamodule_serves_the_batch_contract(name: str, tmp_path: Path) -> None:
    dm = build(name, tmp_path)
    dm.setup("fit")
    assert dm.tasks and dm.input_specs
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, Batch) and batch.size > 0
    assert set(batch.inputs) == set(dm.input_specs)
    # token sequences (data with a vocab_size input) are padded to the batch's longest: T <= max_length
    text = any(spec.vocab_size is not None for spec in dm.input_specs.values())
    for input_name, spec in dm.input_specs.items():
        value = batch.inputs[input_name]
        shape = tuple(value.shape[1:])
        assert value.shape[0] == batch.size and value.dtype == spec.dtype
        assert shape == spec.shape or (text and len(shape) == 1 and 0 < shape[0] <= spec.shape[0])
    assert set(batch.targets) <= set(dm.tasks)
    for task, target in batch.targets.items():
        mask = batch.labelled(task)
        assert target.shape[0] == batch.size
        assert mask is None or (mask.dtype == torch.bool and mask.shape == target.shape[: mask.dim()])
        dm.tasks[task].validate_targets(target, "batch", mask)
    counts = dm.labelled_counts()
    assert set(counts) == {"train", "val", "test"}
    assert all(counts[split][task] > 0 for split in counts for task in dm.tasks)
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        assert isinstance(next(iter(loader)), Batch)


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_task_selection_keeps_only_the_selected_targets(name: str, tmp_path: Path) -> None:
    first = next(iter(build(name, tmp_path).tasks))
    dm = build(name, tmp_path, use_tasks=[first])
    assert list(dm.tasks) == [first]
    dm.setup("fit")
    assert set(next(iter(dm.train_dataloader())).targets) == {first}
    assert set(dm.labelled_counts()["train"]) == {first}


def test_selecting_a_task_the_data_lacks_names_choices_and_closest() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^tasks: unknown task for data 'multi_digits' 'rigth'; choices: left, right, sum; did you mean 'right'\?$",
    ):
        DATAMODULES.build({"name": "multi_digits"}, use_tasks=["left", "rigth"])
    with pytest.raises(ConfigError, match="empty selection"):
        DATAMODULES.build({"name": "multi_digits"}, use_tasks=[])
    with pytest.raises(ConfigError, match="duplicate task"):
        DATAMODULES.build({"name": "multi_digits"}, use_tasks=["left", "left"])


def test_masks_travel_with_the_batch_and_counts_are_labelled_samples() -> None:
    dm = PartialLabels(batch_size=10)
    batch = next(iter(dm.val_dataloader()))
    assert set(batch.masks) == {"b"}
    assert batch.masks["b"].tolist() == [i % 2 == 0 for i in range(10)]
    assert dm.labelled_counts()["val"] == {"a": 10, "b": 5}


def test_label_outside_classes_fails_at_setup_naming_task_split_and_value() -> None:
    dm = PartialLabels(bad_label=7)
    with pytest.raises(
        DataError, match=r"task 'a' \(data 'partial', split 'val'\): label 7 outside the task's classes 0..2"
    ):
        dm.setup("fit")


def test_a_split_without_labels_of_a_task_or_without_rows_fails_at_setup() -> None:
    with pytest.raises(
        DataError, match=r"^task 'b' \(data 'partial', split 'train'\): no labelled sample in the split$"
    ):
        PartialLabels(unlabelled="b").setup("fit")
    with pytest.raises(DataError, match=r"^data 'partial': split 'test' is empty$"):
        PartialLabels(empty="test").setup("fit")
