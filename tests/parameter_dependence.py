"""Which tasks' features depend on each parameter of an architecture (its autograd graph), to test that
``shared_parameters()`` is exactly the parameters every task depends on."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.models.architectures import Architecture


def dependent_tasks(architecture: Architecture, inputs: Mapping[str, Tensor]) -> dict[str, set[str]]:
    """{parameter name: the tasks whose features the graph connects to it}."""
    features = architecture(inputs).features
    named = dict(architecture.named_parameters())
    found: dict[str, set[str]] = {name: set() for name in named}
    for task, value in features.items():
        grads = torch.autograd.grad(value.sum(), list(named.values()), allow_unused=True, retain_graph=True)
        for name, grad in zip(named, grads, strict=True):
            if grad is not None:
                found[name].add(task)
    return found


def assert_shared_parameters_are_exact(architecture: Architecture, inputs: Mapping[str, Tensor]) -> None:
    """Declared shared <=> every task depends on it; each listed once; every parameter used by a task."""
    found = dependent_tasks(architecture, inputs)
    every = set(architecture(inputs).features)
    declared = [id(p) for p in architecture.shared_parameters()]
    assert len(declared) == len(set(declared))
    for name, parameter in architecture.named_parameters():
        assert found[name], f"{name} is used by no task"
        assert (id(parameter) in declared) == (found[name] == every), f"{name}: used by {sorted(found[name])}"
