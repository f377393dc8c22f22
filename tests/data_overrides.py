"""Overrides that point data=table and data=text at their datamodules' own example files (the config
tests build every config file with them)."""

from __future__ import annotations

from pathlib import Path

from mtl_lab.data.table import TableDataModule
from mtl_lab.data.text import TextDataModule


def table_overrides(workdir: Path) -> list[str]:
    """data=table on the table datamodule's own example file."""
    example = TableDataModule.example(workdir)
    return [
        f"data.path={example['path']}",
        "data.features={numeric: [x1, x2], categorical: [colour]}",
        "data.tasks={flag: {kind: binary}, kind: {kind: classification}, amount: {kind: regression}}",
        "data.split_column=split",
        "encoder=tabular",
    ]


def text_overrides(workdir: Path) -> list[str]:
    """data=text on the text datamodule's own example (a sentence and a token task), read by a tiny
    fresh encoder=transformer (selected by the caller)."""
    example = TextDataModule.example(workdir)
    return [
        f"data.path={example['path']}",
        f"data.tokenizer={example['tokenizer']}",
        "data.tokens_column=tokens",
        "data.tasks={sentiment: {kind: classification}, entities: {column: tags, kind: token_classification}}",
        "data.split_column=split",
        "data.max_length=16",
        "+encoder.config.hidden_size=16",
        "+encoder.config.num_hidden_layers=1",
        "+encoder.config.num_attention_heads=2",
        "+encoder.config.intermediate_size=32",
    ]
