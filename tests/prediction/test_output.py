"""Writing rows a batch at a time in each output format, DDP shards merged back in order, and the
output file's rules (existing file, checkpoints directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from mtl_lab.errors import ConfigError
from mtl_lab.prediction.files import PredictionFiles
from mtl_lab.prediction.output import ShardBatches, merge_shards, open_writer, output_format


def _batch(start: int, size: int, ids: pa.DataType | None = None) -> pa.RecordBatch:
    ids_array = pa.array(range(start, start + size), ids or pa.int64())
    tags = pa.array([["a", "b"][: i % 3] for i in range(start, start + size)], pa.list_(pa.string()))
    return pa.RecordBatch.from_arrays([ids_array, tags], names=["id", "tags"])


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_each_format_appends_batches_and_later_types_follow_the_first(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"rows.{fmt}"
    writer = open_writer(path, output_format(path))
    writer.write(_batch(0, 3))
    writer.write(_batch(3, 2, pa.int32()))  # cast to the first batch's int64
    writer.close()
    assert writer.rows == 5
    tags = [["a", "b"][: i % 3] for i in range(5)]
    if fmt == "parquet":
        assert pq.ParquetFile(path).metadata.num_row_groups == 2
        assert pq.read_table(path).to_pydict() == {"id": list(range(5)), "tags": tags}
    elif fmt == "csv":
        table = pa_csv.read_csv(path)
        assert table.column("id").to_pylist() == list(range(5))
        assert [json.loads(t) for t in table.column("tags").to_pylist()] == tags
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert rows == [{"id": i, "tags": t} for i, t in enumerate(tags)]


def test_unknown_output_extension_names_the_choices() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^output \(p.xlsx\): unknown file extension '.xlsx'; choices: .csv, .jsonl, .parquet$",
    ):
        output_format(Path("p.xlsx"))


def test_shards_written_round_robin_merge_back_in_input_order(tmp_path: Path) -> None:
    sizes = [4, 4, 4, 4, 4, 4, 2]  # batch n went to rank n % 3; rank 0 got three batches
    shards = [tmp_path / f"rank{r}" for r in range(4)]  # a fourth rank got none: no file
    writers = [ShardBatches(p) for p in shards]
    for number, size in enumerate(sizes):
        writers[number % 3].write(_batch(4 * number, size))
    for writer in writers:
        writer.close()
    merged = open_writer(tmp_path / "all.parquet", "parquet")
    merge_shards(shards[:3], merged)
    merged.close()
    assert merged.rows == 26
    assert pq.read_table(tmp_path / "all.parquet").column("id").to_pylist() == list(range(26))


def test_output_rules(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    with pytest.raises(
        ConfigError, match=r"^output: .*p.csv is inside the run's .*checkpoints; write it elsewhere$"
    ):
        PredictionFiles(run / "checkpoints" / "p.csv", run, overwrite=True)
    (tmp_path / "p.csv.metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"^output: .*p.csv.metrics.json exists; pass overwrite=true"):
        PredictionFiles(tmp_path / "p.csv", run, overwrite=False)
    files = PredictionFiles(tmp_path / "sub" / "p.csv", run, overwrite=False)
    files.write(_batch(0, 2))
    files.discard()
    assert not list((tmp_path / "sub").iterdir())
    files = PredictionFiles(tmp_path / "sub" / "p.csv", run, overwrite=False)
    files.write(_batch(0, 2))
    files.close()
    assert files.finish("two rows") == 2
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["p.csv"]
