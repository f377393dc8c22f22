from __future__ import annotations

import pytest
from plugins import PartialLabels

from mtl_lab.data import DATAMODULES
from mtl_lab.errors import ConfigError, DataError

SMALL = {
    "multi_digits": {"train_size": 64, "val_size": 32, "test_size": 32},
    "gradnorm_toy": {"train_size": 64, "val_size": 32, "test_size": 32},
}


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_every_datamodule_serves_the_batch_contract(name: str) -> None:
    dm = DATAMODULES.build({"name": name, "batch_size": 16, **SMALL[name]})
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"inputs", "targets"}
    assert batch["inputs"].shape == (16, *dm.input_shape)
    assert set(batch["targets"]) == set(dm.tasks)
    for task, spec in dm.tasks.items():
        target = batch["targets"][task]
        assert target.shape[0] == 16
        spec.validate_targets(target, "batch")
    assert len(dm.val_dataloader().dataset) == 32 and len(dm.test_dataloader().dataset) == 32


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_task_selection_keeps_only_the_selected_targets(name: str) -> None:
    first = next(iter(DATAMODULES.build({"name": name, **SMALL[name]}).tasks))
    dm = DATAMODULES.build({"name": name, **SMALL[name]}, tasks=[first])
    assert list(dm.tasks) == [first]
    assert list(dm.split("train").targets) == [first]


def test_selecting_a_task_the_data_lacks_names_choices_and_closest() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^tasks: unknown task for data 'multi_digits' 'rigth'; choices: left, right, sum; did you mean 'right'\?$",
    ):
        DATAMODULES.build({"name": "multi_digits"}, tasks=["left", "rigth"])
    with pytest.raises(ConfigError, match="empty selection"):
        DATAMODULES.build({"name": "multi_digits"}, tasks=[])
    with pytest.raises(ConfigError, match="duplicate task"):
        DATAMODULES.build({"name": "multi_digits"}, tasks=["left", "left"])


def test_masks_travel_with_the_batch() -> None:
    dm = PartialLabels(batch_size=10)
    batch = next(iter(dm.val_dataloader()))
    assert set(batch["masks"]) == {"b"}
    assert batch["masks"]["b"].tolist() == [i % 2 == 0 for i in range(10)]


def test_label_outside_classes_fails_at_setup_naming_task_split_and_value() -> None:
    dm = PartialLabels(bad_label=7)
    with pytest.raises(
        DataError, match=r"task 'a' \(data 'partial', split 'val'\): label 7 outside the task's classes 0..2"
    ):
        dm.setup("fit")
