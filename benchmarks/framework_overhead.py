"""Framework overhead: mtl_lab's training epoch time relative to a plain PyTorch loop, in one process.

Both train the same model (the default MultiDigits CNN, three tasks, `fixed` weights, Adam) on the same
data through the same DataLoader and batch size, and both update the train metrics every step:

- plain loop:  predictions = model(inputs); losses summed; backward; optimizer step; metrics update;
               metrics computed and reset at the end of the epoch;
- mtl_lab:     Trainer.fit of the composed config as a user gets it with the CSV logger on
               (log_every_n_steps=10), the progress bar and model summary off, no validation (the plain
               loop has none) and so no checkpointing or early stopping (they act on validation);
- bare Lightning: the plain loop's step as a LightningModule without logging, in the same Trainer, to
               tell Lightning's own loop cost from mtl_lab's (its step, per-step logging and hooks).

Each arm alternates epoch by epoch with the plain loop inside one Trainer.fit: a plain epoch runs
(untimed for the arm) at the start of every epoch of the arm and after its last one; an epoch of the arm
is timed from one epoch start to the next (epoch-end metric computation and logging included) and
divided by the mean of the two plain epochs around it, so the machine's drift cancels; the first epoch
of every round is warm-up. Ratios printed are medians over those epochs. Target: mtl_lab <= 1.03x the bare
LightningModule (mtl_lab's own step, logging and hooks; both ratios are to the same plain epochs).

    python benchmarks/framework_overhead.py [--rounds 3] [--epochs 4] [--threads 1] [--clock cpu]
        [OVERRIDE ...]   (Hydra overrides for both arms, e.g. trainer.log_every_n_steps=50)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from timing import (
    QUIET,
    compose_config,
    median,
    now,
    quiet_lightning,
    ratios_to_neighbours,
    use_clock,
    verdict,
)
from torch import Tensor, nn

from mtl_lab.batch import Batch
from mtl_lab.data import MultiTaskDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer

TARGET = 1.03  # mtl_lab / bare LightningModule
#: the default MultiDigits training set (8000 samples, 63 steps of 128 per epoch)
DATA = ["data=multi_digits", "encoder=cnn", "weighting=fixed", "data.val_size=16", "data.test_size=16"]


class PlainStep(nn.Module):
    """The model's work of one step done the plain way: forward, the summed task losses, metric updates;
    the metrics are computed and reset at the end of an epoch. Built like mtl_lab builds its module."""

    def __init__(self, cfg: DictConfig, datamodule: MultiTaskDataModule) -> None:
        super().__init__()
        module = build_module(cfg, datamodule)  # the same architecture, heads, tasks and optimizer factory
        self.model, self.tasks = module.model, module.tasks
        self.names = list(self.tasks)
        self.optimizer_factory = module.optimizer_factory
        self.metrics = nn.ModuleDict({t: self.tasks[t].make_metrics() for t in self.names})

    def forward(self, batch: Batch) -> Tensor:
        predictions = self.model(batch.inputs).predictions
        losses = [self.tasks[t].compute_loss(predictions[t], batch.targets[t]) for t in self.names]
        for t in self.names:
            self.metrics[t].update(*self.tasks[t].metric_inputs(predictions[t], batch.targets[t]))
        return torch.stack(losses).sum()

    def end_epoch(self) -> None:
        for t in self.names:
            self.metrics[t].compute()
            self.metrics[t].reset()


class PlainLoop:
    """The baseline: the plain step in a plain PyTorch loop over the same DataLoader."""

    def __init__(self, cfg: DictConfig, datamodule: MultiTaskDataModule) -> None:
        self.step = PlainStep(cfg, datamodule).train()
        self.optimizer = self.step.optimizer_factory(params=list(self.step.parameters()))
        self.loader = datamodule.train_dataloader()

    def epoch(self) -> float:
        start = now()
        for batch in self.loader:
            total = self.step(batch)
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
        self.step.end_epoch()
        return now() - start


class PlainLightningModule(pl.LightningModule):
    """The plain step as a bare LightningModule (no logging): what Lightning's loop alone costs."""

    def __init__(self, step: PlainStep) -> None:
        super().__init__()
        self.step = step

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self.step(batch)

    def on_train_epoch_end(self) -> None:
        self.step.end_epoch()

    def configure_optimizers(self) -> Any:
        return self.step.optimizer_factory(params=list(self.step.parameters()))


