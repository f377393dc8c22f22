"""Directories written once: atomic, reused with the same record, refused otherwise, and safe when two
writers (DDP ranks) race for the same directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtl_lab.errors import ConfigError
from mtl_lab.text.written import ensure_written, recorded


def write_file(path: Path) -> None:
    (path / "data.txt").write_text("data")


def test_written_once_with_its_record_and_an_empty_directory_counts_as_absent(tmp_path: Path) -> None:
    directory = tmp_path / "out"
    directory.mkdir()  # empty: written into
    ensure_written(directory, "record.json", {"n": 1}, write_file, "data.directory", "a test")
    assert (directory / "data.txt").read_text() == "data" and recorded(directory, "record.json") == {"n": 1}
    calls: list[Path] = []
    ensure_written(directory, "record.json", {"n": 1}, calls.append, "data.directory", "a test")
    assert calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    def fail(path: Path) -> None:
        (path / "half.txt").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        ensure_written(tmp_path / "out", "record.json", {"n": 1}, fail, "data.directory", "a test")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("same", [True, False])
def test_losing_a_race_to_another_writer_reuses_its_directory_or_refuses_a_different_one(
    tmp_path: Path, same: bool
) -> None:
    directory = tmp_path / "out"

    def raced(path: Path) -> None:  # another rank renames its finished directory into place meanwhile
        write_file(path)
        directory.mkdir()
        (directory / "data.txt").write_text("theirs")
        (directory / "record.json").write_text(json.dumps({"n": 1 if same else 2}))

    if same:
        ensure_written(directory, "record.json", {"n": 1}, raced, "data.directory", "a test")
        assert (directory / "data.txt").read_text() == "theirs"
    else:
        with pytest.raises(
            ConfigError, match=r"^data.directory: .*out exists and holds a test with \{'n': 2\}"
        ):
            ensure_written(directory, "record.json", {"n": 1}, raced, "data.directory", "a test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the loser's temporary directory is gone
