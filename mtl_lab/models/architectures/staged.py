"""What the stage-wise architectures (``mtan``, ``cross_stitch``) check before building: several tasks,
and an encoder that exposes its stages (a :class:`~mtl_lab.models.encoders.base.StagedEncoder`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS
from mtl_lab.models.encoders.base import StagedEncoder, staged_encoder_names


def check_several_tasks(tasks: Sequence[str], architecture: str) -> None:
    """One line naming the tasks given when there are fewer than 2 (nothing to share between)."""
    if len(tasks) < 2:
        raise ConfigError(
            f"tasks: architecture={architecture} needs at least 2 tasks, got {len(tasks)}: "
            f"[{', '.join(tasks)}]; select more tasks or use architecture=shared"
        )


def build_staged_encoder(
    encoder: Mapping[str, Any], inputs: Mapping[str, InputSpec], architecture: str
) -> StagedEncoder:
    """The encoder of ``encoder`` (its YAML node), refused in one line when it exposes no stages."""
    name = str(encoder.get("name"))
    builder = ENCODERS.resolve(name)
    if not (isinstance(builder, type) and issubclass(builder, StagedEncoder)):
        raise ConfigError(
            f"encoder.name: architecture={architecture} needs an encoder that exposes its stages, "
            f"got {name!r}; choices: {', '.join(staged_encoder_names())}"
        )
    built = cast(StagedEncoder, ENCODERS.build(encoder, inputs=inputs))
    if not built.stages:
        raise ConfigError(
            f"encoder: architecture={architecture} needs at least one stage, but the {name!r} encoder "
            "is configured with none"
        )
    return built
