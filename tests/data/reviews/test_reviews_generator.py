"""The reviews generator: deterministic files, disjoint train/held-out pools, well-formed BIO tags aligned
with the words, labels by the rules, label noise only in train at the requested rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtl_lab.data.reviews.clauses import ENTITY_CLAUSES, GENERIC_OPINIONS, OPINION_CLAUSES
from mtl_lab.data.reviews.files import ensure_reviews, split_path
from mtl_lab.data.reviews.generator import detokenize, review_rows, vocabulary_texts
from mtl_lab.data.reviews.lexicon import CONTRAST, INTENSIFIERS, NEGATORS, POLARITY
from mtl_lab.data.reviews.names import PLACE_PREFIXES, PLACE_SUFFIXES
from mtl_lab.data.reviews.pools import SPLITS, pool
from mtl_lab.data.reviews.rules import sentiment_of
from mtl_lab.data.reviews.sentences import TAGS, NamePools
from mtl_lab.data.reviews.templates import PATTERNS
from mtl_lab.errors import ConfigError

SIZES = {"train": 300, "val": 100, "test": 100}
CLAUSE_LISTS = [*ENTITY_CLAUSES.values(), *OPINION_CLAUSES.values(), GENERIC_OPINIONS]


def entities(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    """(type, words) of each entity of a BIO-tagged sentence."""
    found: list[tuple[str, str]] = []
    for token, tag in zip(tokens, tags, strict=True):
        if tag.startswith("B-"):
            found.append((tag[2:], token))
        elif tag.startswith("I-"):
            found[-1] = (found[-1][0], f"{found[-1][1]} {token}")
    return found


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_sentences(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        ensure_reviews(tmp_path / name, "joint", SIZES, 0.02, seed)
    for split in SPLITS:
        a, b, c = (split_path(tmp_path / name, split).read_bytes() for name in "abc")
        assert a == b and a != c
    rows = [json.loads(line) for line in split_path(tmp_path / "a", "train").read_text().splitlines()]
    assert len(rows) == 300 and set(rows[0]) == {"text", "tokens", "sentiment", "tags"}
    assert review_rows("joint", "train", 50, 3) == [
        {**row, "sentiment": sentiment_of(row["tokens"])} for row in review_rows("joint", "train", 80, 3)[:50]
    ]  # a larger size appends rows (noise 0 here, the file's labels are noisy)


def test_names_and_clauses_of_train_val_and_test_are_disjoint_and_held_out_words_are_known() -> None:
    pools = {split: NamePools.of(split) for split in SPLITS}
    kinds = [
        {n for s in SPLITS for n in getattr(pools[s], field)}
        for field in ("first", "last", "stems", "places")
    ]
    assert sum(map(len, kinds)) == len(set().union(*kinds)) > 1000  # no name of two kinds
    for field in ("first", "last", "stems", "places"):
        train, val, test = (set(getattr(pools[s], field)) for s in SPLITS)
        assert not train & test and not train & val and not val & test, field
        assert len(train) >= 3 * len(test) > 0, field
    for clauses in CLAUSE_LISTS:
        train, val, test = (set(pool(clauses, split)) for split in SPLITS)
        assert not train & test and not train & val and not val & test and val and test
    train_words = {w for p in PATTERNS for w in p.split()}
    train_words |= {w for clauses in CLAUSE_LISTS for c in pool(clauses, "train") for w in c.split()}
    held_out = {
        w for clauses in CLAUSE_LISTS for s in ("val", "test") for c in pool(clauses, s) for w in c.split()
    }
    assert held_out <= train_words


def core_name(kind: str, name: str) -> str:
    """The pooled part of a name: a first name, an organisation's stem, a location without place word."""
    words = [w for w in name.split() if w not in (*PLACE_PREFIXES, *PLACE_SUFFIXES)]
    return words[0] if kind != "LOC" else " ".join(words)


def test_test_sentences_use_only_test_names_and_no_name_is_an_opinion_word() -> None:
    rows = {split: review_rows("joint", split, 400, 0) for split in ("train", "test")}
    names = {s: {e for r in rows[s] for e in entities(r["tokens"], r["tags"])} for s in rows}
    test_pools = NamePools.of("test")
    pooled = {"PER": test_pools.first, "ORG": test_pools.stems, "LOC": test_pools.places}
    for kind, name in names["test"]:
        assert (kind, name) not in names["train"] and core_name(kind, name) in pooled[kind], (kind, name)
    train_words = {w.lower() for _, name in names["train"] for w in name.split()}
    assert not train_words & {*POLARITY, *NEGATORS, CONTRAST, *INTENSIFIERS}


