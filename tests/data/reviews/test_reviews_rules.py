"""The sentiment rules of data=reviews on hand-picked sentences: opinion words, negation, contrast."""

from __future__ import annotations

import pytest

from mtl_lab.data.reviews.rules import sentiment_of, sentiment_score


@pytest.mark.parametrize(
    ("sentence", "label"),
    [
        ("The room was clean .", "positive"),
        ("The room was dirty .", "negative"),
        ("The food was not good .", "negative"),
        ("The food was not bad .", "positive"),
        ("I was never disappointed with Kalard Brennford .", "positive"),
        ("I was not at all impressed .", "negative"),  # "impressed" is 3 words after "not"
        ("The staff were hardly friendly .", "negative"),
        ("Not very clean , I must say .", "negative"),  # compared lower-cased
        ("The food was good but the service was slow .", "negative"),
        ("The food was terrible but the staff were not rude .", "positive"),
        ("It was slow but fast but I was disappointed .", "negative"),  # only after the last "but"
        ("We would never recommend Oakwind Air .", "negative"),
        ("We would definitely avoid Oakwind Air .", "negative"),
        ("Great seats and a friendly crew .", "positive"),
    ],
)
def test_hand_picked_sentences_get_the_rules_label(sentence: str, label: str) -> None:
    assert sentiment_of(sentence.split(" ")) == label


def test_a_negator_flips_one_opinion_word_within_three_words_and_a_tie_is_undecided() -> None:
    assert sentiment_score(["not", "good", "and", "clean"]) == 0  # "clean" is not negated
    assert sentiment_of(["not", "good", "and", "clean"]) is None
    assert sentiment_score(["not", "the", "room", "that", "was", "clean"]) == 1  # 4 words away: not negated
    assert sentiment_score(["the", "room", "was", "clean", "but"]) == 0  # nothing after "but"
