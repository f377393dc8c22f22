"""``token_classification``: one BIO tag per word of a sentence (named entities, chunks).

Predictions are logits ``[B, T, C]`` over the task's tags (its ``class_names``, e.g. ``O, B-PER,
I-PER``), targets ``[B, T]`` tag ids, and the mask ``bool [B, T]`` is True on each word's first
sub-token only (special tokens, later sub-tokens and padding are unlabelled). Loss: cross-entropy per
labelled token. Metrics: ``entity_f1``, ``entity_precision``, ``entity_recall`` (entity level, seqeval's
default chunking, micro over entity types; :mod:`mtl_lab.tasks.entity_f1`) and ``token_accuracy``
(over the labelled tokens). The metrics see whole sentences (:meth:`TokenClassification.select_labelled`
keeps ``[B, T]`` rows, unlabelled positions marked), since entities span several words.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

from mtl_lab.errors import ConfigError
from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind
from mtl_lab.tasks.entity_f1 import NOT_A_WORD, EntityScore
from mtl_lab.tasks.spec import integer_labels

BIO_TAG = re.compile(r"O|[BI]-\S.*")
EXAMPLE_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def bio_tags(class_names: tuple[str, ...] | None) -> tuple[str, ...]:
    """``class_names`` when every one is a BIO tag (``O``, ``B-<type>``, ``I-<type>``), else a
    one-line :class:`ConfigError` naming the bad tag."""
    if class_names is None:
        raise ConfigError("a token_classification task needs class_names: its BIO tags, e.g. O, B-PER, I-PER")
    for tag in class_names:
        if not BIO_TAG.fullmatch(str(tag)):
            raise ConfigError(f"class name {tag!r} is not a BIO tag (O, B-<type> or I-<type>)")
    return tuple(str(tag) for tag in class_names)


@TASK_KINDS.register("token_classification")
class TokenClassification(TaskKind):
    name = "token_classification"
    losses = ("cross_entropy",)
    metric_directions = {
        "entity_f1": "max",
        "entity_precision": "max",
        "entity_recall": "max",
        "token_accuracy": "max",
    }
    unit = "token"

    def __init__(self, num_outputs: int, loss: str, class_names: tuple[str, ...] | None = None) -> None:
        super().__init__(num_outputs, loss, class_names)
        self.tags = bio_tags(class_names)

    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        logits = prediction.movedim(-1, 1) if prediction.dim() > 2 else prediction
        return F.cross_entropy(logits, target.long(), reduction="none")

    def make_metrics(self) -> dict[str, Metric]:
        # the three entity scores share their states: a MetricCollection updates them once (compute groups)
        return {
            "entity_f1": EntityScore(self.tags, "f1"),
            "entity_precision": EntityScore(self.tags, "precision"),
            "entity_recall": EntityScore(self.tags, "recall"),
            "token_accuracy": MulticlassAccuracy(self.num_outputs, average="micro", ignore_index=NOT_A_WORD),
        }

    def select_labelled(
        self, prediction: Tensor, target: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor] | None:
        """The sentences with a labelled word: ``[B', T, C]`` logits and ``[B', T]`` tag ids holding
        :data:`~mtl_lab.tasks.entity_f1.NOT_A_WORD` where the mask is False; None when none is."""
        if mask is None:
            return (prediction, target.long()) if target.numel() > 0 else None
        rows = mask.any(dim=-1)
        if not bool(rows.any()):
            return None
        # what an unlabelled position holds (a placeholder, NaN) never reaches the metrics
        marked = torch.where(mask, target, torch.full_like(target, NOT_A_WORD)).long()
        return prediction[rows], marked[rows]

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return prediction.argmax(dim=-1), target.long()

    def invalid_target(self, targets: Tensor) -> str | None:
        if not integer_labels(targets):
            return "token_classification tags must be integer tag ids"
        bad = targets[(targets < 0) | (targets >= self.num_outputs)]
        if bad.numel():
            return f"tag id {int(bad[0])} outside the task's tags 0..{self.num_outputs - 1}"
        return None

    @classmethod
    def example(cls) -> TaskExample:
        g = torch.Generator().manual_seed(0)
        target = torch.tensor(
            [
                [1, 2, 0, 3, 0],
                [0, 0, 1, 0, 0],
                [3, 4, 4, 0, 1],
                [0, 1, 2, 2, 0],
                [3, 0, 0, 0, 0],
                [0, 0, 0, 1, 2],
            ]
        )
        return TaskExample(
            len(EXAMPLE_TAGS), torch.randn(6, 5, len(EXAMPLE_TAGS), generator=g), target, EXAMPLE_TAGS
        )
