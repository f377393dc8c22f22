"""The small files ``data=text`` declares as its example: a 30-row JSONL and a tiny tokenizer directory.

Rows (``split``: rows 0-7 of every 10 train, 8 val, 9 test): ``text`` (a sentence), ``tokens`` (its
words), ``sentiment`` (``positive``/``negative``; missing on a few rows) and ``tags`` (BIO tags of
people and places; missing on a few rows). The tokenizer is a lower-casing WordPiece over a fixed
vocabulary in which ``unbelievable`` is three sub-tokens (``un ##believ ##able``), saved with
``save_pretrained`` as a fast BERT tokenizer (special tokens ``[CLS] ... [SEP]``, pad id 0).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "john", "mary", "anna", "paris", "london", "new", "york", "lives", "in", "visited", "loves", "the",
    "movie", "was", "good", "bad", "un", "##believ", "##able", "and", "a", "film", "from",
]  # fmt: skip
PEOPLE = (("john",), ("mary",), ("anna",))
PLACES = (("paris",), ("london",), ("new", "york"))
VERBS = ("lives in", "visited", "loves")


def write_tokenizer(directory: Path, words: Sequence[str] = WORDS) -> Path:
    """A fast WordPiece BERT tokenizer over ``SPECIALS + words`` saved in ``directory`` (no download)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIALS, *words])}
    model = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    model.normalizer = normalizers.BertNormalizer(lowercase=True)
    model.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    model.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer = BertTokenizerFast(
        tokenizer_object=model,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    return directory


def _row(i: int) -> dict[str, object]:
    person, place = PEOPLE[i % 3], PLACES[(i // 3) % 3]
    verb = VERBS[i % 3].split()
    good = i % 4 < 2
    review = ["the", "movie", "was", "good" if good else "bad"]
    if i % 5 == 0:
        review = ["unbelievable", "film"] if good else ["bad", "film"]
    tokens = [*person, *verb, *place, "and", *review]
    tags = ["B-PER"] + ["O"] * len(verb) + ["B-LOC"] + ["I-LOC"] * (len(place) - 1)
    tags += ["O"] * (1 + len(review))
    return {
        "text": " ".join(tokens),
        "tokens": tokens,
        "sentiment": None if i % 7 == 3 else ("positive" if good else "negative"),
        "tags": None if i % 6 == 4 else tags,
        "split": "train" if i % 10 < 8 else ("val" if i % 10 == 8 else "test"),
    }


def write_example_text(path: Path, rows: int = 30) -> Path:
    """Write the example JSONL at ``path`` (its parent created) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(_row(i)) + "\n" for i in range(rows)))
    return path
