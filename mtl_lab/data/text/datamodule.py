"""``data=text``: a user's own text file(s) as a multi-task dataset, tokenized once per split.

Files, splits and sentence labels follow ``data=table`` (one ``path`` split by ``split`` fractions or a
``split_column``, or ``train_path``/``val_path``/``test_path``; :mod:`mtl_lab.data.table.splits`,
:mod:`~mtl_lab.data.table.labels`). The input is ``text_column`` (raw text) or, when given,
``tokens_column`` (a list of words per row, tokenized with ``is_split_into_words``; needed by
``token_classification`` tasks, whose column holds one tag per word, :mod:`~mtl_lab.data.text.tags`).

The tokenizer (``tokenizer``: a local directory, by default the encoder's ``encoder.pretrained``) is
loaded when first needed; each split is tokenized once in :meth:`TextDataModule.setup` to at most
``max_length`` tokens (capped by the tokenizer's ``model_max_length``; longer rows: ``truncation``) and
kept unpadded; batches are padded to their own longest row (:mod:`~mtl_lab.data.text.dataset`). Inputs:
``input_ids`` and ``attention_mask``, Long[B, T]. The training loader is shuffled from (``seed``, epoch)
and resumable mid-epoch, optionally length-bucketed (``bucketing``, :mod:`~mtl_lab.data.text.bucketing`).

Class lists and tag vocabularies are fitted on the train split when the datamodule is built (the
tasks' sizes depend on them), saved as ``preprocessing.json`` and loaded back by ``mtl-eval``
(:mod:`~mtl_lab.data.text.state`). Every task has a mask (a missing label or tag list masks the row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, SPLITS, DatasetDataModule, select_tasks
from mtl_lab.data.resumable_loader import ResumableLoader, training_loader
from mtl_lab.data.table.config import TaskColumn
from mtl_lab.data.table.labels import Classes, fit_classes
from mtl_lab.data.table.source import task_where
from mtl_lab.data.table.splits import (
    check_fractions,
    check_split_column,
    read_per_split,
    resolve_sources,
    split_rows,
)
from mtl_lab.data.text.bucketing import BucketSampler
from mtl_lab.data.text.config import TOKEN_KIND, check_options, check_tokenizer, parse_text_tasks
from mtl_lab.data.text.dataset import TextDataset, TextSplit
from mtl_lab.data.text.encode import encode_split, report_truncation
from mtl_lab.data.text.example_file import write_example_text, write_tokenizer
from mtl_lab.data.text.source import TextFile, read_text_file
from mtl_lab.data.text.state import declare_text_tasks, load_text_state, text_state
from mtl_lab.data.text.tags import fit_tags
from mtl_lab.tasks import TaskSpec
from mtl_lab.text.pretrained import load_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


@DATAMODULES.register("text")
class TextDataModule(DatasetDataModule):
    """A text file (or one per split) with a text column and label columns (see the module docstring)."""

    name = "text"

    def __init__(
        self,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        text_column: str = "text",
        tokens_column: str | None = None,
        tasks: Mapping[str, Mapping[str, Any] | None] | None = None,
        tokenizer: str | None = None,
        max_length: int = 128,
        truncation: str = "warn",
        bucketing: bool = False,
        split: Mapping[str, float] | None = None,
        split_column: str | None = None,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int | None = 0,
        use_tasks: Sequence[str] | str | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, num_workers, seed)
        check_options(max_length, truncation, text_column, tokens_column)
        self.text_column, self.tokens_column = text_column, tokens_column
        self.task_columns: dict[str, TaskColumn] = {
            t.task: t for t in parse_text_tasks(tasks, text_column, tokens_column)
        }
        self.tokenizer_path = check_tokenizer(tokenizer)
        self.max_length_setting, self.truncation, self.bucketing = max_length, truncation, bucketing
        self.sources = resolve_sources(path, train_path, val_path, test_path)
        self.fractions = check_fractions(split)
        source = tokens_column if tokens_column is not None else text_column
        used = [source, *(t.column for t in self.task_columns.values())]
        check_split_column(split_column, self.sources, used, "text or label")
        self.split_column = split_column
        self._files: dict[str, TextFile] | None = None
        self._rows: dict[str, np.ndarray | None] = {}
        self._splits: dict[str, TextSplit] = {}
        self._vocabularies: dict[str, Classes] = self._fit_vocabularies()
        self.tasks: dict[str, TaskSpec] = select_tasks(self.declare_tasks(), use_tasks, self.name)

    # --- reading -------------------------------------------------------------------------------
    def _read(self) -> dict[str, TextFile]:
        """Each split's file, read (once; again after the splits are encoded and the columns dropped)."""
        if self._files is None:
            tasks = list(self.task_columns.values())

            def read(path: Path, key: str) -> TextFile:
                return read_text_file(
                    path, key, self.text_column, self.tokens_column, tasks, self.split_column
                )

            files = read_per_split(self.sources, read)
            train = files["train"]
            self._rows = split_rows(
                self.sources, train.n_rows, train.split_values, self.split_column, self.fractions, self.seed
            )
            self._files = files
        return self._files

    def _fit_vocabularies(self) -> dict[str, Classes]:
        """Each classification task's classes and each token task's tags, from the train split."""
        train, rows = self._read()["train"], self._rows["train"]
        fitted: dict[str, Classes] = {}
        for task, column in self.task_columns.items():
            where = task_where(column, train.path)
            if column.kind == "classification":
                fitted[task] = fit_classes(train.labels_of(task, rows), where)
            elif column.kind == TOKEN_KIND:
                fitted[task] = fit_tags(train.tags_of(task, rows), where)
        return fitted

    def describe_source(self) -> str:
        """The file(s) read, for messages."""
        return self.sources.describe()

    # --- tokenizer, tasks and inputs ---------------------------------------------------------------
    @cached_property
    def tokenizer(self) -> PreTrainedTokenizerFast:
        """The fast tokenizer of ``data.tokenizer``, loaded when first needed."""
        return load_tokenizer(self.tokenizer_path, "data.tokenizer")

    @property
    def max_length(self) -> int:
        """``data.max_length``, capped by the tokenizer's ``model_max_length``."""
        return int(min(self.max_length_setting, self.tokenizer.model_max_length))

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return 0 if pad is None else int(pad)

    @property
    def vocabularies(self) -> dict[str, Classes]:
        """Each classification task's classes and each token task's tags (fitted, or saved ones loaded)."""
        return dict(self._vocabularies)

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return declare_text_tasks(self.task_columns, self._vocabularies)

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        ids = InputSpec((self.max_length,), torch.long, vocab_size=len(self.tokenizer))
        return {"input_ids": ids, "attention_mask": InputSpec((self.max_length,), torch.long)}

    # --- splits --------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Tokenize and encode every split (once)."""
        if self._splits:
            return
        files = self._read()
        tasks = {task: self.task_columns[task] for task in self.tasks}
        splits, truncations = {}, []
        for split in SPLITS:
            encoded, truncation = encode_split(
                files[split],
                self._rows[split],
                split,
                tasks,
                self._vocabularies,
                self.tokenizer,
                self.max_length,
            )
            splits[split] = encoded
            truncations.append(truncation)
        report_truncation(truncations, self.truncation, self.max_length, self.describe_source())
        self._splits = splits
        self._files = None  # the encoded splits hold everything now; the columns are read again if needed

    def split(self, name: str) -> TextSplit:
        """The encoded split ``name`` (set up when first asked)."""
        self.setup()
        return self._splits[name]

    def labelled_counts(self) -> dict[str, dict[str, int]]:
        return {s: {t: self.split(s).labelled_count(t) for t in self.tasks} for s in SPLITS}

    def dataset(self, split: str) -> TextDataset:
        return TextDataset(self.split(split), self.pad_id)

    # --- loaders -------------------------------------------------------------------------------------
    def train_dataloader(self) -> ResumableLoader:
        """Shuffled from (``seed``, epoch), bucketed by length with ``bucketing``, this rank's share
        under DDP, its position checkpointed (:mod:`mtl_lab.data.resumable_loader`)."""
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        dataset = self.dataset("train")
        sampler = (
            BucketSampler(dataset, dataset.lengths, self.batch_size, self.seed, replicas, rank)
            if self.bucketing
            else None
        )
        return training_loader(
            dataset, self.batch_size, self.seed, replicas, rank, sampler, **self.loader_options()
        )

    # --- preprocessing state ---------------------------------------------------------------------
    def preprocessing_state(self) -> dict[str, Any]:
        """``format`` and ``tasks`` (``{task: {column, kind, classes? | tags?}}``, in index order)."""
        return text_state(self.task_columns, self._vocabularies)

    def load_preprocessing_state(self, state: Mapping[str, Any]) -> None:
        """Use saved class lists and tags (hence tasks and their sizes) from the next ``setup`` on."""
        self._vocabularies = load_text_state(state, self.task_columns)
        declared = self.declare_tasks()
        self.tasks = {task: declared[task] for task in self.tasks}
        self._splits = {}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        workdir = Path(workdir)
        return {
            "path": str(write_example_text(workdir / "example_text.jsonl")),
            "tokens_column": "tokens",
            "tasks": {
                "sentiment": {"column": "sentiment", "kind": "classification"},
                "entities": {"column": "tags", "kind": TOKEN_KIND},
            },
            "tokenizer": str(write_tokenizer(workdir / "example_tokenizer")),
            "max_length": 16,
            "split_column": "split",
            "batch_size": 8,
        }
