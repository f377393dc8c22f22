"""Token-level tasks in a model: which tasks they are, and whether an architecture and an encoder can
feed them per-token features (checked from the config nodes, before anything is built)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures import ARCHITECTURES
from mtl_lab.models.encoders import ENCODERS, SequenceEncoder
from mtl_lab.tasks import TaskSpec


def token_task_names(tasks: Mapping[str, TaskSpec]) -> list[str]:
    """The tasks whose kind predicts per token (``TaskKind.unit == "token"``), in task order."""
    return [name for name, spec in tasks.items() if spec.unit == "token"]


def check_token_tasks(
    architecture: Mapping[str, Any], encoder: Mapping[str, Any], token_tasks: list[str]
) -> None:
    """Refuse token-level tasks with an architecture or an encoder that gives no per-token features."""
    listed = ", ".join(token_tasks)
    name = str(architecture.get("name"))
    if not getattr(ARCHITECTURES.resolve(name), "supports_token_tasks", False):
        raise ConfigError(
            f"architecture={name}: cannot feed the token-level tasks ({listed}) per-token features; "
            "use architecture=shared"
        )
    builder = ENCODERS.resolve(str(encoder.get("name")))
    if not (isinstance(builder, type) and issubclass(builder, SequenceEncoder)):
        raise ConfigError(
            f"encoder={encoder.get('name')}: the token-level tasks ({listed}) need per-token features "
            "of a sequence encoder; use encoder=transformer"
        )
