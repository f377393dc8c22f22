"""TaskAttentionArchitecture: token shapes, attention rows that sum to 1, tasks that depend on each other
through attention, what it declares shared, and one-line errors for bad sizes."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mtl_lab import gradients
from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.callbacks.task_attention import TaskAttentionMap
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures import ARCHITECTURES, TaskAttentionArchitecture

INPUTS = {"features": InputSpec((5,))}
ENCODER = {"name": "mlp", "hidden_dims": [8, 6]}


def build(**settings: Any) -> TaskAttentionArchitecture:
    torch.manual_seed(0)
    node = {"name": "task_attention", **settings}
    return ARCHITECTURES.build(node, tasks=["a", "b", "c"], inputs=INPUTS, encoder=ENCODER).eval()


@pytest.mark.parametrize(
    "settings",
    [
        {"d_model": 8, "num_heads": 2},
        {"d_model": 12, "num_heads": 3, "num_layers": 3},
        {"d_model": 8, "num_heads": 4, "num_layers": 2, "ffn_dim": 16, "dropout": 0.1},
    ],
)
def test_each_task_reads_its_own_token_and_attention_rows_sum_to_one(settings: dict[str, Any]) -> None:
    architecture = build(**settings)
    out = architecture(example_inputs(INPUTS, 4))
    assert list(out.features) == ["a", "b", "c"]
    assert all(f.shape == (4, settings["d_model"]) for f in out.features.values())
    assert architecture.feature_dim("b") == settings["d_model"]
    assert len(out.shared) == 1 and out.shared[0].shape == (4, 6) and not out.aux_losses
    attention = architecture.latest_attention
    assert attention is not None and attention.shape == (3, 3) and not attention.requires_grad
    assert torch.allclose(attention.sum(dim=1), torch.ones(3)) and bool((attention >= 0).all())
    assert architecture.latest_samples == 4


def test_the_stored_attention_is_the_last_layers_mean_over_batch_and_heads() -> None:
    architecture = build(d_model=8, num_heads=2, num_layers=2)
    inputs = example_inputs(INPUTS, 5)
    architecture(inputs)
    z = architecture.encoder(inputs)
    h = torch.stack([p(z) for p in architecture.projections], dim=1)
    h, _ = architecture.layers[0](h, need_weights=False)
    _, weights = architecture.layers[1].attention(h, h, h, average_attn_weights=False)  # [B, heads, K, K]
    assert torch.allclose(architecture.latest_attention, weights.mean(dim=(0, 1)), atol=1e-6)


def test_a_tasks_features_change_when_another_tasks_projection_changes() -> None:
    architecture = build(d_model=8, num_heads=2, ffn_dim=8)
    inputs = example_inputs(INPUTS, 3)
    before = architecture(inputs).features
    with torch.no_grad():
        architecture.projections[2].weight.add_(0.5)  # task "c"'s token only
    after = architecture(inputs).features
    assert not torch.allclose(before["a"], after["a"]) and not torch.allclose(before["b"], after["b"])


def test_everything_is_shared_and_the_last_attention_layer_is_the_last_shared_layer() -> None:
    architecture = build(d_model=8, num_heads=2, num_layers=2, ffn_dim=8)
    shared = {id(p) for p in architecture.shared_parameters()}
    assert shared == {id(p) for p in architecture.parameters()}
    assert [id(p) for p in architecture.last_shared_parameters()] == [
        id(p) for p in architecture.layers[1].parameters()
    ]
    out = architecture(example_inputs(INPUTS, 3))
    assert gradients.one_pass_views(out.features, out.shared) is None  # one pass per task


def test_equal_size_tokens_still_take_one_pass_per_task() -> None:
    architecture = build(d_model=6, num_heads=2)  # tokens as wide as z: same shape, still not views of z
    out = architecture(example_inputs(INPUTS, 3))
    assert gradients.one_pass_views(out.features, out.shared) is None


def test_it_gives_the_attention_map_callback_reading_itself() -> None:
    architecture = build(d_model=8, num_heads=2)
    (callback,) = architecture.callbacks()
    assert isinstance(callback, TaskAttentionMap) and callback.source is architecture
    assert ARCHITECTURES.resolve("shared")(tasks=["a"], inputs=INPUTS, encoder=ENCODER).callbacks() == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"d_model": 10, "num_heads": 4}, r"^architecture\.d_model: 10 is not divisible by .*num_heads=4$"),
        ({"num_layers": 0}, r"^architecture\.num_layers: needs at least 1 attention layer, got 0$"),
        ({"num_heads": 0}, r"^architecture\.num_heads: must be >= 1, got 0$"),
        ({"ffn_dim": -1}, r"^architecture\.ffn_dim: must be >= 0 .*got -1$"),
        ({"dropout": 1.0}, r"^architecture\.dropout: must be in \[0, 1\), got 1\.0$"),
    ],
)
def test_bad_sizes_fail_with_one_line_naming_the_key_and_value(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build(**settings)
