"""`anjungan peripherals selftest|simulate` and `anjungan bench serial`."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_selftest_sim_json(capsys, micropython):
    rc = main(["peripherals", "selftest", "--sim", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [d["name"] for d in report["devices"]] == [
        "controller", "fingerprint", "iris", "face", "signature", "printer"]
    assert all(d["ok"] and d["version"] for d in report["devices"])
    assert report["corrupted_objects_accepted"] == 0
    assert report["firmware_runtime"].startswith("micropython")


@pytest.mark.slow
def test_selftest_sim_with_noise(capsys, micropython):
    main(["peripherals", "selftest", "--sim", "--noise", "0.00002", "--json", "--seed", "3"])
    report = json.loads(capsys.readouterr().out)
    assert report["corrupted_objects_accepted"] == 0
    by_name = {d["name"]: d for d in report["devices"]}
    for name in ("controller", "iris", "face", "signature"):  # retransmitting links
        assert by_name[name]["ok"], by_name[name]


def test_simulate_prints_pty_then_serves(tmp_path):
    from drivers.r30x import R30xDriver
    from drivers.transport import SerialTransport

    proc = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "peripherals", "simulate", "fingerprint",
         "--baud", "921600", "--fingerprint-link", "r30x"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        drv = R30xDriver(SerialTransport(path, 921600, device="fingerprint"))
        assert drv.connect().startswith("R30x")
        drv.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_bench_serial_json(capsys, micropython):
    rc = main(["bench", "serial", "--baud", "921600", "--size", "60000", "--json", "--no-devices"])
    out = json.loads(capsys.readouterr().out)
    result = out["serial"][0]
    assert rc == 0 and result["baud"] == 921600 and result["bytes"] == 60000
    assert 0 < result["efficiency"] <= 1.0
    # framing, and a few retransmissions when a loaded machine delays the simulator past the
    # adaptive timeout: bounded, not a time
    assert 0 < result["overhead_bytes_per_payload_byte"] < 0.5
    assert "devices" not in out


@pytest.mark.slow
def test_bench_serial_reports_each_device_under_noise(capsys, micropython):
    rc = main(["bench", "serial", "--baud", "921600", "--size", "20000", "--noise", "0.0001",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["serial"][0]["noise"] == 0.0001
    devices = {d["device"] + d.get("link", ""): d for d in out["devices"]}
    assert sorted(devices) == ["face", "fingerprintbridge", "fingerprintr30x", "iris", "signature"]
    bridge, direct = devices["fingerprintbridge"], devices["fingerprintr30x"]
    assert bridge["bytes"] == direct["bytes"] == 256 * 288 // 2  # the 4-bit upload
    assert bridge["sensor_s"] > 0 and 0 < bridge["capture_efficiency"] < bridge["efficiency"]
    assert direct["upload_passes"] >= 1
    second = direct["second_finger"]  # in the packets the first one chose
    assert second["packet_size"] in (32, 64, 128, 256) and second["upload_passes"] >= 1
    assert 0 < second["efficiency"] <= 1.0
    for d in devices.values():
        assert d["noise"] == 0.0001 and d["bytes"] > 0 and d["retransmits"] >= 0 <= d["damaged_frames"]
        assert 0 < d["efficiency"] <= 1.0 and d["overhead_bytes_per_payload_byte"] > 0


@pytest.mark.parametrize(
    "argv,code,needle",
    [
        (["peripherals", "simulate", "toaster"], 1, "unknown device"),
        (["peripherals", "selftest", "--noise", "lots"], 2, "not a number"),
        (["peripherals", "selftest", "--config", "/nonexistent.json"], 1, "no peripheral config"),
        (["bench", "serial", "--baud", "12"], 2, "baud must be"),
    ],
)
def test_bad_input_is_one_line(argv, code, needle, capsys):
    with pytest.raises(SystemExit) if code == 2 else _nothing():
        rc = main(argv)
        assert rc == code
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
