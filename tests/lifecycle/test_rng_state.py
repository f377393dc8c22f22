"""Random generators captured into a checkpoint and restored."""

from __future__ import annotations

import io
import random

import numpy as np
import torch

from mtl_lab.lifecycle.rng_state import capture_rng_states, restore_rng_states


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.randn()), float(torch.rand(1))


def test_restored_generators_continue_where_they_were_captured_through_a_weights_only_load() -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # NumPy's cached Gaussian is part of its state
    buffer = io.BytesIO()
    torch.save(capture_rng_states(), buffer)
    expected = _draws()
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    buffer.seek(0)
    restore_rng_states(torch.load(buffer, weights_only=True))
    assert _draws() == expected
