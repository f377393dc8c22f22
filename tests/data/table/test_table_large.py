"""A 1,000,000-row, 20-column Parquet table trains through run_experiment within a memory bound."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

#: Peak RSS bound of the whole training process. Measured: about 0.5 GiB after the imports (torch,
#: Lightning, Hydra, pyarrow), peak 0.85 GiB: reading and converting the table and building its
#: tensors add about 2.3x the columns' Arrow size (143 MiB), training 20 batches little. 1.5 GiB leaves
#: room for other library versions and is far below a 24 GiB machine.
PEAK_RSS_BOUND_MIB = 1536

CHILD = """
import json, resource, sys
from pathlib import Path
from conftest import compose_config
from mtl_lab.experiment import run_experiment

path, spec, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
features = "{numeric: [%s], categorical: [%s]}" % (", ".join(spec["features"]["numeric"]), ", ".join(spec["features"]["categorical"]))
tasks = "{" + ", ".join(f"{t}: {{kind: {v['kind']}}}" for t, v in spec["tasks"].items()) + "}"
cfg = compose_config([
    "data=table", f"data.path={path}", f"data.features={features}", f"data.tasks={tasks}",
    "encoder=mlp", "encoder.name=tabular", "encoder.hidden_dims=[32]",
    "trainer.max_epochs=1", "trainer.limit_train_batches=20", "trainer.limit_val_batches=2",
    "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false", "~callbacks.rich_progress_bar",
    "test=false",
], out)
summary = run_experiment(cfg)
print(json.dumps({"status": summary.status, "tasks": summary.tasks,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def wide_table_writer():
    """benchmarks/table_data.py's 20-column table writer (the one `make bench` measures), one copy of it."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from table_data import write_wide_table
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return write_wide_table


@pytest.mark.slow
def test_a_million_row_twenty_column_parquet_table_trains_within_the_memory_bound(tmp_path: Path) -> None:
    spec = wide_table_writer()(tmp_path / "wide.parquet", 1_000_000)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "wide.parquet"),
            json.dumps(spec),
            str(tmp_path / "run"),
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO / "tests"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == "completed"
    assert report["tasks"]["level"]["num_outputs"] == 4
    assert 0.85 < report["tasks"]["flag"]["labelled"]["train"] / 800_000 < 0.95
    assert report["peak_mib"] < PEAK_RSS_BOUND_MIB, report["peak_mib"]
