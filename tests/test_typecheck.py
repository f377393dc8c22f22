from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pytest
import torch

from mtl_lab.errors import ConfigError
from mtl_lab.typecheck import check_arguments, check_target_node, check_value


@pytest.mark.parametrize(
    ("value", "annotation"),
    [
        (3, int),
        (3, float),
        (0.5, float),
        (True, bool),
        ("a", str),
        (None, int | None),
        ("bf16-mixed", Literal["bf16-mixed", "32-true"]),
        ([1, 2], Sequence[int]),
        ({"a": 1.0}, Mapping[str, float]),
        ({"_target_": "x.Y"}, torch.nn.Module),
        (object(), Any),
    ],
)
def test_values_that_fit(value: object, annotation: object) -> None:
    check_value("key", value, annotation)


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        ("abc", int, "expected int"),
        (True, int, "expected int"),
        (1.5, int, "expected int"),
        ("x", float, "expected float"),
        (1, bool, "expected bool"),
        ("bf17", Literal["bf16-mixed", "32-true"], "expected 'bf16-mixed' or '32-true'"),
        ([1, "a"], Sequence[int], "expected Sequence"),
        ("abc", float | torch.Tensor, "expected float or Tensor"),
    ],
)
def test_values_that_do_not_fit(value: object, annotation: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^key: {expected}"):
        check_value("key", value, annotation)


def test_trainer_node_is_checked_against_lightning_signature() -> None:
    node = {"_target_": "pytorch_lightning.Trainer", "max_epochs": "abc"}
    with pytest.raises(ConfigError, match=r"trainer.max_epochs: expected int or None, got 'abc' \(str\)"):
        check_target_node("trainer", node)
    with pytest.raises(ConfigError, match="trainer: unexpected key 'max_epoch'"):
        check_target_node("trainer", {"_target_": "pytorch_lightning.Trainer", "max_epoch": 3})
    check_target_node("trainer", {"_target_": "pytorch_lightning.Trainer", "max_epochs": 3, "devices": 2})


def test_partial_target_allows_missing_arguments() -> None:
    check_target_node("optimizer", {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.1})
    with pytest.raises(ConfigError, match="optimizer: cannot import|optimizer._target_"):
        check_target_node("optimizer", {"_target_": "torch.optim.NoSuchOptimizer", "_partial_": True})


def test_kwargs_are_followed_up_the_class_hierarchy() -> None:
    class Base:
        def __init__(self, size: int = 1) -> None:
            self.size = size

    class Child(Base):
        def __init__(self, extra: str = "a", **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]

    check_arguments("child", Child, {"extra": "b", "size": 2})
    with pytest.raises(ConfigError, match="child.size: expected int"):
        check_arguments("child", Child, {"size": "big"})
    with pytest.raises(ConfigError, match="child: unexpected key 'sise'; accepted keys: extra, size"):
        check_arguments("child", Child, {"sise": 2})
