from __future__ import annotations

import pytest
import torch

from mtl_lab.models.heads import HEADS


@pytest.mark.parametrize("name", HEADS.names())
def test_every_head_maps_features_to_task_outputs(name: str) -> None:
    head = HEADS.build({"name": name}, in_dim=6, out_dim=3)
    out = head(torch.randn(5, 6))
    assert out.shape == (5, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_mlp_head_hidden_layers() -> None:
    head = HEADS.build({"name": "mlp", "hidden_dims": [8, 4]}, in_dim=6, out_dim=2)
    widths = [m.out_features for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [8, 4, 2]
