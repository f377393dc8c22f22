"""data=table reading: the four formats give the same data, only the needed columns are read, and
missing files, unknown extensions and missing columns fail in one line naming them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import torch
from table_files import customers, table_kwargs, write_table, write_text

from mtl_lab.data.table import TableDataModule
from mtl_lab.data.table import reader as reader_module
from mtl_lab.errors import ConfigError, DataError

NEEDED = ["age", "income", "region", "churned", "segment", "spend", "fold"]


def _tensors(dm: TableDataModule) -> dict[str, list]:
    dm.setup()
    out = {}
    for split in ("train", "val", "test"):
        s = dm.split(split)
        for name, tensor in {**s.inputs, **s.targets, **{f"mask/{t}": m for t, m in s.masks.items()}}.items():
            out[f"{split}/{name}"] = tensor.tolist()
    return out


@pytest.mark.parametrize("extension", [".tsv", ".parquet", ".jsonl"])
def test_every_format_gives_the_same_tensors_and_preprocessing_as_csv(tmp_path: Path, extension: str) -> None:
    csv = TableDataModule(**table_kwargs(write_table(tmp_path / "t.csv", customers())))
    other = TableDataModule(**table_kwargs(write_table(tmp_path / f"t{extension}", customers())))
    assert _tensors(other) == _tensors(csv)
    assert json.dumps(other.preprocessing_state()) == json.dumps(csv.preprocessing_state())
    assert other.tasks == csv.tasks and other.tasks["segment"].class_names == ("a", "b", "c")


def test_parquet_and_csv_read_only_the_needed_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, list[str]] = {}
    read_table, read_csv = pq.read_table, pa_csv.read_csv

    def spy_parquet(path, columns=None, **kw):
        seen["parquet"] = list(columns)
        return read_table(path, columns=columns, **kw)

    def spy_csv(path, convert_options=None, **kw):
        seen["csv"] = list(convert_options.include_columns)
        return read_csv(path, convert_options=convert_options, **kw)

    monkeypatch.setattr(reader_module.pq, "read_table", spy_parquet)
    monkeypatch.setattr(reader_module.pa_csv, "read_csv", spy_csv)
    for extension in (".parquet", ".csv"):
        TableDataModule(**table_kwargs(write_table(tmp_path / f"t{extension}", customers())))
    assert seen == {"parquet": NEEDED, "csv": NEEDED}  # never "unused"


def test_a_csv_value_far_down_that_breaks_the_column_type_is_read_or_named(tmp_path: Path) -> None:
    # `income` looks like integers for more than the first 1 MB block, until its last row
    n = 60000
    rows = [
        f"{i % 50},{i % 9},{['a', 'b'][i % 2]},{i % 2},{['train', 'val', 'test'][i % 3]}" for i in range(n)
    ]
    rows[n - 1] = "1,2.5,a,1,test"
    path = write_text(tmp_path / "big.csv", "age,income,region,flag,fold", rows)
    kwargs = {
        "path": str(path),
        "features": {"numeric": ["age", "income"], "categorical": ["region"]},
        "tasks": {"flag": {"kind": "binary"}},
        "split_column": "fold",
    }
    dm = TableDataModule(**kwargs)
    income = dm.preprocessing_state()["features"]["numeric"][1]
    assert income["column"] == "income"
    train_incomes = torch.tensor([float(i % 9) for i in range(0, n, 3)], dtype=torch.float64)
    assert income["mean"] == pytest.approx(float(train_incomes.mean()))
    dm.setup()
    test = dm.split("test").inputs["numeric"]
    assert test[-1, 1].item() == pytest.approx((2.5 - income["mean"]) / income["std"], rel=1e-6)
    rows[n - 1] = "1,abc,a,1,test"
    write_text(path, "age,income,region,flag,fold", rows)
    with pytest.raises(
        DataError, match=rf"^feature 'income' \({path}\): value 'abc' at row {n} is not a number$"
    ):
        TableDataModule(**kwargs).setup()


def test_csv_rows_that_do_not_fit_the_inferred_type_are_read_again_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow versions that infer a type from the first block fail later blocks with a conversion error
    calls: list[dict] = []
    read_csv = pa_csv.read_csv

    def first_call_fails(path, convert_options=None, **kw):
        calls.append(dict(convert_options.column_types))
        if len(calls) == 1:
            raise pa.ArrowInvalid(
                "In CSV column #1: Row #70000: CSV conversion error to int64: invalid value 'x'"
            )
        return read_csv(path, convert_options=convert_options, **kw)

    monkeypatch.setattr(reader_module.pa_csv, "read_csv", first_call_fails)
    path = write_table(tmp_path / "t.csv", customers())
    fallback = _tensors(TableDataModule(**table_kwargs(path)))
    monkeypatch.undo()
    assert [sorted(c) for c in calls] == [["region"], sorted(NEEDED)]  # then every needed column as text
    assert fallback == _tensors(TableDataModule(**table_kwargs(path)))


def test_a_missing_file_names_the_key_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=rf"^data.path: no such file '{missing}'$"):
        TableDataModule(**table_kwargs(missing))
    kwargs = table_kwargs(missing, split_column=None)
    del kwargs["path"]
    train = write_table(tmp_path / "train.csv", customers())
    with pytest.raises(DataError, match=rf"^data.val_path: no such file '{missing}'$"):
        TableDataModule(**kwargs, train_path=str(train), val_path=str(missing), test_path=str(train))


def test_an_unknown_extension_lists_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_text("a\n1\n")
    with pytest.raises(
        ConfigError,
        match=rf"^data.path \({path}\): unknown file extension '.xlsx'; choices: .csv, .jsonl, .parquet, .tsv$",
    ):
        TableDataModule(**table_kwargs(path))
    with pytest.raises(ConfigError, match=r"unknown file extension '.jsn'; .*; did you mean '.jsonl'\?$"):
        TableDataModule(**table_kwargs(tmp_path / "t.jsn"))


@pytest.mark.parametrize("extension", [".csv", ".parquet", ".jsonl"])
def test_a_missing_feature_or_label_column_suggests_the_closest(tmp_path: Path, extension: str) -> None:
    path = write_table(tmp_path / f"t{extension}", customers())
    columns = "age, churned, fold, income, region, segment, spend, unused"
    with pytest.raises(
        ConfigError,
        match=rf"^data.features.numeric \({path}\): unknown column 'agee'; choices: {columns}; did you mean 'age'\?$",
    ):
        TableDataModule(**table_kwargs(path, features={"numeric": ["agee"]}))
    tasks = {"churn": {"column": "churn", "kind": "binary"}}
    with pytest.raises(
        ConfigError,
        match=rf"^data.tasks.churn.column \({path}\): unknown column 'churn'; choices: {columns}; did you mean 'churned'\?$",
    ):
        TableDataModule(**table_kwargs(path, tasks=tasks))


def test_an_unparsable_file_is_a_data_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"age": 1}\n{"age": \n')
    with pytest.raises(DataError, match=rf"^data.path: cannot read {path} as jsonl \(.+\)$"):
        TableDataModule(**table_kwargs(path))
