"""Exact AUROC metrics whose sample lists can be synchronised by a DDP rank that saw no sample.

torchmetrics' exact AUROC (``thresholds=None``) keeps every prediction and label of the epoch in lists.
When a rank never updated the metric (a sparse task with no label in that rank's share of a split), its
distributed sync gathers an empty *float, one-dimensional* tensor for every list, while the other ranks
gather integer labels (and [N, C] rows for multilabel): the collective then fails (gloo aborts the
process). These subclasses put empty tensors of the right dtype and shape into the lists before the sync;
the result is the AUROC of the samples the other ranks saw, as if this rank had none.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics.classification import BinaryAUROC, MultilabelAUROC


class BinaryAUROCAnyRank(BinaryAUROC):
    def _sync_dist(self, *args: Any, **kwargs: Any) -> None:
        if not self.preds:
            self.preds.append(torch.empty(0, device=self.device))
            self.target.append(torch.empty(0, dtype=torch.long, device=self.device))
        super()._sync_dist(*args, **kwargs)


class MultilabelAUROCAnyRank(MultilabelAUROC):
    def _sync_dist(self, *args: Any, **kwargs: Any) -> None:
        if not self.preds:
            self.preds.append(torch.empty(0, self.num_labels, device=self.device))
            self.target.append(torch.empty(0, self.num_labels, dtype=torch.long, device=self.device))
        super()._sync_dist(*args, **kwargs)
