"""The transformer encoder with token tasks under 2-process CPU DDP and bf16 autocast: every registered
weighting's statistics (every gradient level) agree across the ranks, and the parameters stay identical.

One run of experiment=sentiment_ner on a tiny BERT (LoRA adapters on query/value: frozen base weights, so
the parameter levels see the adapters only), trained with UPGrad at the representation level (the Gramian
of the per-token states, which both the [CLS] sentiment head and the per-token NER head read)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import run_cli

from mtl_lab.weighting import WEIGHTINGS

TINY = [
    "experiment=sentiment_ner",
    *[f"data.{split}_size={size}" for split, size in (("train", 64), ("val", 16), ("test", 16))],
    "data.batch_size=16",  # 2 steps per rank
    "data.tiny_bert_config={hidden_size: 16, intermediate_size: 32}",
    "trainer=ddp_cpu",
    "trainer.max_epochs=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
    "test=false",
    "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
    "+callbacks.all_weightings._target_=plugins.AllWeightingsRankCheck",
]
LORA = "encoder.lora={r: 4, alpha: 8, target_modules: [query, value]}"


@pytest.mark.parametrize(
    ("precision", "tuning"),
    [("bf16-mixed", [LORA]), pytest.param("32-true", [], marks=pytest.mark.slow)],
    ids=["bf16-lora", "fp32-full"],
)
def test_every_weighting_agrees_across_ranks_on_the_text_model(
    precision: str, tuning: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    args = [
        *TINY,
        *tuning,
        f"trainer.precision={precision}",
        "weighting=upgrad",
        "weighting.grad_level=representation",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "all_weightings_rank_check.json").read_text())
    assert report["world_size"] == 2 and report["checks"] == 2
    assert report["max_diff"] == {name: 0.0 for name in WEIGHTINGS.names()}
    for name in WEIGHTINGS.names():
        assert all(math.isfinite(c) for c in report["last"][name]), name
    trained = json.loads((run_dir / "rank_check.json").read_text())
    assert trained["max_weighting_diff"] == 0.0 and trained["max_param_diff"] == 0.0
    metrics = json.loads((run_dir / "summary.json").read_text())["metrics"]
    for name in ("val/sentiment/accuracy", "val/ner/entity_f1", "val/ner/token_accuracy", "train/objective"):
        assert math.isfinite(metrics[name]), name
