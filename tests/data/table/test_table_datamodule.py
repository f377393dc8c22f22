"""TableDataModule: missing labels as masks, configuration errors, the saved preprocessing and loading
it back, and one feature preprocessing shared by several tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from table_files import FEATURES, TASKS, customers, table_kwargs, write_table

from mtl_lab.data import DATAMODULES
from mtl_lab.data.table import TableDataModule
from mtl_lab.errors import ConfigError


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_table(tmp_path / "t.csv", customers())


def test_a_missing_label_masks_its_task_only_and_every_batch_has_every_mask(path: Path) -> None:
    dm = TableDataModule(**table_kwargs(path, batch_size=8))
    data = customers()
    train_rows = [i for i, fold in enumerate(data["fold"]) if fold == "train"]
    train = dm.split("train")
    assert len(train) == 32  # rows with missing labels stay
    for task, column in (("churn", "churned"), ("segment", "segment"), ("spend", "spend")):
        assert train.masks[task].tolist() == [data[column][i] is not None for i in train_rows]
    assert train.targets["spend"].shape == (32, 1) and train.targets["churn"].shape == (32,)
    assert train.targets["spend"][~train.masks["spend"]].eq(0).all()
    for batch in dm.train_dataloader():
        assert set(batch.masks) == set(batch.targets) == {"churn", "segment", "spend"}
    expected = {
        split: {
            t: sum(data[c["column"]][i] is not None for i, f in enumerate(data["fold"]) if f == split)
            for t, c in TASKS.items()
        }
        for split in ("train", "val", "test")
    }
    assert (
        dm.labelled_counts()
        == expected
        == {
            "train": {"churn": 24, "segment": 27, "spend": 24},
            "val": {"churn": 4, "segment": 4, "spend": 2},
            "test": {"churn": 4, "segment": 3, "spend": 4},
        }
    )


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"features": {}},
            ConfigError,
            r"^data.features: no features given; name the input columns, e.g. data.features=",
        ),
        (
            {"features": {"numerical": ["age"]}},
            ConfigError,
            r"^data.features: unknown feature kind 'numerical'; choices: categorical, numeric; did you mean 'numeric'\?$",
        ),
        (
            {"features": {"numeric": ["age", "age"]}},
            ConfigError,
            r"^data.features: column 'age' is listed twice$",
        ),
        ({"tasks": {}}, ConfigError, r"^data.tasks: no tasks given"),
        (
            {"tasks": {"t": {"column": "spend", "kind": "regresion"}}},
            ConfigError,
            r"^data.tasks.t.kind: unknown task kind for a table column 'regresion'; choices: binary, classification, regression; did you mean 'regression'\?$",
        ),
        (
            {"tasks": {"t": {"column": "spend", "kind": "multilabel"}}},
            ConfigError,
            r"^data.tasks.t.kind: unknown task kind for a table column 'multilabel'; choices: binary, classification, regression$",
        ),
        (
            {"tasks": {"t": {"column": "spend"}}},
            ConfigError,
            r"^data.tasks.t.kind: missing; choices: binary, classification, regression$",
        ),
        (
            {"tasks": {"t": {"colum": "spend", "kind": "regression"}}},
            ConfigError,
            r"^data.tasks.t: unknown key 'colum'; choices: column, kind, loss; did you mean 'column'\?$",
        ),
        (
            {"tasks": {"t": {"column": "spend", "kind": "regression", "loss": "huber"}}},
            ConfigError,
            r"^data.tasks.t.loss: unknown loss 'huber'; choices: l1, mse$",
        ),
        (
            {"tasks": {"t": {"column": "age", "kind": "regression"}}},
            ConfigError,
            r"^data.tasks.t.column: 'age' is also a feature \(data.features\); a label cannot be an input$",
        ),
        (
            {"missing_features": "drop"},
            ConfigError,
            r"^data.missing_features: unknown choice 'drop'; choices: error, fill$",
        ),
        (
            {"split_column": "age"},
            ConfigError,
            r"^data.split_column: 'age' is also a feature or label column$",
        ),
    ],
)
def test_configuration_mistakes_are_one_line_errors(path: Path, change, error, message) -> None:
    with pytest.raises(error, match=message):
        TableDataModule(**table_kwargs(path, **change))


def test_the_loss_of_a_task_and_the_column_defaulting_to_the_task_name(path: Path) -> None:
    dm = TableDataModule(**table_kwargs(path, tasks={"spend": {"kind": "regression", "loss": "l1"}}))
    assert dm.tasks["spend"].loss == "l1" and dm.preprocessing_state()["tasks"] == {
        "spend": {"column": "spend", "kind": "regression"}
    }


def test_preprocessing_state_is_json_with_a_stable_order(path: Path) -> None:
    first = TableDataModule(**table_kwargs(path)).preprocessing_state()
    again = TableDataModule(**table_kwargs(path)).preprocessing_state()
    assert json.dumps(first) == json.dumps(again)
    assert list(first) == ["format", "features", "tasks"] and list(first["tasks"]) == [
        "churn",
        "segment",
        "spend",
    ]
    assert first["format"] == "mtl_lab.table/1"
    assert [e["column"] for e in first["features"]["numeric"]] == ["age", "income"]
    assert first["features"]["categorical"] == [
        {"column": "region", "vocabulary": ["east", "north", "south"]}
    ]
    assert first["tasks"]["segment"] == {
        "column": "segment",
        "kind": "classification",
        "classes": ["a", "b", "c"],
    }
    assert json.loads(json.dumps(first)) == first


def test_a_loaded_preprocessing_replaces_the_fitted_one_for_tasks_and_data(
    path: Path, tmp_path: Path
) -> None:
    original = TableDataModule(**table_kwargs(path))
    state = json.loads(json.dumps(original.preprocessing_state()))
    original.setup()
    # fewer train rows (every train 'b' of segment gone): refitting would give other statistics and classes
    data = customers()
    changed = {
        k: [v[i] for i in range(len(v)) if not (data["fold"][i] == "train" and i % 3 == 0)]
        for k, v in data.items()
    }
    other = write_table(tmp_path / "other.csv", changed)
    refitted = TableDataModule(**table_kwargs(other, use_tasks=["churn", "spend"]))
    assert refitted.preprocessing_state()["tasks"]["segment"]["classes"] == ["a", "c"]
    assert refitted.preprocessing_state()["features"] != state["features"]
    loaded = TableDataModule(**table_kwargs(other, use_tasks=["segment", "spend"]))
    loaded.load_preprocessing_state(state)
    assert loaded.preprocessing_state() == state
    assert list(loaded.tasks) == ["segment", "spend"] and loaded.tasks["segment"].class_names == (
        "a",
        "b",
        "c",
    )
    assert loaded.input_specs == original.input_specs
    for split in ("val", "test"):  # the same val/test rows, encoded as in the original
        assert (
            loaded.split(split).inputs["numeric"].tolist() == original.split(split).inputs["numeric"].tolist()
        )
        assert (
            loaded.split(split).targets["segment"].tolist()
            == original.split(split).targets["segment"].tolist()
        )
        assert (
            1 in original.split(split).targets["segment"].tolist()
        )  # class 'b', unseen in the new train rows
        assert (
            refitted.split(split).inputs["numeric"].tolist()
            != original.split(split).inputs["numeric"].tolist()
        )


def test_loading_a_preprocessing_of_other_features_or_tasks_is_refused(path: Path) -> None:
    state = TableDataModule(**table_kwargs(path)).preprocessing_state()
    fewer = TableDataModule(**table_kwargs(path, features={"numeric": ["age"], "categorical": ["region"]}))
    with pytest.raises(
        ConfigError,
        match=r"^preprocessing.json: the saved features \{'numeric': \['age', 'income'\], 'categorical': \['region'\]\} are not data.features \{'numeric': \['age'\], 'categorical': \['region'\]\}$",
    ):
        fewer.load_preprocessing_state(state)
    renamed = TableDataModule(**table_kwargs(path, tasks={"churn2": {"column": "churned", "kind": "binary"}}))
    with pytest.raises(
        ConfigError,
        match=r"^preprocessing.json: task 'churn2' \(column 'churned', binary\) is not in the saved preprocessing; saved tasks: churn, segment, spend$",
    ):
        renamed.load_preprocessing_state(state)
    with pytest.raises(
        ConfigError, match=r"^preprocessing.json: not a data=table preprocessing \(format None\)$"
    ):
        renamed.load_preprocessing_state({"vocabulary": []})


def test_shared_feature_preprocessing_is_fitted_on_all_tables_train_rows(tmp_path: Path) -> None:
    a = {
        "x": [0.0, 2.0, 100.0, 100.0],
        "c": ["red", "red", "blue", "blue"],
        "y": [1, 2, 3, 4],
        "fold": ["train", "train", "val", "test"],
    }
    b = {
        "x": [4.0, 6.0, 0.0, 0.0],
        "c": ["green", "blue", "red", "pink"],
        "z": [0, 1, 1, 0],
        "fold": ["train", "train", "val", "test"],
    }
    features = {"numeric": ["x"], "categorical": ["c"]}
    first = TableDataModule(
        path=str(write_table(tmp_path / "a.csv", a)),
        features=features,
        tasks={"y": {"kind": "regression"}},
        split_column="fold",
    )
    second = TableDataModule(
        path=str(write_table(tmp_path / "b.parquet", b)),
        features=features,
        tasks={"z": {"kind": "binary"}},
        split_column="fold",
    )
    TableDataModule.share_feature_preprocessing([first, second])
    assert first.input_specs == second.input_specs
    assert first.input_specs["categorical"].cardinalities == (4,)  # blue, green, red + unknown
    shared = first.preprocessing_state()["features"]
    assert shared == second.preprocessing_state()["features"]
    assert shared["numeric"] == [{"column": "x", "mean": 3.0, "std": pytest.approx(5**0.5)}]
    assert shared["categorical"] == [{"column": "c", "vocabulary": ["blue", "green", "red"]}]
    # the same value gets the same id in both: red is 3 in a's train and b's val; pink (unseen) is 0
    assert first.split("train").inputs["categorical"][:, 0].tolist() == [3, 3]
    assert second.split("val").inputs["categorical"].tolist() == [[3]] and second.split("test").inputs[
        "categorical"
    ].tolist() == [[0]]
    assert second.split("val").inputs["numeric"].tolist() == [[pytest.approx(-3 / 5**0.5)]]


def test_sharing_needs_the_same_features_and_names_both_files(tmp_path: Path) -> None:
    a = write_table(tmp_path / "a.csv", customers())
    b = write_table(tmp_path / "b.csv", customers())
    first = TableDataModule(**table_kwargs(a))
    second = TableDataModule(**table_kwargs(b, features={"numeric": ["age"]}))
    with pytest.raises(
        ConfigError,
        match=rf"^data: tables sharing one feature preprocessing need the same features; {a} has \{{'numeric': \['age', 'income'\], 'categorical': \['region'\]\}}, {b} has \{{'numeric': \['age'\], 'categorical': \[\]\}}$",
    ):
        TableDataModule.share_feature_preprocessing([first, second])


def test_the_registered_builder_takes_the_yaml_keys_and_checks_their_types(path: Path) -> None:
    dm = DATAMODULES.build({"name": "table", **table_kwargs(path), "batch_size": 4}, use_tasks=["churn"])
    assert isinstance(dm, TableDataModule) and list(dm.tasks) == ["churn"] and dm.batch_size == 4
    assert dm.eval_batch_size == 1024
    with pytest.raises(
        ConfigError, match=r"^data.table.tasks: expected Mapping or None, got \['churn'\] \(list\)$"
    ):
        DATAMODULES.build({"name": "table", "path": str(path), "features": FEATURES, "tasks": ["churn"]})
    batch = next(iter(dm.train_dataloader()))
    assert batch.inputs["numeric"].dtype == torch.float32 and batch.inputs["categorical"].dtype == torch.int64
