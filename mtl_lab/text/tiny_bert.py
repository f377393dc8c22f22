"""A tiny, untrained BERT written into a directory from training texts: the default model of text data.

:func:`write_tiny_bert` learns a cased WordPiece vocabulary from ``texts`` (BERT's normalisation without
lower-casing or accent stripping, BERT's pre-tokenizer: words and punctuation, from ``tokenizers``), then
saves a fast ``BertTokenizer`` (``tokenizer.json`` and ``vocab.txt``) and a ``BertModel`` of
:data:`DEFAULT_CONFIG` (any key overridable through ``config``), initialised from ``seed`` under a forked
RNG (the global random state is untouched). ``AutoTokenizer`` / ``AutoModel.from_pretrained(directory,
local_files_only=True)`` load it back: point ``encoder.pretrained`` at it.

The vocabulary learner is a byte-pair-style merge loop written here, not ``tokenizers``' trainer (whose
ties fall in an order that changes from process to process): merges are taken by pair count, ties by the
pair's strings, so the same texts give the same ``vocab.txt`` bytes on every run and machine. Ids: the
special tokens ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4, the characters (sorted),
then the merged pieces in merge order, up to ``vocab_size`` (fewer when the texts run out of pairs, never
fewer than the characters). The weights are saved with ``safetensors`` directly (``save_pretrained``
skips them on DDP ranks other than 0). The directory is written once (:mod:`mtl_lab.text.written`):
reused when its record ``tiny_bert.json`` has the same parameters, refused (never overwritten) otherwise.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.text.written import ensure_written

GENERATOR = "tiny_bert"
VERSION = 1
RECORD = "tiny_bert.json"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PREFIX = "##"
DEFAULT_CONFIG: dict[str, Any] = {
    # the vocabulary's largest size (the model's is the vocabulary's actual size); on data=reviews, 1000 keeps
    # the common words whole and cuts names into pieces, in training as in test (2000 would learn whole
    # training names, leaving only the unseen test names in pieces)
    "vocab_size": 1000,
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 128,
}


def _words(texts: Iterable[str]) -> Counter[str]:
    """How often each word (BERT's cased normalisation and pre-tokenization) occurs in ``texts``."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    return counts


def _pairs(symbols: list[str]) -> Counter[tuple[str, str]]:
    return Counter(itertools.pairwise(symbols))


def learn_vocabulary(texts: Iterable[str], vocab_size: int) -> list[str]:
    """The tokens, in id order, of a WordPiece vocabulary of at most ``vocab_size`` learned from ``texts``."""
    counts = _words(texts)
    words = sorted(counts)
    split = [[word[0], *(PREFIX + c for c in word[1:])] for word in words]
    vocabulary = list(SPECIAL_TOKENS) + sorted({s for symbols in split for s in symbols})
    known = set(vocabulary)
    pair_counts: Counter[tuple[str, str]] = Counter()
    holders: dict[tuple[str, str], set[int]] = {}
    for index, symbols in enumerate(split):
        for pair, n in _pairs(symbols).items():
            pair_counts[pair] += n * counts[words[index]]
            holders.setdefault(pair, set()).add(index)
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    while heap and len(vocabulary) < vocab_size:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative or negative == 0:
            continue  # a stale entry: the pair's count changed since it was pushed
        merged = pair[0] + pair[1][len(PREFIX) :]
        if merged not in known:
            known.add(merged)
            vocabulary.append(merged)
        changed: set[tuple[str, str]] = set()
        for index in sorted(holders.pop(pair, set())):
            symbols, weight = split[index], counts[words[index]]
            for old, n in _pairs(symbols).items():
                pair_counts[old] -= n * weight
                changed.add(old)
            merged_symbols: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    merged_symbols.append(merged)
                    i += 2
                else:
                    merged_symbols.append(symbols[i])
                    i += 1
            split[index] = merged_symbols
            for new, n in _pairs(merged_symbols).items():
                pair_counts[new] += n * weight
                holders.setdefault(new, set()).add(index)
                changed.add(new)
        pair_counts.pop(pair, None)
        for other in sorted(changed - {pair}):
            if pair_counts[other] > 0:
                heapq.heappush(heap, (-pair_counts[other], other))
    return vocabulary


def tiny_bert_config(config: Mapping[str, Any] | None, key: str = "data.tiny_bert_config") -> dict[str, Any]:
    """:data:`DEFAULT_CONFIG` updated with ``config``; unknown BertConfig keys are one-line errors."""
    from transformers import BertConfig

    merged = {**DEFAULT_CONFIG, **dict(config or {})}
    valid = set(BertConfig().to_dict())
    for name in merged:
        if name not in valid:
            raise unknown_choice(key, name, sorted(valid), "BertConfig key")
    if merged["hidden_size"] % merged["num_attention_heads"]:
        raise ConfigError(
            f"{key}: hidden_size ({merged['hidden_size']}) must be a multiple of num_attention_heads "
            f"({merged['num_attention_heads']})"
        )
    return merged


def _save(directory: Path, vocabulary: list[str], config: dict[str, Any], seed: int) -> None:
    """Save the tokenizer, vocab.txt, config.json and the seeded weights into ``directory``."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel, BertTokenizer

    max_length = int(config["max_position_embeddings"])
    tokenizer = BertTokenizer(
        vocab={token: i for i, token in enumerate(vocabulary)},
        do_lower_case=False,
        strip_accents=False,
        model_max_length=max_length,
    )
    tokenizer.save_pretrained(str(directory))
    (directory / "vocab.txt").write_text("".join(f"{token}\n" for token in vocabulary), encoding="utf-8")
    bert_config = BertConfig(**{**config, "vocab_size": len(vocabulary), "pad_token_id": 0})
    bert_config.architectures = ["BertModel"]
    bert_config.save_pretrained(str(directory))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(bert_config)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})


def tiny_bert_parameters(texts: list[str], config: dict[str, Any], seed: int) -> dict[str, Any]:
    """What a tiny BERT directory records: equal parameters mean the same files."""
    corpus = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return {
        "generator": f"mtl_lab {GENERATOR}",
        "version": VERSION,
        "config": config,
        "seed": seed,
        "corpus_sha256": corpus,
        "corpus_texts": len(texts),
    }


def write_tiny_bert(
    directory: str | Path,
    texts: Iterable[str],
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    key: str = "data.tiny_bert_dir",
) -> Path:
    """The tiny BERT of ``texts`` in ``directory``: written (atomically), or reused if already the same."""
    texts = list(texts)
    merged = tiny_bert_config(config)
    parameters = tiny_bert_parameters(texts, merged, seed)

    def write(path: Path) -> None:
        _save(path, learn_vocabulary(texts, int(merged["vocab_size"])), merged, seed)

    return ensure_written(Path(directory), RECORD, parameters, write, key, "a tiny BERT")
