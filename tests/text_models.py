"""A tiny text multi-task setup for the transformer tests: a fresh 2-layer BERT (no files), a sentence
task ``topic`` and a token task ``ner``, and a padded batch whose NER mask marks each word's first
sub-token only."""

from __future__ import annotations

from typing import Any

import torch

from mtl_lab.batch import Batch
from mtl_lab.models.architectures import SharedArchitecture
from mtl_lab.models.encoders import TransformerEncoder
from mtl_lab.models.heads import LinearHead
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.tasks import TaskSpec
from mtl_lab.tasks.token_classification import EXAMPLE_TAGS

INPUTS = TransformerEncoder.example()["inputs"]
LENGTHS = (8, 6, 5, 3)  # tokens of each sequence, [CLS] and [SEP] included; the rest is padding


def encoder_node(**overrides: Any) -> dict[str, Any]:
    """The example's tiny BERT without dropout (K separate passes must see the same network)."""
    config = {**TransformerEncoder.example()["config"], "hidden_dropout_prob": 0.0}
    return {"name": "transformer", "config": config | {"attention_probs_dropout_prob": 0.0}, **overrides}


def text_tasks() -> dict[str, TaskSpec]:
    return {
        "topic": TaskSpec("topic", "classification", 3),
        "ner": TaskSpec("ner", "token_classification", len(EXAMPLE_TAGS), class_names=EXAMPLE_TAGS),
    }


def text_batch(seed: int = 0) -> Batch:
    """4 padded sequences; NER labels on every other real token after [CLS] (first sub-tokens)."""
    g = torch.Generator().manual_seed(seed)
    positions = torch.arange(8)
    attention = torch.stack([(positions < n).long() for n in LENGTHS])
    ids = torch.randint(5, 30, (4, 8), generator=g) * attention
    words = torch.stack([(positions >= 1) & (positions < n - 1) & (positions % 2 == 1) for n in LENGTHS])
    tags = torch.randint(0, len(EXAMPLE_TAGS), (4, 8), generator=g)
    return Batch(
        inputs={"input_ids": ids, "attention_mask": attention},
        targets={"topic": torch.tensor([0, 2, 1, 2]), "ner": torch.where(words, tags, -100)},
        masks={"ner": words},
    )


def text_model(**encoder_overrides: Any) -> tuple[MultiTaskModel, dict[str, TaskSpec]]:
    """``shared`` over the tiny transformer with a sentence and a token head, in eval mode."""
    tasks = text_tasks()
    torch.manual_seed(0)
    architecture = SharedArchitecture(
        list(tasks), INPUTS, encoder_node(**encoder_overrides), token_tasks=["ner"]
    )
    heads = {t: LinearHead(architecture.feature_dim(t), spec.num_outputs) for t, spec in tasks.items()}
    return MultiTaskModel(architecture, heads).eval(), tasks
