"""token_classification: entity-level scores computed by hand and by seqeval, sub-token positions
ignored, DDP-exact (summed) states, loss over first sub-tokens, class-name errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from seqeval.metrics import f1_score, precision_score, recall_score

from mtl_lab.batch import Batch
from mtl_lab.errors import ConfigError, DataError
from mtl_lab.experiment import check_optimized_metric
from mtl_lab.names import metric_direction
from mtl_lab.task_metrics import TaskMetrics
from mtl_lab.tasks import TaskSpec
from mtl_lab.tasks.entity_f1 import NOT_A_WORD, EntityScore

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
ID = {tag: i for i, tag in enumerate(TAGS)}
GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC"],  # PER(0,1) LOC(3,3)
    ["O", "B-LOC", "I-LOC", "O", "B-PER"],  # LOC(1,2) PER(4,4)
    ["B-PER", "O", "O"],  # PER(0,0)
]
GUESS = [
    ["B-PER", "I-PER", "O", "O"],  # PER(0,1): right
    ["O", "B-LOC", "O", "O", "B-PER"],  # LOC(1,1): wrong end; PER(4,4): right
    ["I-PER", "I-PER", "O"],  # PER(0,1) (conlleval: I- after nothing opens an entity): wrong end
]
# 2 right of 4 predicted entities, 5 gold ones
PRECISION, RECALL, F1 = 2 / 4, 2 / 5, 2 * 2 / (4 + 5)


def spec() -> TaskSpec:
    return TaskSpec("ner", "token_classification", len(TAGS), class_names=TAGS)


def padded(sentences: list[list[str]], width: int = 6) -> torch.Tensor:
    rows = [[ID[t] for t in s] + [NOT_A_WORD] * (width - len(s)) for s in sentences]
    return torch.tensor(rows)


def test_entity_scores_by_hand_and_by_seqeval() -> None:
    assert precision_score(GOLD, GUESS) == pytest.approx(PRECISION)
    assert recall_score(GOLD, GUESS) == pytest.approx(RECALL)
    assert f1_score(GOLD, GUESS) == pytest.approx(F1)
    preds = torch.where(padded(GOLD) == NOT_A_WORD, ID["B-LOC"], padded(GUESS))  # padding predictions ignored
    for score, expected in (("f1", F1), ("precision", PRECISION), ("recall", RECALL)):
        metric = EntityScore(TAGS, score)
        metric.update(preds, padded(GOLD))
        assert metric.compute().item() == pytest.approx(expected)


def test_metrics_see_first_sub_tokens_only() -> None:
    """Each word is split into 2 sub-tokens after a [CLS]; the second ones carry other tags and logits."""
    words = padded(GOLD)
    width = 1 + 2 * words.shape[1]
    target = torch.full((3, width), ID["I-LOC"])
    mask = torch.zeros(3, width, dtype=torch.bool)
    guess = torch.full((3, width), ID["B-PER"])
    for row in range(3):
        for w, tag in enumerate(words[row].tolist()):
            if tag != NOT_A_WORD:
                target[row, 1 + 2 * w], mask[row, 1 + 2 * w] = tag, True
                guess[row, 1 + 2 * w] = ID[GUESS[row][w]]
    logits = F.one_hot(guess, len(TAGS)).float() * 5
    metrics = TaskMetrics({"ner": spec()})
    metrics.update("val", {"ner": logits}, Batch({"x": logits}, {"ner": target}, {"ner": mask}))
    values = metrics.collections["val"]["ner"].compute()
    right = sum(g == p for gs, ps in zip(GOLD, GUESS, strict=True) for g, p in zip(gs, ps, strict=True))
    assert values["entity_f1"] == pytest.approx(F1) and values["entity_precision"] == pytest.approx(PRECISION)
    assert values["entity_recall"] == pytest.approx(RECALL)
    assert values["token_accuracy"] == pytest.approx(right / 12)  # 12 words
    assert (
        metric_direction("val/ner/entity_f1") == "max" and metric_direction("val/ner/token_accuracy") == "max"
    )
    check_optimized_metric("val/ner/entity_f1", {"ner": spec()})


def test_a_batch_without_labelled_words_updates_nothing() -> None:
    metrics = TaskMetrics({"ner": spec()})
    logits = torch.randn(2, 4, len(TAGS))
    batch = Batch({"x": logits}, {"ner": torch.zeros(2, 4)}, {"ner": torch.zeros(2, 4, dtype=torch.bool)})
    metrics.update("train", {"ner": logits}, batch)
    assert metrics.compute_train() == {}
    assert spec().select_labelled(logits, torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool)) is None
    kept = spec().select_labelled(logits, torch.ones(2, 4), torch.tensor([[False] * 4, [True] * 4]))
    assert kept is not None and kept[0].shape == (1, 4, 5) and kept[1].tolist() == [[1, 1, 1, 1]]


def test_states_are_sums_so_ranks_merge_exactly() -> None:
    whole = EntityScore(TAGS, "f1")
    whole.update(padded(GUESS), padded(GOLD))
    first, second = EntityScore(TAGS, "f1"), EntityScore(TAGS, "f1")
    first.update(padded(GUESS[:1]), padded(GOLD[:1]))
    second.update(padded(GUESS[1:]), padded(GOLD[1:]))
    assert all(
        whole._reductions[s] is torch.sum or "sum" in str(whole._reductions[s]) for s in whole._defaults
    )
    first.merge_state(second)
    assert (first.true_positives, first.predicted, first.gold) == (2, 4, 5)
    assert first.compute() == whole.compute()


def test_loss_is_cross_entropy_over_first_sub_tokens() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, len(TAGS), generator=g)
    tags = torch.tensor([[0, 1, 2, -100, 0], [3, -100, 4, 0, -100]])
    mask = tags >= 0
    assert torch.allclose(spec().compute_loss(logits, tags, mask), F.cross_entropy(logits[mask], tags[mask]))
    spec().validate_targets(tags, "train", mask)
    with pytest.raises(DataError, match="task 'ner' .*tag id 7 outside the task's tags 0..4"):
        spec().validate_targets(torch.tensor([[0, 7]]), "train", torch.tensor([[True, True]]))


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (None, "task 'ner': a token_classification task needs class_names: its BIO tags, e.g. O, B-PER"),
        (("O", "PER", "I-PER", "B-LOC", "I-LOC"), "task 'ner': class name 'PER' is not a BIO tag"),
        (("O", "B_PER", "I-PER", "B-LOC", "I-LOC"), "task 'ner': class name 'B_PER' is not a BIO tag"),
        (("O", "B-", "I-PER", "B-LOC", "I-LOC"), "task 'ner': class name 'B-' is not a BIO tag"),
    ],
)
def test_class_names_must_be_bio_tags(names: tuple[str, ...] | None, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        TaskSpec("ner", "token_classification", 5, class_names=names)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
