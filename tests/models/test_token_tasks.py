"""Token-level tasks through architecture=shared: per-token features for token tasks, the pooled vector
for sentence tasks, statistics w.r.t. the token states, and build_model's refusals."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from gradient_passes import assert_gramian_is_k_passes, measured_gramian
from omegaconf import OmegaConf
from text_models import INPUTS, encoder_node, text_batch, text_model, text_tasks

from mtl_lab import gradients
from mtl_lab.batch import Batch
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_model
from mtl_lab.losses import task_losses
from mtl_lab.models.architectures import SharedArchitecture


def test_a_sentence_and_a_token_task_train_together() -> None:
    model, tasks = text_model()
    batch = text_batch()
    output = model(batch.inputs)
    tokens = output.shared[0]
    assert len(output.shared) == 1 and tokens.shape == (4, 8, 16)
    assert output.features["ner"].shape == (4, 8, 16) and output.features["topic"].shape == (4, 16)
    assert output.predictions["ner"].shape == (4, 8, 5) and output.predictions["topic"].shape == (4, 3)
    losses = task_losses(tasks, output, batch)
    assert losses.counts.tolist() == [4, int(batch.masks["ner"].sum())]
    torch.stack(losses.terms).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_one_pass_needs_every_task_to_read_a_view_of_the_token_states() -> None:
    model, _ = text_model()
    output = model(text_batch().inputs)
    assert gradients.one_pass_views(output.features, output.shared) is None  # topic reads the pooled vector
    token_only = SharedArchitecture(["a", "b"], INPUTS, encoder_node(), token_tasks=["a", "b"])
    out = token_only(text_batch().inputs)
    assert gradients.one_pass_views(out.features, out.shared) is not None


@pytest.mark.parametrize("level", gradients.GRAD_LEVELS)
def test_mixed_task_statistics_equal_k_separate_backward_passes(level: str) -> None:
    model, tasks = text_model(pooling="mean")
    assert_gramian_is_k_passes(model, tasks, text_batch(), level)


def rank_share(batch: Batch, rows: slice) -> Batch:
    return Batch(
        inputs={k: v[rows] for k, v in batch.inputs.items()},
        targets={k: v[rows] for k, v in batch.targets.items()},
        masks={k: v[rows] for k, v in batch.masks.items()},
    )


@pytest.mark.parametrize("level", ["representation", "params"])
def test_two_simulated_ranks_reduce_to_the_gramian_of_the_whole_batch(level: str) -> None:
    """Rank r holds half the sequences; its losses are normalised by the global labelled counts, and the
    reduction of the ranks' statistics (rows averaged at parameters, Gramians summed / W^2 at the
    [B, T, D] token states) is the Gramian of the whole batch on one process."""
    model, tasks = text_model()
    batch = text_batch()
    whole = measured_gramian(model, tasks, batch, level)
    counts = task_losses(tasks, model(batch.inputs), batch).counts
    two = gradients.Reduction(world_size=2, sum=lambda local: counts)  # the all-reduced counts
    rows, gramians = [], []
    for share in (slice(0, 2), slice(2, 4)):
        part = rank_share(batch, share)
        output = model(part.inputs)
        losses = task_losses(tasks, output, part, two)
        inputs, views = gradients.level_inputs(model.architecture, output, level)
        rows.append(gradients.gradient_rows(losses.terms, inputs, views))
        gramians.append(gradients.gramian(losses.terms, inputs, True, views, reduction=two))  # G_r / W
    if level == "representation":
        reduced = (gramians[0] + gramians[1]) / 2  # the mean over ranks of G_r / W
    else:
        mean = (rows[0] + rows[1]) / 2
        reduced = mean @ mean.T
    assert torch.allclose(reduced, whole, rtol=1e-4, atol=1e-7)


def config(architecture: str, encoder: dict) -> object:
    return OmegaConf.create(
        {"architecture": {"name": architecture}, "encoder": encoder, "head": {"name": "linear"}}
    )


def test_build_model_hands_token_tasks_to_shared_and_refuses_other_architectures_and_encoders() -> None:
    data = SimpleNamespace(tasks=text_tasks(), input_specs=INPUTS)
    model = build_model(config("shared", encoder_node()), data)  # type: ignore[arg-type]
    assert model.architecture.token_tasks == ("ner",)
    with pytest.raises(
        ConfigError,
        match=r"^architecture=mmoe: cannot feed the token-level tasks \(ner\) .*; use architecture=shared$",
    ):
        build_model(config("mmoe", encoder_node()), data)  # type: ignore[arg-type]
    with pytest.raises(
        ConfigError, match=r"^encoder=mlp: the token-level tasks \(ner\) .*use encoder=transformer$"
    ):
        build_model(config("shared", {"name": "mlp"}), data)  # type: ignore[arg-type]
    sentence_only = SimpleNamespace(tasks={"topic": text_tasks()["topic"]}, input_specs=INPUTS)
    model = build_model(config("mmoe", encoder_node()), sentence_only)  # type: ignore[arg-type]
    assert model(text_batch().inputs).predictions["topic"].shape == (4, 3)
