"""``data=reviews``: synthetic English reviews, ``data=text`` on files it first writes (no download).

The generator (:mod:`.generator`) writes ``train/val/test.jsonl`` into ``directory`` (reused when it
holds the same generator's files with the same parameters, refused otherwise: :mod:`.files`). Tasks:
``sentiment`` (classification: negative, positive; decided by rules, :mod:`.rules`, with ``noise`` of the
training labels flipped) and ``ner`` (token_classification: BIO tags of PER, ORG, LOC). ``shape``:
``joint`` (every row labelled for both), ``sentiment`` or ``ner`` (one task, sentences of their own; two
such sources make ``data=reviews_per_task``). Validation and test sentences use names and templates that
training never sees.

``tiny_bert_dir`` (when not null) receives a tiny untrained BERT (:mod:`mtl_lab.text.tiny_bert`) whose
cased vocabulary is learned from training sentences of a fixed stream (the same whatever the shape,
sizes and seed, so every reviews source of a run writes the same directory); ``tiny_bert_config``
overrides its BertConfig. ``tokenizer`` (by default the encoder's ``pretrained``) falls back to it.
Every other key (``max_length``, ``batch_size``, ``bucketing``, ...) is ``data=text``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtl_lab.data.datamodule import DATAMODULES
from mtl_lab.data.reviews.files import ensure_reviews, split_path
from mtl_lab.data.reviews.generator import SHAPE_FIELDS, vocabulary_texts
from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.config import TOKEN_KIND
from mtl_lab.errors import ConfigError
from mtl_lab.text.tiny_bert import write_tiny_bert

#: The task each label field serves.
FIELD_TASKS = {
    "sentiment": ("sentiment", {"column": "sentiment", "kind": "classification"}),
    "tags": ("ner", {"column": "tags", "kind": TOKEN_KIND}),
}
#: ``data=text`` keys that this datamodule sets itself.
FIXED_KEYS = (
    *("path", "train_path", "val_path", "test_path", "text_column", "tokens_column", "tasks"),
    *("split", "split_column"),
)


def reviews_tasks(shape: str) -> dict[str, dict[str, str]]:
    """The ``data=text`` tasks of a reviews shape."""
    return dict(FIELD_TASKS[field] for field in SHAPE_FIELDS[shape])


@DATAMODULES.register("reviews")
class ReviewsDataModule(TextDataModule):
    """Synthetic reviews written to ``directory``, then read as ``data=text`` (see the module docstring)."""

    name = "reviews"

    def __init__(
        self,
        directory: str = "reviews",
        shape: str = "joint",
        train_size: int = 4000,
        val_size: int = 500,
        test_size: int = 500,
        noise: float = 0.02,
        tiny_bert_dir: str | None = None,
        tiny_bert_config: Mapping[str, Any] | None = None,
        tokenizer: str | None = None,
        seed: int | None = 0,
        use_tasks: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        for key in FIXED_KEYS:
            if key in kwargs:
                raise ConfigError(f"data.{key}: set by data=reviews itself; for your own files use data=text")
        sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.shape, self.sizes, self.noise = shape, sizes, noise
        generated = ensure_reviews(Path(directory), shape, sizes, noise, 0 if seed is None else seed)
        self.directory = generated
        self.tiny_bert_dir = None
        if tiny_bert_dir is not None:
            self.tiny_bert_dir = write_tiny_bert(tiny_bert_dir, vocabulary_texts(), tiny_bert_config)
        if tokenizer is None:
            if self.tiny_bert_dir is None:
                raise ConfigError(
                    "data.tokenizer: not set and data.tiny_bert_dir is null; set encoder.pretrained (or "
                    "data.tokenizer) to a local model directory, or data.tiny_bert_dir to write a tiny BERT"
                )
            tokenizer = str(self.tiny_bert_dir)
        super().__init__(
            train_path=str(split_path(generated, "train")),
            val_path=str(split_path(generated, "val")),
            test_path=str(split_path(generated, "test")),
            text_column="text",
            tokens_column="tokens",
            tasks=reviews_tasks(shape),
            tokenizer=tokenizer,
            seed=seed,
            use_tasks=use_tasks,
            **kwargs,
        )

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        workdir = Path(workdir)
        return {
            "directory": str(workdir / "reviews"),
            "train_size": 40,
            "val_size": 40,
            "test_size": 40,
            "tiny_bert_dir": str(workdir / "tiny_bert"),
            "tiny_bert_config": {"hidden_size": 32, "intermediate_size": 64, "max_position_embeddings": 64},
            "max_length": 64,
            "batch_size": 8,
        }
