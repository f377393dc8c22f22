"""The tiny BERT: a cased vocabulary that is the same bytes in every process, saved so that
``from_pretrained(local_files_only=True)`` loads it back, seeded without touching the global RNG, written
once and refused over a different directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mtl_lab.data.reviews.generator import vocabulary_texts
from mtl_lab.errors import ConfigError
from mtl_lab.text.tiny_bert import SPECIAL_TOKENS, learn_vocabulary, write_tiny_bert

SMALL = {"hidden_size": 32, "intermediate_size": 64, "max_position_embeddings": 64}
FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors")


def texts() -> list[str]:
    return list(vocabulary_texts()[:600])


def test_the_vocabulary_is_cased_capped_and_ordered_specials_characters_merges() -> None:
    vocabulary = learn_vocabulary(["Kestrel kestrel Kestrel .", "kestrels fly ,"], 20)
    assert vocabulary[:5] == list(SPECIAL_TOKENS) and len(vocabulary) == len(set(vocabulary)) == 20
    characters = [t for t in vocabulary[5:] if len(t.removeprefix("##")) == 1]
    assert characters == sorted(characters) == vocabulary[5 : 5 + len(characters)]
    assert {"K", "k", ",", ".", "##l"} <= set(characters)
    assert learn_vocabulary(["Kestrel"], 13)[11:] == ["##el", "##es"]  # ties: the pair's strings decide
    assert len(learn_vocabulary(["Kestrel"], 8)) == 11  # never fewer than the characters
    assert {"Kestrel", "kestrel"} <= set(learn_vocabulary(["Kestrel kestrel Kestrel ."] * 3, 100))


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_the_tiny_bert_loads_back_from_pretrained_cased_and_deterministic(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    state = torch.get_rng_state()
    directory = write_tiny_bert(tmp_path / "tiny_bert", texts(), SMALL)
    assert torch.equal(torch.get_rng_state(), state)  # the seeded init left the global RNG alone
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    model = AutoModel.from_pretrained(str(directory), local_files_only=True)
    vocabulary = (directory / "vocab.txt").read_text().splitlines()
    assert tokenizer.is_fast and tokenizer.get_vocab() == {t: i for i, t in enumerate(vocabulary)}
    assert [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert tokenizer.pad_token_id == 0 and tokenizer.model_max_length == 64
    upper, lower = (tokenizer(w, add_special_tokens=False)["input_ids"] for w in ("The", "the"))
    assert upper != lower  # cased: capitals are kept (entities rely on them)
    encoded = tokenizer("The staff at Kalbridge Hotel were not friendly.")
    assert (
        encoded.tokens()[0] == "[CLS]" and encoded.tokens()[-1] == "[SEP]" and 1 not in encoded["input_ids"]
    )
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(vocabulary) <= 1000
    output = model(**tokenizer(["The room was clean ."], return_tensors="pt"))
    assert output.last_hidden_state.shape == (1, 7, 32)
    # another process (another hash seed) writes the same bytes
    corpus = tmp_path / "texts.json"
    corpus.write_text(json.dumps(texts()))
    script = (
        "import json, sys; from mtl_lab.text.tiny_bert import write_tiny_bert; "
        "write_tiny_bert(sys.argv[1], json.load(open(sys.argv[2])), json.loads(sys.argv[3]))"
    )
    other = tmp_path / "other"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", script, str(other), str(corpus), json.dumps(SMALL)], check=True, env=env
    )
    for name in (*FILES, "tiny_bert.json"):
        assert (other / name).read_bytes() == (directory / name).read_bytes(), name


def test_an_existing_tiny_bert_is_reused_when_the_same_and_refused_otherwise(tmp_path: Path) -> None:
    directory = tmp_path / "tiny_bert"
    write_tiny_bert(directory, texts(), SMALL)
    stamps = {name: (directory / name).stat().st_mtime_ns for name in FILES}
    write_tiny_bert(directory, texts(), SMALL)
    assert {name: (directory / name).stat().st_mtime_ns for name in FILES} == stamps
    with pytest.raises(
        ConfigError,
        match=r"^data.tiny_bert_dir: .*tiny_bert exists and holds a tiny BERT with \{.*'hidden_size': 32.*\}, not \{.*'hidden_size': 64.*\}; not overwriting it: choose another data.tiny_bert_dir$",
    ):
        write_tiny_bert(directory, texts(), {**SMALL, "hidden_size": 64})
    with pytest.raises(ConfigError, match="corpus_sha256"):
        write_tiny_bert(directory, texts()[:100], SMALL)
    assert {name: (directory / name).stat().st_mtime_ns for name in FILES} == stamps
    with pytest.raises(
        ConfigError,
        match=r"^data.tiny_bert_config: unknown BertConfig key 'hiden_size'.*did you mean 'hidden_size'\?$",
    ):
        write_tiny_bert(tmp_path / "x", texts(), {"hiden_size": 64})
    with pytest.raises(
        ConfigError, match=r"hidden_size \(30\) must be a multiple of num_attention_heads \(4\)$"
    ):
        write_tiny_bert(tmp_path / "x", texts(), {"hidden_size": 30, "num_attention_heads": 4})
    assert not (tmp_path / "x").exists()
