from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from conftest import SMALL_CNN
from omegaconf import DictConfig
from pytorch_lightning.plugins.precision import MixedPrecision

from mtl_lab.batch import Batch
from mtl_lab.experiment import build_datamodule, build_experiment, build_module
from mtl_lab.gradients import level_inputs
from mtl_lab.module import MultiTaskModule, StepOutput
from mtl_lab.weighting import WEIGHTINGS

GRAD_LEVELS = ["last_shared_layer", "representation", "params"]


def module_and_batch(cfg: DictConfig) -> tuple[MultiTaskModule, Batch]:
    dm = build_datamodule(cfg)
    dm.setup("fit")
    return build_module(cfg, dm), next(iter(dm.train_dataloader()))


@pytest.fixture
def grad_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per ``torch.autograd.grad`` call (each is one backward pass) made during the test."""
    calls: list[int] = []
    grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or grad(*a, **k))
    return calls


@pytest.mark.parametrize("weighting", WEIGHTINGS.names())
def test_exactly_one_backward_per_step_for_every_strategy(
    weighting: str, make_config: Callable[..., DictConfig]
) -> None:
    cfg = make_config(
        f"weighting={weighting}",
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=3",
        "trainer.limit_val_batches=1",
        "test=false",
    )
    experiment = build_experiment(cfg)
    module = experiment.module
    counts: Counter[str] = Counter()
    for name, param in module.named_parameters():
        param.register_post_accumulate_grad_hook(lambda p, name=name: counts.update([name]))
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    trainable = [n for n, p in module.named_parameters() if p.requires_grad]
    assert {counts[n] for n in trainable} == {3}, "every parameter's .grad is accumulated once per step"


@pytest.mark.parametrize("level", GRAD_LEVELS)
def test_task_gramian_matches_separate_per_task_backward_passes(
    level: str, make_config: Callable[..., DictConfig]
) -> None:
    module, batch = module_and_batch(
        make_config("weighting=gradnorm", f"weighting.grad_level={level}", *SMALL_CNN)
    )
    module.eval()  # freeze batch-norm statistics so every forward pass is identical
    step = module.shared_step(batch)
    gramian = module.task_gramian(step)

    rows = []
    for k in range(len(module.task_names)):
        fresh = module.shared_step(batch)
        inputs, _ = level_inputs(module.model.architecture, fresh.output, level)
        grads = torch.autograd.grad(fresh.losses.values[k], inputs)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    expected = torch.stack(rows) @ torch.stack(rows).T
    assert gramian.shape == (3, 3)
    assert torch.allclose(gramian, expected, rtol=1e-4, atol=1e-6)
    # features that are not per-task views (another architecture): one pass per task, same Gramian
    features = {t: f * 1.0 for t, f in step.output.features.items()}
    plain = StepOutput(dataclasses.replace(step.output, features=features), step.losses)
    assert torch.allclose(module.task_gramian(plain), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("level", "passes"), [("representation", 1), ("last_shared_layer", 3), ("params", 3)]
)
def test_task_gramian_takes_one_backward_pass_at_the_representation_of_hard_sharing(
    level: str, passes: int, make_config: Callable[..., DictConfig], grad_calls: list[int]
) -> None:
    module, batch = module_and_batch(make_config("weighting=upgrad", *SMALL_CNN))
    step = module.shared_step(batch)
    module.task_gramian(step, level)
    assert len(grad_calls) == passes


def test_each_gradient_pass_goes_through_its_own_task_head_only(
    make_config: Callable[..., DictConfig],
) -> None:
    module, batch = module_and_batch(make_config("weighting=gradnorm", "weighting.grad_level=representation"))
    calls: Counter[str] = Counter()
    for task, head in module.model.heads.items():
        head.register_full_backward_hook(lambda *args, task=task: calls.update([task]))
    step = module.shared_step(batch)
    module.task_gramian(step, "params")
    assert calls == {"left": 1, "right": 1, "sum": 1}


@pytest.mark.parametrize("weighting", WEIGHTINGS.names())
def test_statistics_are_computed_only_when_the_strategy_asks(
    weighting: str, make_config: Callable[..., DictConfig], grad_calls: list[int]
) -> None:
    module, batch = module_and_batch(make_config(f"weighting={weighting}", *SMALL_CNN))
    stats = module.statistics(module.shared_step(batch))
    needs_grads = bool(module.weighting.requires & {"grad_norms", "gramian"})
    passes = 1 if module.weighting.grad_level == "representation" else 3  # hard sharing: one pass there
    assert len(grad_calls) == (passes if needs_grads else 0)
    assert (stats.grad_norms is not None) == needs_grads
    assert (stats.global_losses is not None) == ("global_losses" in module.weighting.requires)
    if needs_grads:
        assert torch.allclose(stats.grad_norms**2, stats.gramian.diagonal())


def test_logged_names_follow_the_split_task_metric_convention(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("weighting=uncertainty", *SMALL_CNN, "trainer.max_epochs=1", "test=false")
    experiment = build_experiment(cfg)
    experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    logged = set(experiment.trainer.callback_metrics)
    for task in ("left", "right", "sum"):
        assert {
            f"train/{task}/loss",
            f"val/{task}/loss",
            f"train/weight/{task}",
            f"train/log_var/{task}",
        } <= logged
    assert {
        "val/left/accuracy",
        "val/left/macro_f1",
        "val/sum/mae",
        "val/sum/rmse",
        "train/left/accuracy",
    } <= logged
    assert {"train/loss", "val/loss", "train/objective"} <= logged
    val = experiment.trainer.callback_metrics
    assert torch.isclose(
        val["val/loss"], sum(val[f"val/{t}/loss"] for t in ("left", "right", "sum")), rtol=1e-5
    )


def test_objective_is_the_weighted_sum_plus_the_strategys_term(
    make_config: Callable[..., DictConfig],
) -> None:
    module, batch = module_and_batch(
        make_config("weighting=uncertainty", "weighting.init_log_var=0.5", *SMALL_CNN)
    )
    objective = module.training_step(batch, 0)  # outside a Trainer, self.log() is a no-op
    losses = module.shared_step(batch).losses.values.detach()
    precisions = torch.exp(torch.tensor(-0.5)) * torch.tensor([1.0, 1.0, 0.5])
    assert torch.isclose(objective, (precisions * losses).sum() + 0.5 * 0.5 * 3, rtol=1e-4)


def test_per_step_values_are_written_on_lightnings_schedule_and_train_metrics_cover_the_epoch(
    make_config: Callable[..., DictConfig],
) -> None:
    # lr = 0 and an MLP without dropout: predictions do not change, so the epoch's train accuracy is the
    # model's accuracy on the whole train split (4 batches of 64), whatever the batch order
    cfg = make_config(
        "encoder=mlp", "optimizer.lr=0", "trainer.max_epochs=1", "trainer.log_every_n_steps=3", "test=false"
    )
    experiment = build_experiment(cfg)
    module = experiment.module
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    with open(Path(cfg.paths.output_dir, "csv", "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows if r["train/loss"]] == [
        2
    ]  # (step + 1) % 3 == 0, as Lightning writes
    (epoch_row,) = [r for r in rows if r["train/left/accuracy"]]
    split = experiment.datamodule.split("train")
    with torch.no_grad():
        predicted = module(split.inputs)["left"].argmax(dim=1)
    expected = (predicted == split.targets["left"]).float().mean()
    assert float(epoch_row["train/left/accuracy"]) == pytest.approx(float(expected), abs=1e-6)
    assert {"train/loss", "train/objective", "train/weight/left"} <= set(experiment.trainer.callback_metrics)


@pytest.mark.parametrize(
    ("weighting", "level"),
    [("upgrad", "representation"), ("gradnorm", "last_shared_layer"), ("dbmtl", "params")],
)
def test_fp16_grad_scaler_statistics_are_measured_scaled_and_unscaled(
    weighting: str, level: str, make_config: Callable[..., DictConfig]
) -> None:
    """16-mixed with a grad scaler (Lightning's CUDA path, run on the CPU with a CPU scaler): every step's
    Gramian is measured on the scaled losses and equals, unscaled, the Gramian of the plain losses."""
    cfg = make_config(f"weighting={weighting}", f"weighting.grad_level={level}", *SMALL_CNN)
    dm = build_datamodule(cfg)
    module = build_module(cfg, dm)
    measured = module.task_gramian
    seen: list[tuple[float, torch.Tensor, torch.Tensor]] = []

    def recording(step: StepOutput, level: str | None = None) -> torch.Tensor:
        scale = module._loss_scale()
        gramian = measured(step, level)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, "_loss_scale", lambda: 1.0)
            plain = measured(step, level)
        seen.append((scale, gramian, plain))
        return gramian

    module.task_gramian = recording  # type: ignore[method-assign]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=3,
        limit_val_batches=0,
        plugins=[MixedPrecision("16-mixed", "cpu", scaler)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=dm)
    assert trainer.global_step == 3 and len(seen) == 3
    for scale, gramian, plain in seen:
        assert scale > 1.0  # the scaler may halve its scale after an overflowing step
        assert torch.isfinite(gramian).all() and gramian.dtype == torch.float32
        assert torch.allclose(gramian, plain, rtol=1e-2, atol=1e-6 * float(plain.abs().max()))
    assert torch.isfinite(module.weighting.current_coefficients()).all()
