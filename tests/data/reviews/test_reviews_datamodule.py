"""data=reviews: the generated files read as data=text with the sentiment and ner tasks, the per-task
shapes (alone and as the two sources of data=reviews_per_task), and the YAML defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_config

from mtl_lab.batch import Batch
from mtl_lab.data import DATAMODULES
from mtl_lab.data.reviews import ReviewsDataModule
from mtl_lab.errors import ConfigError

SMALL = {"train_size": 40, "val_size": 20, "test_size": 20}
TAGS = ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER")


def test_the_example_serves_sentiment_and_ner_batches(tmp_path: Path) -> None:
    dm = ReviewsDataModule(**ReviewsDataModule.example(tmp_path))
    assert dm.tasks["sentiment"].class_names == ("negative", "positive")
    assert dm.tasks["ner"].kind == "token_classification" and dm.tasks["ner"].class_names == TAGS
    assert dm.tokenizer_path == str(tmp_path / "tiny_bert") and dm.input_specs["input_ids"].vocab_size <= 1000
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, Batch) and set(batch.targets) == {"sentiment", "ner"}
    assert batch.targets["ner"].shape == batch.inputs["input_ids"].shape
    assert dm.labelled_counts() == {s: {"sentiment": 40, "ner": 40} for s in ("train", "val", "test")}


def test_per_task_sources_have_one_task_each_and_share_one_tiny_bert(tmp_path: Path) -> None:
    def source(shape: str, train_size: int) -> dict[str, object]:
        return {
            "name": "reviews",
            "shape": shape,
            "directory": str(tmp_path / shape),
            **SMALL,
            "train_size": train_size,
            "tiny_bert_dir": str(tmp_path / "tiny_bert"),
            "batch_size": 8,
        }

    dm = DATAMODULES.build(
        {"name": "per_task", "sources": {"sentiment": source("sentiment", 60), "ner": source("ner", 30)}}
    )
    assert list(dm.tasks) == ["sentiment", "ner"]
    assert {name: list(s.tasks) for name, s in dm.sources.items()} == {
        "sentiment": ["sentiment"],
        "ner": ["ner"],
    }
    assert dm.labelled_counts()["train"] == {"sentiment": 60, "ner": 30}
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch.targets) == {"sentiment", "ner"} and batch.size == 16


def test_keys_of_data_text_that_reviews_sets_itself_and_a_missing_tokenizer_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        ConfigError, match=r"^data.path: set by data=reviews itself; for your own files use data=text$"
    ):
        ReviewsDataModule(directory=str(tmp_path / "r"), path="mine.jsonl", **SMALL)
    with pytest.raises(ConfigError, match=r"^data.tokenizer: not set and data.tiny_bert_dir is null"):
        ReviewsDataModule(directory=str(tmp_path / "r"), **SMALL)


@pytest.mark.parametrize("config", ["reviews", "reviews_per_task"])
def test_the_yaml_configs_build_with_their_defaults(config: str, tmp_path: Path) -> None:
    sizes = ["train_size=40", "val_size=20", "test_size=20"]
    prefixes = ["data."] if config == "reviews" else ["data.sources.sentiment.", "data.sources.ner."]
    cfg = compose_config([f"data={config}", *(p + s for p in prefixes for s in sizes)], tmp_path)
    dm = DATAMODULES.build(cfg.data)
    assert set(dm.tasks) == {"sentiment", "ner"}
    expected = {
        "reviews": ["reviews", "tiny_bert"],
        "reviews_per_task": ["reviews_ner", "reviews_sentiment", "tiny_bert"],
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == expected[config]
    if config == "reviews":
        assert (dm.shape, dm.noise, dm.max_length, dm.batch_size) == ("joint", 0.02, 64, 32)
