"""Contract of every registered head, built from the example it declares."""

from __future__ import annotations

import pytest
import torch

from mtl_lab.models.heads import HEADS


@pytest.mark.parametrize("name", HEADS.names())
def test_every_head_maps_features_to_task_outputs(name: str) -> None:
    example = HEADS.resolve(name).example()
    head = HEADS.build({"name": name, **example})
    out = head(torch.randn(5, example["in_dim"]))
    assert out.shape == (5, example["out_dim"])
    out.sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_mlp_head_hidden_layers() -> None:
    head = HEADS.build({"name": "mlp", "hidden_dims": [8, 4]}, in_dim=6, out_dim=2)
    widths = [m.out_features for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [8, 4, 2]
