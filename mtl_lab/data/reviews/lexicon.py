"""The opinion words of the reviews generator and of its sentiment rules (:mod:`.rules`).

Opinion words are grouped by how templates use them: ``ADJECTIVES`` describe a thing (``the room was
clean``), ``FEELINGS`` the writer (``I was impressed``), ``VERBS`` a recommendation (``I would recommend
...``). Each maps polarity +1 (positive) or -1 (negative) to its words. ``NEGATORS`` flip the next
opinion word within ``NEGATION_WINDOW`` words; ``CONTRAST`` starts a clause that alone decides the label.
Template words, names and intensifiers are none of these (checked by the tests).
"""

from __future__ import annotations

ADJECTIVES = {
    1: (
        *("great", "excellent", "good", "wonderful", "fantastic", "friendly", "helpful", "clean"),
        *("comfortable", "delicious", "fast", "reliable", "pleasant", "superb", "lovely", "perfect"),
        *("smooth", "spotless", "quick", "attentive", "amazing", "outstanding", "efficient", "charming"),
    ),
    -1: (
        *("bad", "terrible", "awful", "poor", "rude", "slow", "dirty", "noisy"),
        *(
            "broken",
            "unhelpful",
            "disappointing",
            "horrible",
            "mediocre",
            "overpriced",
            "unreliable",
            "careless",
        ),
        *("crowded", "bland", "useless", "sloppy", "unpleasant", "uncomfortable", "dreadful", "chaotic"),
    ),
}
FEELINGS = {
    1: ("impressed", "delighted", "satisfied", "pleased", "happy", "thrilled"),
    -1: ("disappointed", "frustrated", "annoyed", "unhappy", "upset", "dissatisfied"),
}
VERBS = {1: ("recommend",), -1: ("avoid",)}
NEGATORS = ("not", "never", "hardly")
NEGATION_WINDOW = 3
CONTRAST = "but"
#: Words that strengthen an opinion word without changing its polarity.
INTENSIFIERS = ("very", "really", "truly", "quite", "extremely", "so")

#: Every opinion word with its polarity.
POLARITY: dict[str, int] = {
    word: polarity
    for group in (ADJECTIVES, FEELINGS, VERBS)
    for polarity, words in group.items()
    for word in words
}
