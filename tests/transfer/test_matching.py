"""Matching state dicts by name and shape, and the module prefixes that name the groups."""

from __future__ import annotations

import torch

from mtl_lab.transfer.matching import group_names, match_state


def test_match_state_sorts_every_name() -> None:
    source = {"a.x.w": torch.zeros(2, 3), "a.x.b": torch.zeros(2), "h.old.w": torch.zeros(1)}
    target = {"a.x.w": torch.ones(2, 3), "a.x.b": torch.ones(4), "h.new.w": torch.ones(1)}
    match = match_state(source, target)
    assert (match.loaded, match.new, match.dropped) == (["a.x.w"], ["h.new.w"], ["h.old.w"])
    assert match.mismatched == {"a.x.b": ([2], [4])}
    assert match.names == ["a.x.w", "h.new.w", "a.x.b", "h.old.w"]


def test_group_names_uses_the_shortest_prefix_that_covers_only_the_selection() -> None:
    universe = [
        "architecture.encoder.conv.weight",
        "architecture.encoder.fc.weight",
        "architecture.encoder.fc.bias",
        "heads.left.linear.weight",
        "heads.left.linear.bias",
        "heads.right.linear.weight",
        "scale",
    ]
    everything_but_one = [n for n in universe if n != "heads.left.linear.weight"]
    assert group_names(everything_but_one, universe) == [
        "architecture.encoder",  # never shorter than two parts
        "heads.left.linear.bias",
        "heads.right",
        "scale",
    ]
    assert group_names(universe[1:3], universe) == ["architecture.encoder.fc"]
    assert group_names([], universe) == []
