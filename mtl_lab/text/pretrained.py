"""A local pretrained model directory (``encoder.pretrained``, ``data.tokenizer``): checked, and its
tokenizer loaded with ``from_pretrained(..., local_files_only=True)``, so nothing is ever downloaded.

The tokenizer must be a fast (Rust ``tokenizers``) one: aligning word labels to sub-tokens reads its
``word_ids()``. A missing directory, or one without tokenizer or model files, is a one-line
:class:`~mtl_lab.errors.ConfigError` naming the path and the files looked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mtl_lab.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

#: Files of which a tokenizer directory holds at least one.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
#: Files of which a model directory holds at least one.
MODEL_FILES = ("config.json",)


def pretrained_directory(path: str | Path, key: str, needs: tuple[str, ...] = TOKENIZER_FILES) -> Path:
    """``path`` as a directory holding one of ``needs``; else a one-line error naming ``key``."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"{key}: {directory} is not a directory; point it at a local model directory "
            "(one written by save_pretrained)"
        )
    if not any((directory / name).is_file() for name in needs):
        raise ConfigError(f"{key}: {directory} has none of {', '.join(needs)}")
    return directory


def load_tokenizer(path: str | Path, key: str) -> PreTrainedTokenizerFast:
    """The fast tokenizer saved in directory ``path`` (local files only)."""
    from transformers import AutoTokenizer

    directory = pretrained_directory(path, key)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    if not tokenizer.is_fast:
        raise ConfigError(
            f"{key}: the tokenizer in {directory} is a slow (Python) one; word labels need a fast "
            "tokenizer (tokenizer.json)"
        )
    return tokenizer
