"""MTAN, the Multi-Task Attention Network (Liu, Johns & Davison, CVPR 2019).

One shared staged encoder gives, at each stage j, u_j (its first block's output) and p_j (its output).
Each task t selects from them with a soft attention mask per stage:

    â_1 = g_1(u_1) ⊙ p_1,    â_j = g_j([u_j ; pool_j(f_j(â_{j-1}))]) ⊙ p_j    (j > 1, [;]: channels)
    g_j(x) = sigmoid(BN(conv1x1(ReLU(BN(conv1x1(x))))))    task t's own; C_j intermediate and output maps
    f_j(x) = ReLU(BN(conv3x3(x)))                          C_{j-1} -> C_j maps, ONE for all tasks
    pool_j: the paper's 2x2 max-pool when it gives u_j's resolution (cnn, resnet), else adaptive max-pool

Task t's features are the encoder's ``finish`` of its last â_J, ``Tensor[B, encoder.out_dim]``.

Shared, per ``grad_level``:

- ``params``: the encoder (stem, stages, finish) and every f_j: every task's features pass through them
  (LibMTL leaves f out of its shared parameters); the masks g are their task's own;
- ``last_shared_layer``: the encoder's ``last_layer`` (the Linear of ``finish``);
- ``representation``: the last stage's output p_J, the shared map the last masks select from: task t's
  row is ∂L_t/∂p_J, one backward pass per task through its own last mask and ``finish`` only (earlier
  p_j are not included: their rows would be total derivatives repeating what flows on through p_J, and
  reaching them costs a backward through every task branch, about the whole step again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.staged import build_staged_encoder, check_several_tasks


class AttentionMask(nn.Sequential):
    """g(x) = sigmoid(BN(conv1x1(ReLU(BN(conv1x1(x)))))): ``in_ch`` -> ``channels`` maps in (0, 1)."""

    def __init__(self, in_ch: int, channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, channels, kernel_size=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=1),
            nn.BatchNorm2d(channels),
            nn.Sigmoid(),
        )


def pool_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """Max-pool ``x`` [B, C, H, W] to ``size`` (H', W'): 2x2 (ceil mode) when that gives it, else adaptive."""
    if tuple(size) == tuple(-(-d // 2) for d in x.shape[-2:]):
        return F.max_pool2d(x, 2, ceil_mode=True)
    return F.adaptive_max_pool2d(x, tuple(size))


def shared_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """f(x) = ReLU(BN(conv3x3(x))), applied to every task's attended features."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU())


@ARCHITECTURES.register("mtan")
class MTANArchitecture(Architecture):
    """Built with ``tasks`` (at least 2), ``inputs`` and a staged ``encoder`` (``cnn``, ``resnet``)."""

    def __init__(
        self, tasks: Sequence[str], inputs: Mapping[str, InputSpec], encoder: Mapping[str, Any]
    ) -> None:
        super().__init__()
        check_several_tasks(tasks, "mtan")
        self.tasks = list(tasks)
        self.encoder = build_staged_encoder(encoder, inputs, "mtan")
        channels = self.encoder.stage_channels
        self.shared_blocks = nn.ModuleList(
            shared_block(channels[j - 1], channels[j]) for j in range(1, len(channels))
        )
        self.masks = nn.ModuleDict(
            {
                t: nn.ModuleList(AttentionMask(c if j == 0 else 2 * c, c) for j, c in enumerate(channels))
                for t in self.tasks
            }
        )

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        x = self.encoder.stem(inputs)
        firsts: list[Tensor] = []
        outputs: list[Tensor] = []
        for stage in self.encoder.stages:
            firsts.append(stage.first(x))
            x = stage.rest(firsts[-1])
            outputs.append(x)
        features = {t: self.encoder.finish(self.attend(t, firsts, outputs)) for t in self.tasks}
        return ArchitectureOutput(features=features, shared=(outputs[-1],))

    def attend(self, task: str, firsts: Sequence[Tensor], outputs: Sequence[Tensor]) -> Tensor:
        """Task ``task``'s â_J from the stages' u_j (``firsts``) and p_j (``outputs``)."""
        masks = self.masks[task]
        attended = masks[0](firsts[0]) * outputs[0]
        for j in range(1, len(outputs)):
            carried = pool_to(self.shared_blocks[j - 1](attended), firsts[j].shape[-2:])
            attended = masks[j](torch.cat([firsts[j], carried], dim=1)) * outputs[j]
        return attended

    def feature_dim(self, task: str) -> int:
        return self.encoder.out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.shared_blocks.parameters()]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.last_layer.parameters())

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b", "c"],
            "inputs": {"image": InputSpec((1, 7, 7))},
            "encoder": {"name": "resnet", "widths": [3, 4], "depths": [2, 1], "out_dim": 5},
        }
