"""SIGTERM stops `fleet serve` within moments even while a client holds a request half
sent (a slow or hostile browser): the graceful shutdown is bounded, the runtime file
withdrawn and the store closed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from provisioning.broker_process import free_port
from tests.waiting import sigterm_and_wait


def test_sigterm_stops_fleet_serve_with_a_request_half_sent(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # no broker listens: the monitor keeps reconnecting in the background meanwhile
    proc = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "fleet", "serve", "--mqtt", f"mqtt://127.0.0.1:{free_port()}",
         "--db", f"sqlite://{tmp_path / 'fleet.db'}", "--http", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "serve.log", "wb"), text=True,  # noqa: SIM115
        stdin=subprocess.DEVNULL, env={**os.environ, "ANJUNGAN_RUNTIME_DIR": str(run)})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().removeprefix("fleet dashboard: ")
        assert url.startswith("http://"), (tmp_path / "serve.log").read_text()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        assert list(run.glob("fleet-*.json"))
        with socket.create_connection((host, int(port)), timeout=10) as slow:
            slow.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 100000\r\n\r\nusername=ay")  # and never the rest
            assert sigterm_and_wait(proc, "fleet serve with a request half sent") == 0
        assert not list(run.glob("fleet-*.json"))  # withdrawn: `fleet status` will not find a dead one
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_during_start_up_stops_the_server_cleanly(tmp_path: Path, monkeypatch) -> None:
    """SIGTERM between the dashboard's address going out and uvicorn taking the signal over
    (a unit stopped at once after starting) stops it without throwing into the event loop's
    construction: it starts, stops, returns 0 and withdraws its runtime file."""
    import signal

    from broker.fleet.server import ServeConfig, serve

    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    before = signal.getsignal(signal.SIGTERM)
    try:
        cfg = ServeConfig(store_url=f"sqlite://{tmp_path / 'fleet.db'}", mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
                          http_port=0)
        code = serve(cfg, on_ready=lambda _url: os.kill(os.getpid(), signal.SIGTERM))
    finally:
        signal.signal(signal.SIGTERM, before)
    assert code == 0
    assert not list((tmp_path / "run").glob("fleet-*.json"))