@pytest.mark.parametrize("split", SPLITS)
def test_bio_tags_are_well_formed_aligned_and_labels_follow_the_rules(split: str) -> None:
    rows = review_rows("joint", split, 500, 1)
    for row in rows:
        tokens, tags = row["tokens"], row["tags"]
        assert len(tokens) == len(tags) and set(tags) <= set(TAGS)
        for previous, tag in zip(["O", *tags], tags, strict=False):
            if tag.startswith("I-"):
                assert previous in (f"B-{tag[2:]}", tag), (tokens, tags)
        assert row["text"] == detokenize(tokens) and row["sentiment"] == sentiment_of(tokens)
        for token, tag in zip(tokens, tags, strict=True):
            assert tag == "O" or token[0].isupper()
    positive = sum(row["sentiment"] == "positive" for row in rows) / len(rows)
    with_entities = sum(any(t != "O" for t in row["tags"]) for row in rows) / len(rows)
    contrast = sum(CONTRAST in row["tokens"] for row in rows) / len(rows)
    negated = sum(any(t in NEGATORS for t in row["tokens"]) for row in rows) / len(rows)
    assert 0.42 < positive < 0.58 and 0.7 < with_entities < 0.95 and contrast > 0.2 and negated > 0.2


def test_label_noise_flips_exactly_the_requested_training_labels_only() -> None:
    for split, size in (("train", 1000), ("val", 200), ("test", 200)):
        rows = review_rows("sentiment", split, size, 5, noise=0.03)
        flipped = sum(row["sentiment"] != sentiment_of(row["tokens"]) for row in rows)
        assert flipped == (30 if split == "train" else 0)
        assert set(rows[0]) == {"text", "tokens", "sentiment"}
    ner = review_rows("ner", "train", 100, 5, noise=0.03)
    assert set(ner[0]) == {"text", "tokens", "tags"}
    assert [r["tokens"] for r in ner] != [r["tokens"] for r in review_rows("sentiment", "train", 100, 5)]


def test_an_existing_directory_is_reused_with_the_same_parameters_and_refused_otherwise(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "reviews"
    ensure_reviews(directory, "joint", SIZES, 0.02, 0)
    before = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    ensure_reviews(directory, "joint", SIZES, 0.02, 0)
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == before
    with pytest.raises(
        ConfigError,
        match=r"^data.directory: .*reviews exists and holds reviews with \{.*'seed': 0.*\}, not \{.*'seed': 1.*\}; not overwriting it: choose another data.directory$",
    ):
        ensure_reviews(directory, "joint", SIZES, 0.02, 1)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"^data.directory: .*mine exists and is not a reviews directory"):
        ensure_reviews(mine, "joint", SIZES, 0.02, 0)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directory left
    with pytest.raises(ConfigError, match=r"^data.shape: unknown shape 'jiont'.*did you mean 'joint'\?$"):
        ensure_reviews(tmp_path / "x", "jiont", SIZES, 0.02, 0)
    with pytest.raises(ConfigError, match=r"^data.noise: must be in \[0, 0.5\), got 0.7$"):
        ensure_reviews(tmp_path / "x", "joint", SIZES, 0.7, 0)
    with pytest.raises(ConfigError, match=r"^data.val_size: must be an integer >= 1, got 0$"):
        ensure_reviews(tmp_path / "x", "joint", {**SIZES, "val": 0}, 0.02, 0)


def test_the_vocabulary_corpus_is_training_sentences_without_held_out_names() -> None:
    texts = vocabulary_texts()
    assert len(texts) == 4000 and texts is vocabulary_texts()  # computed once
    words = {w for text in texts for w in text.replace(",", " ").replace(".", " ").split()}
    for split in ("val", "test"):
        held_out = NamePools.of(split)
        assert not words & {*held_out.first, *held_out.last, *held_out.stems, *held_out.places}
    train = NamePools.of("train")
    assert len(words & {*train.first, *train.stems}) > 300
