"""Text throughput: tokens per second of an mtl_lab run against a plain PyTorch + transformers loop, and the
cost of UPGrad's representation-level statistics on the same text model, in one process.

Setting: ``experiment=sentiment_ner`` (the tiny BERT written for ``data=reviews``, tasks ``sentiment`` on
the [CLS] state and ``ner`` on every token), the same batches (the datamodule's training loader: dynamic
padding) and batch size for every arm:

- plain loop:  h = BertModel(input_ids, attention_mask) (training mode: dropout on); sentiment logits =
               Linear(h[:, 0]); ner logits = Linear(h); cross-entropy of each (ner on the labelled first
               sub-tokens only), summed; backward; gradient norm clipped at the experiment's
               gradient_clip_val; AdamW step; no metrics;
- mtl_lab fixed:  Trainer.fit of the composed config (CSV logger on, no validation), ``weighting=fixed``,
               with its per-step train metrics (sentiment accuracy and F1, entity scores, token accuracy);
- mtl_lab upgrad: the same with ``weighting=upgrad weighting.grad_level=representation`` (the Gramian of
               the two tasks' gradients w.r.t. the per-token features).

Tokens are the attention mask's ones (padding excluded) of the timed steps (after the warm-up). A round
runs plain, fixed, plain, upgrad, plain; each mtl_lab arm's time per token is divided by the mean of the
plain arms around it, so the machine's drift cancels; medians over rounds.

    python benchmarks/text_throughput.py [--rounds 3] [--steps 40] [--warmup 3] [--threads 1]
        [OVERRIDE ...]   (Hydra overrides for every arm, e.g. data.batch_size=64)

Targets: mtl_lab fixed tokens/s >= 0.9x the plain loop's; upgrad step time <= 1.3x fixed's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from timing import (
    QUIET,
    add_step_arguments,
    apply_step_arguments,
    compose_config,
    markdown_table,
    median,
    now,
    verdict,
)
from torch import nn

from mtl_lab.batch import Batch
from mtl_lab.data import BaseDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer

THROUGHPUT_TARGET = 0.9  # mtl_lab fixed tokens/s / plain loop tokens/s, at least
STATISTICS_TARGET = 1.3  # upgrad step time / fixed step time, at most
WEIGHTINGS = {
    "fixed": ["weighting=fixed"],
    "upgrad": ["weighting=upgrad", "weighting.grad_level=representation"],
}


class TokenTimer(pl.Callback):
    """Time and tokens (attention-mask ones) of the training steps after ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.starts: list[float] = []
        self.tokens: list[int] = []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, *_: Any
    ) -> None:
        self.starts.append(now())
        self.tokens.append(int(batch.inputs["attention_mask"].sum()))

    def seconds_per_token(self) -> float:
        """Seconds from the first timed step's start to the last step's start, per token of those steps."""
        starts, tokens = self.starts[self.warmup :], self.tokens[self.warmup :]
        return (starts[-1] - starts[0]) / sum(tokens[:-1])


def time_mtl_lab(weighting: str, datamodule: BaseDataModule, args: argparse.Namespace, out: Path) -> float:
    """Seconds per token of one short Trainer.fit with ``weighting``."""
    overrides = [
        "experiment=sentiment_ner",
        *args.overrides,
        *WEIGHTINGS[weighting],
        *QUIET,
        "callbacks=none",
        f"trainer.max_steps={args.steps + args.warmup + 1}",
    ]
    cfg = compose_config(overrides, out)
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)
    timer = TokenTimer(args.warmup)
    build_trainer(cfg, [timer]).fit(module, datamodule=datamodule)
    return timer.seconds_per_token()


