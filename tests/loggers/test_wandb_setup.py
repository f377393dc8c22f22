"""How a W&B run starts: requested modes are honoured; no API key or no W&B host means offline,
decided quickly and without prompting. No test here touches the network (local sockets only)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from wandb.sdk import wandb_setup

from mtl_lab.errors import ConfigError
from mtl_lab.loggers.wandb_setup import ModeChoice, choose_mode, credentials_problem, host_answers

CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port: the connection is refused
KEY = "k" * 40  # a well-formed API key


@pytest.fixture(autouse=True)
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb_setup.singleton().settings  # noqa: B018  (load wandb's settings before the environment changes)
    for variable in (
        "WANDB_MODE",
        "WANDB_API_KEY",
        "WANDB_IDENTITY_TOKEN_FILE",
        "https_proxy",
        "http_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))


class NotFound(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(404)
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """URL of a local HTTP server (it answers 404 to everything, proxy requests included)."""
    with HTTPServer(("127.0.0.1", 0), NotFound) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


@pytest.fixture
def silent() -> Iterator[str]:
    """URL of a local socket that accepts TCP connections but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("offline", "wandb_mode", "expected"),
    [
        (True, None, "offline"),
        (True, "online", "offline"),
        (False, "offline", "offline"),
        (False, "dryrun", "offline"),
        (False, "disabled", "disabled"),
        (False, "Offline", "offline"),
    ],
)
def test_requested_modes_are_honoured_without_any_check(
    monkeypatch: pytest.MonkeyPatch, offline: bool, wandb_mode: str | None, expected: str
) -> None:
    if wandb_mode is not None:
        monkeypatch.setenv("WANDB_MODE", wandb_mode)
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    assert choose_mode(offline, base_url=CLOSED) == ModeChoice(expected)


def test_unknown_wandb_mode_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "ofline")
    with pytest.raises(
        ConfigError, match=r"^WANDB_MODE: unknown W&B mode 'ofline'; choices: online, .*offline"
    ):
        choose_mode(False, base_url=CLOSED)


def test_no_api_key_falls_back_to_offline_and_says_why(server: str) -> None:
    choice = choose_mode(False, base_url=server)
    assert choice.mode == "offline"
    assert choice.fallback == f"no API key for {server} (set WANDB_API_KEY or run `wandb login`)"


def test_api_keys_are_found_in_the_environment_and_netrc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    assert credentials_problem(server) is not None
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {urlsplit(server).netloc}\n  login user\n  password {KEY}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert credentials_problem(server) is None
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    monkeypatch.setenv("WANDB_API_KEY", "short")
    assert "is invalid" in str(credentials_problem(server))
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    assert credentials_problem(server) is None


def test_unreachable_host_falls_back_to_offline_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    started = time.perf_counter()
    choice = choose_mode(False, base_url=CLOSED, timeout_s=1.0)
    assert time.perf_counter() - started < 1.5
    assert choice == ModeChoice("offline", f"{CLOSED} is unreachable (no HTTP answer within 1 s)")


def test_a_host_that_accepts_connections_but_never_answers_is_unreachable(silent: str) -> None:
    started = time.perf_counter()
    assert not host_answers(silent, timeout_s=0.5)
    assert 0.5 <= time.perf_counter() - started < 1.0


def test_reachable_host_with_a_key_goes_online(monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    assert choose_mode(False, base_url=server) == ModeChoice("online")
    monkeypatch.setenv("WANDB_MODE", "online")
    assert choose_mode(False, base_url=server) == ModeChoice("online")


def test_an_http_error_status_is_an_answer_and_the_configured_proxy_is_used(
    monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    assert host_answers(server)  # 404
    assert not host_answers("http://api.wandb.invalid", timeout_s=1.0)  # no such name
    monkeypatch.setenv("http_proxy", server)
    assert host_answers("http://api.wandb.invalid")
    monkeypatch.setenv("no_proxy", "api.wandb.invalid")
    assert not host_answers("http://api.wandb.invalid", timeout_s=1.0)
