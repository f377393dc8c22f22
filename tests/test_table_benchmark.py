"""benchmarks/table_data.py runs as a user runs it (tiny sizes: it must work, the numbers are not checked)."""

from __future__ import annotations

import os
import re

import cli_runner
import pytest
from conftest import REPO


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_table_data_prints_the_epoch_ratio_and_the_loading_memory_beside_the_arrow_size() -> None:
    script = REPO / "benchmarks" / "table_data.py"
    args = ["--rows", "2000", "--rounds", "1", "--epochs", "1", "--memory-rows", "20000"]
    result = cli_runner.run_python(str(script), args, cwd=script.parent, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"Epoch time, 2000 customers \(table_demo\), batch 512, 4 steps/epoch, 1 epochs", out)
    assert re.search(r"in-memory tensors: \d+ ms/epoch", out)
    assert re.search(r"data=table: \d+ ms/epoch, \d+\.\d{3}x in-memory \(median of 1 epochs; min", out)
    assert re.search(r"target data=table <= 1.15x in-memory: \d+\.\d{3}x (PASS|MISS)", out)
    assert "Peak memory, 20000 rows x 20 columns (Parquet), build + setup in a subprocess" in out
    assert re.search(r"Arrow size of the columns: \d+ MiB", out)
    assert re.search(
        r"RSS: \d+ MiB after imports, peak \d+ MiB, \d+ MiB after setup; peak growth -?\d+ MiB = -?\d+\.\d\dx Arrow",
        out,
    )
    assert re.search(r"target peak growth <= 3.0x Arrow: -?\d+\.\d\dx (PASS|MISS)", out)
