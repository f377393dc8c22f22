"""data=table preprocessing: fitted on the train split only (standardisation, vocabularies with the
unknown slot 0, sorted class lists), missing features filled or refused, labels parsed per kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from table_files import write_table, write_text

from mtl_lab.data.table import TableDataModule
from mtl_lab.errors import DataError

FOLDS = ["train", "train", "train", "train", "val", "test"]


def build(path: Path, numeric=(), categorical=(), tasks=None, **kwargs) -> TableDataModule:
    dm = TableDataModule(
        path=str(path),
        features={"numeric": list(numeric), "categorical": list(categorical)},
        tasks=tasks or {"y": {"kind": "regression"}},
        split_column="fold",
        **kwargs,
    )
    dm.setup()
    return dm


def test_numeric_columns_are_standardised_with_train_statistics_only(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "t.csv",
        {
            "x": [
                1.0,
                2.0,
                3.0,
                None,
                1000.0,
                -50.0,
            ],  # val/test values far off: they must not move the stats
            "flat": [5, 5, 5, 5, 7, 3],  # constant in train: std 0 counts as 1
            "y": [1, 2, 3, 4, 5, 6],
            "fold": FOLDS,
        },
    )
    dm = build(path, numeric=["x", "flat"])
    mean, std = 2.0, float(torch.tensor([1.0, 2.0, 3.0]).std(unbiased=False))
    assert dm.preprocessing_state()["features"]["numeric"] == [
        {"column": "x", "mean": mean, "std": pytest.approx(std)},
        {"column": "flat", "mean": 5.0, "std": 1.0},
    ]
    train = dm.split("train").inputs["numeric"]
    # the missing x of train row 4 is filled with the train mean: 0 after standardisation
    assert train[:, 0].tolist() == pytest.approx([-1 / std, 0.0, 1 / std, 0.0], rel=1e-6)
    assert train[:, 1].tolist() == [0.0] * 4
    assert dm.split("val").inputs["numeric"].tolist() == [pytest.approx([(1000 - mean) / std, 2.0])]
    assert dm.split("test").inputs["numeric"].tolist() == [pytest.approx([(-50 - mean) / std, -2.0])]
    assert dm.input_specs["numeric"].shape == (2,) and "categorical" not in dm.input_specs


def test_categorical_vocabulary_is_the_sorted_train_values_and_id_0_is_unseen_or_missing(
    tmp_path: Path,
) -> None:
    path = write_table(
        tmp_path / "t.parquet",
        {
            "colour": ["red", "blue", None, "red", "green", "blue"],  # green only in val: unknown
            "size": [3, 1, 2, 2, 1, None],  # integers become text ids
            "y": [1, 2, 3, 4, 5, 6],
            "fold": FOLDS,
        },
    )
    dm = build(path, categorical=["colour", "size"])
    assert dm.preprocessing_state()["features"]["categorical"] == [
        {"column": "colour", "vocabulary": ["blue", "red"]},
        {"column": "size", "vocabulary": ["1", "2", "3"]},
    ]
    spec = dm.input_specs["categorical"]
    assert spec.dtype == torch.int64 and spec.shape == (2,) and spec.cardinalities == (3, 4)
    assert dm.split("train").inputs["categorical"].tolist() == [[2, 3], [1, 1], [0, 2], [2, 2]]
    assert dm.split("val").inputs["categorical"].tolist() == [[0, 1]]
    assert dm.split("test").inputs["categorical"].tolist() == [[1, 0]]


def test_missing_features_error_names_file_column_and_row(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.csv", "x,c,y,fold", ["1,a,1,train", "2,,2,train", "3,b,3,val", "4,a,4,test"]
    )
    build(path, numeric=["x"], categorical=["c"])  # fill (the default) accepts it
    with pytest.raises(
        DataError,
        match=rf"^data.missing_features=error: {path}, column 'c', row 2: missing value \(data.missing_features=fill fills",
    ):
        build(path, numeric=["x"], categorical=["c"], missing_features="error")


def test_class_labels_are_sorted_text_or_numbers_and_recorded_as_class_names(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "t.csv",
        {
            "x": [1, 2, 3, 4, 5, 6],
            "word": ["pear", "apple", "fig", "apple", "fig", "pear"],
            "number": [10, 9, 100, None, 9, 100],  # sorted numerically: 9, 10, 100
            "fold": FOLDS,
        },
    )
    tasks = {"word": {"kind": "classification"}, "number": {"kind": "classification"}}
    dm = build(path, numeric=["x"], tasks=tasks)
    assert dm.tasks["word"].class_names == ("apple", "fig", "pear") and dm.tasks["word"].num_outputs == 3
    assert dm.tasks["number"].class_names == ("9", "10", "100")
    train = dm.split("train")
    assert train.targets["word"].tolist() == [2, 0, 1, 0]
    assert train.targets["number"].tolist() == [1, 0, 2, 0] and train.masks["number"].tolist() == [
        True
    ] * 3 + [False]
    assert dm.preprocessing_state()["tasks"]["number"] == {
        "column": "number",
        "kind": "classification",
        "classes": [9, 10, 100],
    }


def test_binary_labels_accept_booleans_numbers_and_true_false_text_in_any_case(tmp_path: Path) -> None:
    rows = [
        "1,True,1,1.0,train",
        "2,FALSE,0,0.0,train",
        "3,,,,train",
        "4,1,1,,train",
        "5,0,0,1.0,val",
        "6,tRuE,1,0.0,test",
    ]
    path = write_text(tmp_path / "t.csv", "x,text,number,real,fold", rows)
    tasks = {name: {"kind": "binary"} for name in ("text", "number", "real")}
    dm = build(path, numeric=["x"], tasks=tasks)
    train = dm.split("train")
    for task in tasks:
        assert train.targets[task].dtype == torch.float32
    assert train.targets["text"].tolist() == [1.0, 0.0, 0.0, 1.0] and train.masks["text"].tolist() == [
        True,
        True,
        False,
        True,
    ]
    assert train.targets["number"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert train.masks["real"].tolist() == [True, True, False, False]
    assert dm.split("test").targets["text"].tolist() == [1.0]
    boolean = write_table(
        tmp_path / "b.parquet",
        {"x": [1, 2, 3, 4], "flag": [True, None, False, True], "fold": ["train", "train", "val", "test"]},
    )
    flags = build(boolean, numeric=["x"], tasks={"flag": {"kind": "binary"}}).split("train")
    assert flags.targets["flag"].tolist() == [1.0, 0.0] and flags.masks["flag"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            ["1", "yes", "0", "1"],
            r"binary label 'yes' at row 2 is not 0 or 1; accepted: 0, 1, true, false \(any case\)",
        ),
        (["1", "0", "2", "1"], r"binary label 2 at row 3 is not 0 or 1"),
    ],
)
def test_a_binary_label_that_is_not_0_or_1_names_task_column_row_and_value(
    tmp_path: Path, cells, message
) -> None:
    path = write_text(
        tmp_path / "t.csv",
        "x,flag,fold",
        [f"{i},{c},{f}" for i, (c, f) in enumerate(zip(cells, FOLDS[2:], strict=True))],
    )
    with pytest.raises(DataError, match=rf"^task 'churn' \({path}, column 'flag'\): {message}"):
        build(path, numeric=["x"], tasks={"churn": {"column": "flag", "kind": "binary"}})


def test_a_regression_label_that_is_not_a_number_or_not_finite_names_the_row(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "x,y,fold", ["1,2.5,train", "2,,train", "3,n/a,val", "4,1,test"])
    with pytest.raises(
        DataError, match=rf"^task 'y' \({path}, column 'y'\): value 'n/a' at row 3 is not a number$"
    ):
        build(path, numeric=["x"])
    write_text(path, "x,y,fold", ["1,2.5,train", "2,inf,train", "3,1,val", "4,1,test"])
    with pytest.raises(
        DataError, match=rf"^task 'y' \({path}, column 'y'\): regression label inf at row 2 is not finite$"
    ):
        build(path, numeric=["x"])


def test_a_val_class_never_seen_in_train_names_task_column_split_row_value_and_train_classes(
    tmp_path: Path,
) -> None:
    path = write_text(
        tmp_path / "t.csv", "x,kind,fold", ["1,a,train", "2,b,train", "3,a,val", "4,c,val", "5,b,test"]
    )
    with pytest.raises(
        DataError,
        match=rf"^task 'kind' \({path}, column 'kind'\), split 'val': class 'c' at row 4 is not a class of the train split; train classes: 'a', 'b'$",
    ):
        build(path, numeric=["x"], tasks={"kind": {"kind": "classification"}})


def test_a_classification_task_needs_two_train_classes(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "x,kind,fold", ["1,a,train", "2,a,train", "3,a,val", "4,a,test"])
    with pytest.raises(
        DataError,
        match=rf"^task 'kind' \({path}, column 'kind'\), split 'train': one class \('a'\); a classification task needs at least 2$",
    ):
        build(path, numeric=["x"], tasks={"kind": {"kind": "classification"}})
