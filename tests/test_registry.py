from __future__ import annotations

import pytest
from torch import nn

from mtl_lab.data import DATAMODULES
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures import ARCHITECTURES
from mtl_lab.models.encoders import ENCODERS
from mtl_lab.models.heads import HEADS
from mtl_lab.registry import Registry
from mtl_lab.weighting import WEIGHTINGS


class Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.width = width


def test_register_and_build_passes_yaml_keys_and_extras() -> None:
    registry: Registry[nn.Module] = Registry("thing")
    registry.register("tiny")(Tiny)
    built = registry.build({"name": "tiny", "width": 7})
    assert isinstance(built, Tiny) and built.width == 7
    assert registry.names() == ["tiny"] and "tiny" in registry


def test_registering_a_name_twice_is_an_error() -> None:
    registry: Registry[nn.Module] = Registry("thing")
    registry.register("tiny")(Tiny)
    with pytest.raises(ConfigError, match="thing: name 'tiny' is already registered"):
        registry.register("tiny")(nn.Linear)


@pytest.mark.parametrize(
    ("registry", "typo", "closest"),
    [
        (ENCODERS, "cnnn", "cnn"),
        (HEADS, "linaer", "linear"),
        (ARCHITECTURES, "shard", "shared"),
        (WEIGHTINGS, "gradnrom", "gradnorm"),
        (DATAMODULES, "multi_digit", "multi_digits"),
    ],
)
def test_unknown_name_names_group_value_choices_and_closest(
    registry: Registry, typo: str, closest: str
) -> None:
    with pytest.raises(ConfigError) as info:
        registry.build({"name": typo})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{registry.group}.name: unknown {registry.group} {typo!r}")
    assert ", ".join(registry.names()) in message
    assert f"did you mean {closest!r}?" in message


def test_dotted_path_plugs_in_a_user_class_without_registering() -> None:
    registry: Registry[nn.Module] = Registry("thing")
    built = registry.build({"name": "test_registry:Tiny", "width": 2})
    assert type(built).__name__ == "Tiny" and built.width == 2
    assert registry.names() == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_such_module_xyz:Thing", "cannot import module 'no_such_module_xyz'"),
        ("test_registry:Missing", "module 'test_registry' has no attribute 'Missing'"),
    ],
)
def test_bad_dotted_path_is_a_one_line_error(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Registry("thing").build({"name": name})


def test_unexpected_and_mistyped_keys_are_config_errors() -> None:
    registry: Registry[nn.Module] = Registry("thing")
    registry.register("tiny")(Tiny)
    with pytest.raises(ConfigError, match="thing.tiny: unexpected key 'widht'; accepted keys: width"):
        registry.build({"name": "tiny", "widht": 3})
    with pytest.raises(ConfigError, match=r"thing.tiny.width: expected int, got 'x' \(str\)"):
        registry.build({"name": "tiny", "width": "x"})


def test_spec_without_name_is_rejected() -> None:
    with pytest.raises(ConfigError, match="expected a mapping with a 'name' key"):
        Registry("thing").build({"width": 3})
