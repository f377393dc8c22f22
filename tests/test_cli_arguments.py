"""The run commands' own key=value arguments, apart from the config overrides."""

from __future__ import annotations

import pytest

from mtl_lab.cli_arguments import split_own_arguments
from mtl_lab.errors import ConfigError


def test_own_keys_are_taken_verbatim_and_the_rest_are_overrides_in_order() -> None:
    own, overrides = split_own_arguments(
        ["run=a=b c", "data.path=x.parquet", "ckpt=last", "+trainer.x=1", "~callbacks.y"],
        ("run", "ckpt"),
        {"run": "run=<run dir>"},
    )
    assert own == {"run": "a=b c", "ckpt": "last"}
    assert overrides == ["data.path=x.parquet", "+trainer.x=1", "~callbacks.y"]


@pytest.mark.parametrize("argv", [["ckpt=last"], ["run=", "ckpt=last"]])
def test_a_missing_or_empty_required_key_is_one_line_naming_it(argv: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"^run: missing; pass run=<run dir>$"):
        split_own_arguments(argv, ("run", "ckpt"), {"run": "run=<run dir>"})
