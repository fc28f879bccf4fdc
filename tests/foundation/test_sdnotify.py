"""systemd's notify protocol: datagrams to a real unix socket, by path and in the abstract
namespace; pings bounded by WATCHDOG_USEC; nothing sent unless systemd asked."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anjungan.sdnotify import Watchdog, notify, socket_address


@pytest.fixture
def abstract() -> Iterator[tuple[socket.socket, str]]:
    name = f"@anjungan-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name[1:].encode())
        sock.settimeout(5)
        yield sock, name


def test_socket_addresses() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@x") == b"\0x"
    assert socket_address("") is None and socket_address("vsock:2:1") is None


def test_notify_to_a_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert notify("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert sock.recv(64) == b"READY=1"


def test_nothing_sent_without_notify_socket() -> None:
    assert not notify("READY=1", {})
    dog = Watchdog({"WATCHDOG_USEC": "1000000"})
    assert not dog.enabled and not dog.ping() and not dog.ready()


def test_nobody_listening_never_raises(tmp_path: Path) -> None:
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_pings_at_most_every_quarter_of_the_watchdog(abstract: tuple[socket.socket, str]) -> None:
    sock, name = abstract
    now = [100.0]
    dog = Watchdog({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000"}, clock=lambda: now[0])
    assert dog.period == 0.5
    assert dog.ready() and sock.recv(64) == b"READY=1"
    sent = []
    for _ in range(8):  # 8 turns over 1 s (exact binary steps): pings at 100.0 and 100.5
        sent.append(dog.ping())
        now[0] += 0.125
    assert sent == [True, False, False, False, True, False, False, False]
    assert [sock.recv(64) for _ in range(2)] == [b"WATCHDOG=1"] * 2


@pytest.mark.parametrize("env", [
    {"WATCHDOG_USEC": "0"}, {"WATCHDOG_USEC": "x"}, {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"},
])
def test_watchdog_off_unless_meant_for_this_process(env: dict[str, str]) -> None:
    pid = os.getpid()
    assert pid != 1
    assert not Watchdog({"NOTIFY_SOCKET": "@x", **env}).enabled


def test_parent_ok_accepts_the_parent_named_by_systemd() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getppid())}
    assert not Watchdog(env).enabled
    assert Watchdog(env, parent_ok=True).enabled
