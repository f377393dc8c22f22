"""Decide how a W&B run starts (online, offline or disabled) without ever prompting or hanging.

Order: ``offline: true`` or ``WANDB_MODE=offline|dryrun`` -> offline; ``WANDB_MODE=disabled`` ->
disabled; otherwise online, unless no API key is configured for the W&B host (``WANDB_API_KEY``,
``WANDB_IDENTITY_TOKEN_FILE``, ``.netrc`` or the wandb settings file, looked up with wandb's own
credential lookup with prompting off) or the host sends no HTTP answer within ``timeout_s`` (a
TCP connection alone is not enough: proxies and firewalls may accept any) -- then offline, with the
reason, so that the caller can print one warning line.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Literal
from urllib.error import HTTPError
from urllib.request import Request, build_opener

from mtl_lab.errors import ConfigError

Mode = Literal["online", "offline", "disabled"]

#: ``WANDB_MODE`` values and the mode they ask for.
WANDB_MODES: dict[str, Mode] = {
    "online": "online",
    "run": "online",
    "shared": "online",
    "offline": "offline",
    "dryrun": "offline",
    "disabled": "disabled",
}
#: Seconds allowed for the W&B host to answer (name lookup included).
HOST_TIMEOUT_S = 2.5


@dataclass(frozen=True)
class ModeChoice:
    """The mode to start the run in; ``fallback`` says why online was asked for but not possible."""

    mode: Mode
    fallback: str | None = None


def default_base_url() -> str:
    """The W&B server URL that ``wandb.init`` will use (``WANDB_BASE_URL``, settings file, default)."""
    from wandb.sdk import wandb_setup

    return str(wandb_setup.singleton().settings.base_url)


def credentials_problem(base_url: str) -> str | None:
    """Why there are no usable credentials for ``base_url``, or None if there are (never prompts)."""
    from wandb.errors import AuthenticationError
    from wandb.sdk.lib import wbauth

    try:
        auth = wbauth.authenticate_session(
            host=base_url, source="mtl_lab", prompt=False, update_session=False
        )
    except AuthenticationError as err:
        return f"the API key for {base_url} is invalid ({err})"
    if auth is None:
        return f"no API key for {base_url} (set WANDB_API_KEY or run `wandb login`)"
    return None


def host_answers(url: str, timeout_s: float = HOST_TIMEOUT_S) -> bool:
    """Whether the server at ``url`` sends an HTTP response (any status) within ``timeout_s`` seconds.

    HTTPS certificates are verified and ``https_proxy``/``http_proxy``/``no_proxy`` apply, as for
    wandb itself; the request runs in a daemon thread so that a slow name lookup cannot block longer.
    """
    answered: list[bool] = []

    def request() -> None:
        try:
            with build_opener().open(Request(url, method="HEAD"), timeout=timeout_s):
                answered.append(True)
        except HTTPError:  # an error status is an answer
            answered.append(True)
        except (OSError, ValueError):  # no connection, TLS failure, timeout, malformed URL
            answered.append(False)

    thread = threading.Thread(target=request, name="mtl_lab-wandb-host-check", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return answered == [True]


def choose_mode(offline: bool, base_url: str | None = None, timeout_s: float = HOST_TIMEOUT_S) -> ModeChoice:
    """The mode a W&B run should start in (see the module docstring for the order of the checks)."""
    requested = os.environ.get("WANDB_MODE", "").strip().lower()
    if requested and requested not in WANDB_MODES:
        raise ConfigError(f"WANDB_MODE: unknown W&B mode {requested!r}; choices: {', '.join(WANDB_MODES)}")
    if offline:
        return ModeChoice("offline")
    if requested and WANDB_MODES[requested] != "online":
        return ModeChoice(WANDB_MODES[requested])
    url = base_url or default_base_url()
    problem = credentials_problem(url)
    if problem is None and not host_answers(url, timeout_s):
        problem = f"{url} is unreachable (no HTTP answer within {timeout_s:g} s)"
    return ModeChoice("online") if problem is None else ModeChoice("offline", fallback=problem)
