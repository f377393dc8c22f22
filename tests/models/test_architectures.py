from __future__ import annotations

import pytest
import torch

from mtl_lab.models.architectures import ARCHITECTURES, Features

ENCODER = {"name": "mlp", "hidden_dims": [8, 6]}


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_gives_features_per_task_and_declares_shared_parameters(name: str) -> None:
    arch = ARCHITECTURES.build({"name": name}, tasks=["a", "b"], input_shape=(5,), encoder=ENCODER)
    out = arch(torch.randn(3, 5))
    assert isinstance(out, Features) and set(out.per_task) == {"a", "b"}
    for task, features in out.per_task.items():
        assert features.shape == (3, arch.feature_dim(task))
    shared = {id(p) for p in arch.shared_parameters()}
    assert shared and {id(p) for p in arch.last_shared_parameters()} <= shared
    # every task's features depend on every shared parameter
    for task in ("a", "b"):
        grads = torch.autograd.grad(
            out.per_task[task].sum(), arch.shared_parameters(), allow_unused=True, retain_graph=True
        )
        assert all(g is not None for g in grads)
    if out.per_task_views:  # the declared contract: each head gets its own alias of the representation
        views = list(out.per_task.values())
        assert len({id(v) for v in views}) == len(views) and all(v is not out.shared for v in views)
        assert all(v.data_ptr() == out.shared.data_ptr() and torch.equal(v, out.shared) for v in views)


def test_shared_architecture_uses_one_encoder_for_all_tasks() -> None:
    arch = ARCHITECTURES.build({"name": "shared"}, tasks=["a", "b"], input_shape=(5,), encoder=ENCODER)
    out = arch(torch.randn(3, 5))
    assert out.per_task_views  # one identity view of the encoder's output per head
    assert all(torch.equal(out.per_task[t], out.shared) for t in ("a", "b"))
    last = arch.last_shared_parameters()
    assert [tuple(p.shape) for p in last] == [(6, 8), (6,)]
