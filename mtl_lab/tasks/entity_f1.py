"""Entity-level precision, recall and F1 of BIO-tagged sentences, as a torchmetrics :class:`Metric`.

An entity is a chunk ``(type, first word, last word)`` found by seqeval's default (conlleval-style,
IOB2) chunking, :func:`seqeval.metrics.sequence_labeling.get_entities`, run per sentence on the host;
a true positive is a predicted entity equal to a gold one (type and both ends). Micro over the types
(CoNLL-2003; seqeval's ``precision_score``, ``recall_score``, ``f1_score`` with their defaults):

    P = TP / predicted,  R = TP / gold,  F1 = 2 TP / (predicted + gold) = 2 P R / (P + R)

each 0 where its denominator is 0 (seqeval's ``zero_division`` default). The states are three counts
reduced by sum, so the DDP synchronisation is exact: the score of the union of the ranks' sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor
from torchmetrics import Metric

#: A target below 0 marks a position that is not a word (a later sub-token, a special token, padding).
NOT_A_WORD = -1

Score = Literal["f1", "precision", "recall"]


def sentence_entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The entities ``(type, first, last)`` of a word-tag sequence (seqeval's default chunking)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return set(get_entities(list(tags)))


class EntityScore(Metric):
    """``score`` (f1, precision or recall) of the entities in tag-id sequences (see the module docstring).

    ``update(preds, target)``: ``[B, T]`` tag ids (indices into ``tags``); positions whose target is
    :data:`NOT_A_WORD` are skipped in both, so each row becomes the sentence's word sequence.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    true_positives: Tensor
    predicted: Tensor
    gold: Tensor

    def __init__(self, tags: Sequence[str], score: Score = "f1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tags = tuple(tags)
        self.score = score
        for state in ("true_positives", "predicted", "gold"):
            self.add_state(state, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.shape != target.shape or preds.dim() != 2:
            raise ValueError(
                f"entity scores need [B, T] tag ids, got preds {tuple(preds.shape)} and "
                f"target {tuple(target.shape)}"
            )
        # every sentence's words in one list, sentences separated by "O" (what seqeval does with a list of
        # sentences): one chunking pass per batch, an entity never spans two sentences
        gold_tags: list[str] = []
        guessed_tags: list[str] = []
        for guess_row, gold_row in zip(preds.tolist(), target.tolist(), strict=True):
            for g, t in zip(guess_row, gold_row, strict=True):
                if t != NOT_A_WORD:
                    gold_tags.append(self.tags[t])
                    guessed_tags.append(self.tags[g])
            gold_tags.append("O")
            guessed_tags.append("O")
        gold_entities = sentence_entities(gold_tags)
        guessed = sentence_entities(guessed_tags)
        self.true_positives += len(gold_entities & guessed)
        self.predicted += len(guessed)
        self.gold += len(gold_entities)

    def compute(self) -> Tensor:
        tp = self.true_positives.double()
        if self.score == "precision":
            denominator = self.predicted.double()
            numerator = tp
        elif self.score == "recall":
            denominator = self.gold.double()
            numerator = tp
        else:
            denominator = (self.predicted + self.gold).double()
            numerator = 2 * tp
        value = numerator / denominator if denominator > 0 else torch.zeros((), dtype=torch.float64)
        return value.float()