class PlainModel(nn.Module):
    """The tiny BERT and the two linear heads, as a user would write them without a framework."""

    def __init__(self, pretrained: str, tags: int) -> None:
        super().__init__()
        from transformers import AutoModel

        self.bert = AutoModel.from_pretrained(pretrained, local_files_only=True, add_pooling_layer=False)
        self.bert.train()  # from_pretrained returns eval mode; train with dropout, as mtl_lab does
        hidden = self.bert.config.hidden_size
        self.sentiment = nn.Linear(hidden, 2)
        self.ner = nn.Linear(hidden, tags)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.sentiment(states[:, 0]), self.ner(states)


def time_plain(
    datamodule: BaseDataModule, pretrained: str, lr: float, clip: float, args: argparse.Namespace
) -> float:
    """Seconds per token of the plain loop over the same training batches."""
    torch.manual_seed(0)
    model = PlainModel(pretrained, datamodule.tasks["ner"].num_outputs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    starts, tokens = [], []
    loader = iter(datamodule.train_dataloader())
    for _ in range(args.steps + args.warmup + 1):
        batch: Batch = next(loader)
        starts.append(now())
        ids, attention = batch.inputs["input_ids"], batch.inputs["attention_mask"]
        tokens.append(int(attention.sum()))
        sentiment, ner = model(ids, attention)
        mask = batch.masks["ner"]
        loss = F.cross_entropy(sentiment, batch.targets["sentiment"].long()) + F.cross_entropy(
            ner[mask], batch.targets["ner"][mask].long()
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # the experiment's gradient_clip_val
        optimizer.step()
    starts.append(now())
    timed, counted = starts[args.warmup :], tokens[args.warmup :]
    return (timed[-1] - timed[0]) / sum(counted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_step_arguments(parser, 40)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every arm")
    args = parser.parse_args(argv)
    apply_step_arguments(args)
    setting = f"CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}"
    print(f"# Text throughput: experiment=sentiment_ner, the tiny BERT on data=reviews ({setting})")
    seconds: dict[str, list[float]] = {"plain": [], "fixed": [], "upgrad": []}
    ratios: dict[str, list[float]] = {"fixed": [], "upgrad": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cfg = compose_config(["experiment=sentiment_ner", *args.overrides, *QUIET], out)
        batch_size = int(cfg.data.batch_size)
        cfg.data.train_size = batch_size * (args.steps + args.warmup + 2)
        datamodule = build_datamodule(cfg)
        datamodule.setup("fit")
        pretrained, lr = str(cfg.encoder.pretrained), float(cfg.optimizer.lr)
        clip = float(cfg.trainer.gradient_clip_val)
        for _ in range(args.rounds):
            plain = [time_plain(datamodule, pretrained, lr, clip, args)]
            for weighting in ("fixed", "upgrad"):
                measured = time_mtl_lab(weighting, datamodule, args, out)
                plain.append(time_plain(datamodule, pretrained, lr, clip, args))
                ratios[weighting].append(measured / ((plain[-2] + plain[-1]) / 2))
                seconds[weighting].append(measured)
            seconds["plain"] += plain
    throughput = 1 / median(ratios["fixed"])
    cost = median([u / f for u, f in zip(ratios["upgrad"], ratios["fixed"], strict=True)])
    rows = [
        ["plain PyTorch + transformers", f"{1 / median(seconds['plain']):.0f}", "1.00x", "-"],
        [
            "mtl_lab fixed",
            f"{1 / median(seconds['fixed']):.0f}",
            f"{throughput:.2f}x",
            f">= {THROUGHPUT_TARGET}x: {'PASS' if throughput >= THROUGHPUT_TARGET else 'MISS'}",
        ],
        [
            "mtl_lab upgrad (representation)",
            f"{1 / median(seconds['upgrad']):.0f}",
            f"{1 / median(ratios['upgrad']):.2f}x",
            f"step time {cost:.2f}x fixed, <= {STATISTICS_TARGET}x: {verdict(cost, STATISTICS_TARGET)}",
        ],
    ]
    print(f"\nbatch size {batch_size}, {args.steps} timed steps per run, {args.rounds} round(s)\n")
    print(markdown_table(["arm", "tokens/s", "tokens/s ÷ plain", "target"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
