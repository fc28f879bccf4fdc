"""`anjungan fleet ...` on bad input, the status rendering, and the config file."""

from __future__ import annotations

import io
import json
import sys

import pytest

from broker.fleet.client import render_status
from broker.fleet.errors import FleetConfigError
from broker.fleet.model import Thresholds
from broker.fleet.server import load_config
from entrypoints.cli import main


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_fleet_without_action_shows_help(capsys):
    assert main(["fleet"]) == 2
    assert "serve" in capsys.readouterr().out


def test_status_without_a_running_service(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path))
    assert main(["fleet", "status"]) == 1
    assert "no running fleet service found" in one_line_error(capsys)
    from provisioning.broker_process import free_port

    assert main(["fleet", "status", "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "does not answer" in one_line_error(capsys)


@pytest.mark.parametrize("argv", [
    ["fleet", "serve", "--mqtt", "mqtt://127.0.0.1:1", "--db", "sqlite://:memory:", "--http", "nonsense"],
    ["fleet", "serve", "--db", "sqlite://:memory:"],
    ["fleet", "serve", "--fleet", "/nonexistent"],
    ["fleet", "serve", "--mqtt", "ftp://x", "--db", "sqlite://:memory:", "--http", "127.0.0.1:0"],
    ["fleet", "set-site", "Bad Id", "--office", "x", "--kecamatan", "y", "--db", "sqlite://:memory:"],
    ["fleet", "set-site", "k-1", "--office", "x", "--kecamatan", "y"],
    ["fleet", "add-staff", "X!", "--db", "sqlite://:memory:", "--password-stdin"],
    ["bench", "fleet", "--kiosks", "0"],
])
def test_bad_arguments_are_one_line(argv, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
    assert main(argv) == 2
    one_line_error(capsys)


def test_add_staff_rejects_short_password_and_prints_config_entry(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["fleet", "add-staff", "ayu", "--db", "sqlite://:memory:", "--password-stdin"]) == 2
    assert "at least 10" in one_line_error(capsys)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
    assert main(["fleet", "add-staff", "ayu", "--password-stdin", "--print-hash"]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["username"] == "ayu" and entry["password_hash"].startswith("scrypt$16384$8$1$")
    cfg = tmp_path / "fleet.json"
    cfg.write_text(json.dumps({"thresholds": {"offline_after_s": 120}, "retention_s": 3600, "staff": [entry]}))
    settings, staff = load_config(str(cfg))
    assert settings.thresholds == Thresholds(offline_after_s=120) and settings.retention_s == 3600
    assert staff == ((entry["username"], entry["password_hash"]),)


@pytest.mark.parametrize("text", ['{"nonsense": 1}', '{"thresholds": {"offline_after_s": -5}}', "[]",
                                  "not json", '{"retention_s": "long"}', '{"staff": [{"username": "a"}]}'])
def test_bad_config_files(tmp_path, text):
    cfg = tmp_path / "fleet.json"
    cfg.write_text(text)
    with pytest.raises(FleetConfigError):
        load_config(str(cfg))


def test_render_status():
    data = {
        "counts": {"kiosks": 2, "online": 1, "offline": 1},
        "centre_alerts": [{"kind": "siak_circuit", "subject": "", "detail": "SIAK circuit open"}],
        "kiosks": [
            {"kiosk_id": "dps-01", "online": True, "last_seen": 995.0, "open_alerts": []},
            {"kiosk_id": "mal-02", "online": False, "last_seen": 400.0,
             "open_alerts": [{"kind": "offline", "subject": ""}, {"kind": "peripheral", "subject": "iris"}]},
        ],
    }
    assert render_status(data, now=1000.0) == "\n".join([
        "2 kiosks: 1 online, 1 offline",
        "  centre  ALERT siak_circuit  SIAK circuit open",
        "  dps-01                   online  last seen     5 s",
        "  mal-02                   OFFLINE last seen  10 min  alerts: offline, peripheral:iris",
    ])
