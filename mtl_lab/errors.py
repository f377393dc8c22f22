"""Errors that mtl_lab reports to users as one line (no traceback)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class MtlLabError(Exception):
    """Base class: a user-facing error whose message is one self-contained line."""


class ConfigError(MtlLabError, ValueError):
    """A configuration mistake, raised before training starts."""


class DataError(MtlLabError, ValueError):
    """A problem with the data (label out of range, missing task, ...); names the task/file and value."""


class DivergenceError(MtlLabError, RuntimeError):
    """The training loss became NaN/inf; carries the global step where it happened."""

    def __init__(self, step: int, losses: dict[str, float]) -> None:
        self.step = step
        self.losses = losses
        detail = ", ".join(f"{k}={v}" for k, v in losses.items())
        super().__init__(f"training diverged at step {step}: non-finite loss ({detail})")


def unknown_choice(key: str, value: object, choices: Iterable[str], what: str = "value") -> ConfigError:
    """Build the standard one-line error for a value that is not among `choices`.

    >>> str(unknown_choice("encoder.name", "cnnn", ["cnn", "mlp"], "encoder"))
    "encoder.name: unknown encoder 'cnnn'; choices: cnn, mlp; did you mean 'cnn'?"
    """
    options = sorted(choices)
    message = f"{key}: unknown {what} {value!r}; choices: {', '.join(options) or '(none)'}"
    close = difflib.get_close_matches(str(value), options, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return ConfigError(message)


def other_output(
    key: str, path: object, found: Mapping[str, Any] | None, wanted: Mapping[str, Any], kind: str, holds: str
) -> ConfigError:
    """The one-line refusal of an existing output that mtl_lab would write with other parameters:
    ``kind`` names what it is not (no record ``found``), ``holds`` what it holds (another record)."""
    held = f"is not a {kind}" if found is None else f"holds {holds} with {dict(found)}"
    return ConfigError(
        f"{key}: {path} exists and {held}, not {dict(wanted)}; not overwriting it: choose another {key}"
    )


@contextmanager
def exit_on_user_error(program: str = "mtl-train") -> Iterator[None]:
    """Turn an :class:`MtlLabError` raised inside into ``SystemExit("<program>: error: <message>")``:
    one line, no traceback (for Hydra plugins, whose exceptions Hydra would print in full)."""
    try:
        yield
    except MtlLabError as err:
        raise SystemExit(f"{program}: error: {err}") from None
