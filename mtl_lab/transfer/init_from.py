"""``init_from``: initialise a new model with the checkpoint's tensors that fit it, and say which.

Every tensor of the new model (parameters and buffers, e.g. BatchNorm statistics) whose name and shape
match the checkpoint's model tensors is copied (:mod:`mtl_lab.transfer.matching`); the others keep their
fresh initialisation. The model is then loaded strictly: nothing is skipped silently, the report lists
what was loaded, new, dropped and mismatched. The optimizer, the scheduler and the weighting strategy's
state (uncertainty log-variances, GradNorm weights, ...) start fresh: they are not read from the
checkpoint. A checkpoint none of whose architecture parameters fits the new model is refused, naming the
first mismatch. :class:`InitFromRecord` adds the report to ``summary.json`` as ``init_from``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytorch_lightning import Callback

from mtl_lab.errors import ConfigError
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.transfer.matching import StateMatch, group_names, match_state
from mtl_lab.transfer.source import TransferSource

ARCHITECTURE = "architecture."


@dataclass
class TransferReport:
    """What ``init_from`` did: the source as given, its run directory (or None), the checkpoint read and
    the tensor names sorted by :func:`match_state`."""

    source: str
    run_dir: Path | None
    checkpoint: Path
    match: StateMatch

    def to_json(self) -> dict[str, Any]:
        """``summary.json``'s ``init_from``: module prefixes per category, mismatched shapes, counts."""
        match, names = self.match, self.match.names
        return {
            "source": self.source,
            "run_dir": None if self.run_dir is None else str(self.run_dir),
            "checkpoint": str(self.checkpoint),
            "loaded": group_names(match.loaded, names),
            "new": group_names(match.new, names),
            "dropped": group_names(match.dropped, names),
            "shape_mismatch": {
                name: {"checkpoint": old, "model": new} for name, (old, new) in match.mismatched.items()
            },
            "tensors": {
                "loaded": len(match.loaded),
                "new": len(match.new),
                "dropped": len(match.dropped),
                "shape_mismatch": len(match.mismatched),
            },
        }

    def lines(self) -> list[str]:
        """The block printed at the start of the run."""
        record = self.to_json()
        counts = record["tensors"]
        mismatched = [f"{n} {old} -> {new}" for n, (old, new) in self.match.mismatched.items()]
        return [
            f"init_from: {self.checkpoint}",
            f"  loaded ({counts['loaded']} tensors): {', '.join(record['loaded']) or 'none'}",
            f"  new ({counts['new']}): {', '.join(record['new']) or 'none'}",
            f"  dropped ({counts['dropped']}): {', '.join(record['dropped']) or 'none'}",
            f"  shape mismatch, initialised fresh ({counts['shape_mismatch']}): "
            + (", ".join(mismatched) or "none"),
            "  fresh: optimizer, scheduler and weighting state",
        ]


def _check_architecture_fits(model: MultiTaskModel, checkpoint: Path, match: StateMatch) -> None:
    """Refuse a checkpoint that gives none of the architecture's parameters."""
    params = [ARCHITECTURE + name for name, _ in model.architecture.named_parameters()]
    if set(params) & set(match.loaded):
        return
    first = next((name for name in params if name in match.mismatched), None)
    if first is not None:
        old, new = match.mismatched[first]
        raise ConfigError(
            f"init_from: {checkpoint}: no architecture parameter fits the new model; first mismatch: "
            f"{first}: checkpoint {old}, new model {new}"
        )
    theirs = group_names([n for n in match.dropped if n.startswith(ARCHITECTURE)], match.names)
    ours = group_names([n for n in match.new if n.startswith(ARCHITECTURE)], match.names)
    raise ConfigError(
        f"init_from: {checkpoint}: no architecture parameter name in common with the new model "
        f"(checkpoint: {', '.join(theirs) or 'none'}; new model: {', '.join(ours)})"
    )


def initialise_from(model: MultiTaskModel, source: TransferSource) -> TransferReport:
    """Copy the tensors of ``source`` that fit ``model`` (by name and shape) into it; the report says
    which. Raises :class:`ConfigError` when no architecture parameter fits."""
    state = model.state_dict()
    match = match_state(source.state, state)
    _check_architecture_fits(model, source.checkpoint, match)
    state.update({name: source.state[name] for name in match.loaded})
    model.load_state_dict(state)
    return TransferReport(source.source, source.run_dir, source.checkpoint, match)


class InitFromRecord(Callback):
    """Adds ``init_from`` (:meth:`TransferReport.to_json`) to the run's ``summary.json``."""

    def __init__(self, report: TransferReport) -> None:
        self.report = report

    def summary_fields(self) -> dict[str, Any]:
        return {"init_from": self.report.to_json()}
