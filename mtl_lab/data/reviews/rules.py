"""The sentiment rules of the reviews data: a sentence's label is a function of its words.

Words are compared lower-cased. Each opinion word (:data:`~.lexicon.POLARITY`) counts +1 or -1, flipped
when a negator (``not``, ``never``, ``hardly``) precedes it by at most three words (a negator flips one
opinion word); ``but`` discards everything before it (``the food was good but the service was slow`` is
negative). The label is ``positive`` for a total above 0, ``negative`` below 0 and undecided (None) at 0;
the generator writes only decided sentences, and its labels (before training-set noise) are these rules'.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtl_lab.data.reviews.lexicon import CONTRAST, NEGATION_WINDOW, NEGATORS, POLARITY

LABELS = ("negative", "positive")


def sentiment_score(tokens: Sequence[str]) -> int:
    """The summed polarity of the opinion words after the last ``but``, negations applied."""
    score, negation_left = 0, 0
    for token in tokens:
        word = token.lower()
        if word == CONTRAST:
            score, negation_left = 0, 0
        elif word in NEGATORS:
            negation_left = NEGATION_WINDOW
        elif word in POLARITY:
            score += -POLARITY[word] if negation_left > 0 else POLARITY[word]
            negation_left = 0
        else:
            negation_left = max(negation_left - 1, 0)
    return score


def sentiment_of(tokens: Sequence[str]) -> str | None:
    """``positive`` / ``negative`` by the rules above; None when the opinions cancel out."""
    score = sentiment_score(tokens)
    return None if score == 0 else LABELS[score > 0]
