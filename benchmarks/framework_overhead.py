"""Framework overhead: mtl_lab's training epoch time relative to a plain PyTorch loop, in one process.

Both train the same model (the default MultiDigits CNN, three tasks, `fixed` weights, Adam) on the same
data through the same DataLoader and batch size, and both update the train metrics every step:

- plain loop:  features = architecture(x); losses summed; backward; optimizer step; metrics update;
               metrics computed and reset at the end of the epoch;
- mtl_lab:     Trainer.fit of the composed config as a user gets it with the CSV logger on
               (log_every_n_steps=10), the progress bar and model summary off, no validation (the plain
               loop has none) and so no checkpointing or early stopping (they act on validation).

An epoch is timed from one epoch start to the next (epoch-end metric computation and logging included);
rounds alternate the two, each round gives a median epoch time per side, and the ratio printed is the
median over rounds of mtl_lab / plain. Target: <= 1.05x.

    python benchmarks/framework_overhead.py [--rounds 5] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from timing import QUIET, compose_config, median, now, quiet_lightning, use_clock, verdict

from mtl_lab.data import MultiTaskDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer

TARGET = 1.05
DATA = ["data=multi_digits", "encoder=cnn", "weighting=fixed", "data.train_size=2560", "data.val_size=16"]


class EpochTimer(pl.Callback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.starts.append(now())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.starts.append(now())


def mtl_lab_epochs(datamodule: MultiTaskDataModule, epochs: int, out: Path) -> list[float]:
    # one extra epoch first: warm-up (allocator, first CSV writes)
    cfg = compose_config([*DATA, *QUIET, "callbacks=none", f"trainer.max_epochs={epochs + 1}"], out)
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)
    timer = EpochTimer()
    trainer = build_trainer(cfg, [timer])
    trainer.fit(module, datamodule=datamodule)
    return [b - a for a, b in zip(timer.starts, timer.starts[1:], strict=False)][1:]


def plain_epochs(datamodule: MultiTaskDataModule, epochs: int, out: Path) -> list[float]:
    cfg = compose_config([*DATA, *QUIET], out)
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)  # the same architecture, heads, tasks and optimizer factory
    architecture, heads, tasks = module.architecture, module.heads, module.tasks
    names = list(tasks)
    optimizer = module.optimizer_factory(params=[p for p in module.parameters() if p.requires_grad])
    metrics = {t: tasks[t].make_metrics() for t in names}
    module.train()
    loader = datamodule.train_dataloader()
    times = []
    for _ in range(epochs + 1):
        start = now()
        for batch in loader:
            features = architecture(batch["inputs"])
            predictions = {t: heads[t](features.per_task[t]) for t in names}
            losses = [tasks[t].compute_loss(predictions[t], batch["targets"][t], None) for t in names]
            total: Any = torch.stack(losses).sum()
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            for t in names:
                metrics[t].update(*tasks[t].metric_inputs(predictions[t], batch["targets"][t]))
        for t in names:
            metrics[t].compute()
            metrics[t].reset()
        times.append(now() - start)
    return times[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per run (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall time"
    )
    args = parser.parse_args(argv)
    use_clock(args.clock)
    torch.set_num_threads(args.threads)
    quiet_lightning()
    ratios, plain_s, framework_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        datamodule = build_datamodule(compose_config([*DATA, *QUIET], out))
        datamodule.setup("fit")
        for _ in range(args.rounds):
            plain = median(plain_epochs(datamodule, args.epochs, out))
            framework = median(mtl_lab_epochs(datamodule, args.epochs, out))
            ratios.append(framework / plain)
            plain_s.append(plain)
            framework_s.append(framework)
    steps = len(datamodule.train_dataloader())
    ratio = median(ratios)
    setting = f"CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}"
    print(f"# Framework overhead ({setting})")
    runs = f"{args.rounds} rounds x {args.epochs} epochs"
    print(f"\nMultiDigits, default CNN, batch 128, {steps} steps/epoch, {runs}")
    print(f"plain PyTorch loop: {1000 * median(plain_s):.0f} ms/epoch")
    print(f"mtl_lab Trainer.fit (fixed): {1000 * median(framework_s):.0f} ms/epoch")
    print(f"ratio mtl_lab / plain: {ratio:.3f}x (rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
    print(f"target <= {TARGET}x: {verdict(ratio, TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