class PairedEpochs(pl.Callback):
    """Runs one plain epoch at the start of every epoch of the fit and after the last, outside the fit's
    epochs' timing, so each epoch of the fit has a plain epoch measured right before and right after it.
    An epoch of the fit runs from one epoch start to the next (epoch-end metrics and logging included)."""

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
        self.plain_s.append(self.plain.epoch())

    def ratios(self) -> list[float]:
        """Fit epoch / mean of the plain epochs around it, for every epoch of the fit after the first."""
        return ratios_to_neighbours(self.framework_s, self.plain_s)[1:]


@dataclass
class Arm:
    """Timings of one arm over all rounds."""

    ratios: list[float] = field(default_factory=list)
    plain_s: list[float] = field(default_factory=list)
    epoch_s: list[float] = field(default_factory=list)

    def add(self, epochs: PairedEpochs) -> None:
        self.ratios += epochs.ratios()
        self.plain_s += epochs.plain_s[1:]
        self.epoch_s += epochs.framework_s[1:]


def paired_epochs(
    datamodule: MultiTaskDataModule, epochs: int, out: Path, arm: str, overrides: list[str]
) -> PairedEpochs:
    """``epochs`` timed epochs of ``arm`` (after one warm-up) with plain epochs around each. ``arm``:
    ``mtl_lab`` (the composed MultiTaskModule) or ``lightning`` (the plain step as a LightningModule)."""
    cfg = compose_config(
        [*DATA, *QUIET, "callbacks=none", f"trainer.max_epochs={epochs + 1}", *overrides], out
    )
    torch.manual_seed(0)
    pairs = PairedEpochs(PlainLoop(cfg, datamodule))
    torch.manual_seed(0)
    module = (
        build_module(cfg, datamodule)
        if arm == "mtl_lab"
        else PlainLightningModule(PlainStep(cfg, datamodule))
    )
    trainer = build_trainer(cfg, [pairs])
    trainer.fit(module, datamodule=datamodule)
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--epochs", type=int, default=4, help="timed epochs per arm and round (after one warm-up)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall time"
    )
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for the runs, e.g. trainer.log_every_n_steps=50"
    )
    args = parser.parse_args(argv)
    use_clock(args.clock)
    torch.set_num_threads(args.threads)
    quiet_lightning()
    arms = {"lightning": Arm(), "mtl_lab": Arm()}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        datamodule = build_datamodule(compose_config([*DATA, *QUIET, *args.overrides], out))
        datamodule.setup("fit")
        for _ in range(args.rounds):
            for name, arm in arms.items():
                arm.add(paired_epochs(datamodule, args.epochs, out, name, args.overrides))
    steps = len(datamodule.train_dataloader())
    setting = f"CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}"
    print(f"# Framework overhead ({setting})")
    runs = f"{args.rounds} rounds x {args.epochs} epochs per arm"
    print(f"\nMultiDigits, default CNN, batch 128, {steps} steps/epoch, {runs}")
    if args.overrides:
        print(f"overrides: {' '.join(args.overrides)}")
    plain_s = arms["mtl_lab"].plain_s + arms["lightning"].plain_s
    print(f"plain PyTorch loop: {1000 * median(plain_s):.0f} ms/epoch")
    for name, label in (
        ("lightning", "the plain step as a bare LightningModule"),
        ("mtl_lab", "mtl_lab (fixed)"),
    ):
        arm = arms[name]
        spread = f"median of {len(arm.ratios)} epochs; min {min(arm.ratios):.3f}, max {max(arm.ratios):.3f}"
        print(
            f"{label}: {1000 * median(arm.epoch_s):.0f} ms/epoch, {median(arm.ratios):.3f}x plain ({spread})"
        )
    ratio = median(arms["mtl_lab"].ratios)
    own = ratio / median(arms["lightning"].ratios)
    print(f"mtl_lab / bare LightningModule: {own:.3f}x (mtl_lab's own step, logging and hooks)")
    print(f"target mtl_lab <= {TARGET}x bare LightningModule: {own:.3f}x {verdict(own, TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
