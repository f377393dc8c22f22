"""Framework overhead: mtl_lab's training epoch time relative to a plain PyTorch loop, in one process.

Both train the same model (the default MultiDigits CNN, three tasks, `fixed` weights, Adam) on the same
data through the same DataLoader and batch size, and both update the train metrics every step:

- plain loop:  features = architecture(x); losses summed; backward; optimizer step; metrics update;
               metrics computed and reset at the end of the epoch;
- mtl_lab:     Trainer.fit of the composed config as a user gets it with the CSV logger on
               (log_every_n_steps=10), the progress bar and model summary off, no validation (the plain
               loop has none) and so no checkpointing or early stopping (they act on validation).

The two alternate epoch by epoch inside one Trainer.fit: a plain epoch runs (untimed for mtl_lab) at the
start of every mtl_lab epoch; an mtl_lab epoch is timed from one epoch start to the next (epoch-end
metric computation and logging included). The first pair of every round is warm-up; the ratio printed is
the median over all epoch pairs of mtl_lab / plain. Target: <= 1.05x.

    python benchmarks/framework_overhead.py [--rounds 2] [--epochs 3] [--threads 1] [--clock cpu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from timing import QUIET, compose_config, median, now, quiet_lightning, use_clock, verdict

from mtl_lab.data import MultiTaskDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer

TARGET = 1.05
#: the default MultiDigits training set (8000 samples, 63 steps of 128 per epoch)
DATA = ["data=multi_digits", "encoder=cnn", "weighting=fixed", "data.val_size=16", "data.test_size=16"]


class PlainLoop:
    """The baseline: the same model and optimizer in a plain PyTorch loop over the same DataLoader."""

    def __init__(self, cfg: DictConfig, datamodule: MultiTaskDataModule) -> None:
        module = build_module(cfg, datamodule)  # the same architecture, heads, tasks and optimizer factory
        self.architecture, self.heads, self.tasks = module.architecture, module.heads, module.tasks
        self.names = list(self.tasks)
        self.optimizer = module.optimizer_factory(params=[p for p in module.parameters() if p.requires_grad])
        self.metrics = {t: self.tasks[t].make_metrics() for t in self.names}
        self.loader = datamodule.train_dataloader()
        module.train()

    def epoch(self) -> float:
        start = now()
        for batch in self.loader:
            features = self.architecture(batch["inputs"])
            predictions = {t: self.heads[t](features.per_task[t]) for t in self.names}
            losses = [
                self.tasks[t].compute_loss(predictions[t], batch["targets"][t], None) for t in self.names
            ]
            total: Any = torch.stack(losses).sum()
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
            for t in self.names:
                self.metrics[t].update(*self.tasks[t].metric_inputs(predictions[t], batch["targets"][t]))
        for t in self.names:
            self.metrics[t].compute()
            self.metrics[t].reset()
        return now() - start


class PairedEpochs(pl.Callback):
    """Runs one plain epoch at the start of every mtl_lab epoch, outside the mtl_lab epoch's timing, so
    each mtl_lab epoch has a plain epoch measured right before it (pairs share the machine's state).
    An mtl_lab epoch runs from one epoch start to the next (epoch-end metrics and logging included)."""

    def __init__(self, plain: PlainLoop) -> None:
        self.plain = plain
        self.plain_s: list[float] = []
        self.framework_s: list[float] = []
        self._mark: float | None = None

    def _close(self) -> None:
        if self._mark is not None:
            self.framework_s.append(now() - self._mark)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close()
        self.plain_s.append(self.plain.epoch())
        self._mark = now()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close()


def paired_epochs(datamodule: MultiTaskDataModule, epochs: int, out: Path) -> list[tuple[float, float]]:
    """(plain, mtl_lab) seconds of ``epochs`` epoch pairs, after one warm-up pair."""
    cfg = compose_config([*DATA, *QUIET, "callbacks=none", f"trainer.max_epochs={epochs + 1}"], out)
    torch.manual_seed(0)
    pairs = PairedEpochs(PlainLoop(cfg, datamodule))
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)
    trainer = build_trainer(cfg, [pairs])
    trainer.fit(module, datamodule=datamodule)
    return list(zip(pairs.plain_s, pairs.framework_s, strict=True))[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="timed epoch pairs per run (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall time"
    )
    args = parser.parse_args(argv)
    use_clock(args.clock)
    torch.set_num_threads(args.threads)
    quiet_lightning()
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        datamodule = build_datamodule(compose_config([*DATA, *QUIET], out))
        datamodule.setup("fit")
        for _ in range(args.rounds):
            pairs += paired_epochs(datamodule, args.epochs, out)
    ratios = [framework / plain for plain, framework in pairs]
    plain_s = [plain for plain, _ in pairs]
    framework_s = [framework for _, framework in pairs]
    steps = len(datamodule.train_dataloader())
    ratio = median(ratios)
    setting = f"CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}"
    print(f"# Framework overhead ({setting})")
    runs = f"{args.rounds} rounds x {args.epochs} epochs"
    print(f"\nMultiDigits, default CNN, batch 128, {steps} steps/epoch, {runs}")
    print(f"plain PyTorch loop: {1000 * median(plain_s):.0f} ms/epoch")
    print(f"mtl_lab Trainer.fit (fixed): {1000 * median(framework_s):.0f} ms/epoch")
    spread = f"epoch pairs: min {min(ratios):.3f}, max {max(ratios):.3f}"
    print(f"ratio mtl_lab / plain: {ratio:.3f}x (median of {len(ratios)} epoch pairs; {spread})")
    print(f"target <= {TARGET}x: {verdict(ratio, TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
