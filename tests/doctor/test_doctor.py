"""`anjungan doctor` finds each fault it claims to, in a host root made in a folder: the
installer's folders with their owners and modes (a user database of the root's own), a real
fleet, a kiosk bundle and a centre folder, and a real Mosquitto from the fleet's config."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.peripherals import DEVICE_NAMES
from entrypoints.cli import main
from entrypoints.doctor.probe import _remaining_length, connect_packet, probe, read_connack
from provisioning.broker_process import free_port
from provisioning.bundle import complete, request
from provisioning.centre_folder import export_centre
from provisioning.centres import TlsFiles
from provisioning.crl import DAY, sign_crl
from provisioning.fleet import init_fleet, open_fleet
from tests.broker.harness import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
UID = 999  # anjungan in the root's own /etc/passwd


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    path.chmod(mode)


def make_host(tmp: Path, *, kiosk_now: float | None = None) -> Path:
    """A kiosk and a centre in one root, as the installer and the guide's steps leave them."""
    if os.geteuid() != 0:
        pytest.skip("owners are set with chown, which needs root")
    root = tmp / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(f"root:x:0:0::/root:/bin/sh\nanjungan:x:{UID}:{UID}::/var/lib/anjungan:/usr/sbin/nologin\n")
    (root / "etc/group").write_text(f"root:x:0:\nanjungan:x:{UID}:\n")
    etc, data = root / "etc/anjungan", root / "var/lib/anjungan"
    etc.mkdir()
    data.mkdir(parents=True)
    _own(etc, 0, UID, 0o750)
    _own(data, UID, UID, 0o700)
    fleet = init_fleet(etc / "fleet", broker_host="127.0.0.1", broker_port=1)
    _own(etc / "fleet", 0, 0, 0o700)
    request(etc / "bundle", "kiosk-01")
    complete(fleet, etc / "bundle", now=kiosk_now)
    export_centre(fleet, etc / "centre")
    for folder in (etc / "bundle", etc / "centre"):
        for path in folder.rglob("*"):
            os.chown(path, UID, UID)
        _own(folder, UID, UID, 0o700)
    devices = {name: f"/dev/anjungan/{name}" for name in DEVICE_NAMES}
    (etc / "peripherals.json").write_text(json.dumps(devices))
    (etc / "fleet-config.json").write_text("{}\n")
    for name in ("peripherals.json", "fleet-config.json"):
        _own(etc / name, 0, UID, 0o640)
    (root / "dev/anjungan").mkdir(parents=True)
    for name in DEVICE_NAMES:  # the udev rules' names (plain files stand in for the ttys)
        (root / "dev/anjungan" / name).touch()
    return root


def doctor(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str]:
    code = main(["doctor", "--root", str(root), "--timeout", "3", *args])
    return code, capsys.readouterr().out


def problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAIL")]


@pytest.fixture
def host(tmp_path: Path) -> Path:
    return make_host(tmp_path)


@pytest.fixture
def broker(host: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    mosquitto = Mosquitto(host / "etc/anjungan/fleet", tmp_path).start()
    yield f"127.0.0.1:{mosquitto.port}"
    mosquitto.stop()


@pytest.mark.parametrize("role", ["--kiosk", "--centre"])
def test_all_good_against_a_real_broker(host: Path, broker: str, role: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(capsys, host, role, "--broker", broker)
    assert problems(out) == [] and code == 0, out
    assert f"ok   broker  {broker} accepts this identity over TLS and MQTT" in out
    assert out.rstrip().endswith(": all ok")
    code, out = doctor(capsys, host, role, "--broker", broker, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["role"] == role[2:]
    assert {f["check"] for f in report["findings"]} >= {"config", "owner", "clock", "trust", "broker", "disk"}


def test_broker_down(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nobody listens
    code, out = doctor(capsys, host, "--kiosk", "--broker", f"127.0.0.1:{port}")
    assert code == 1
    assert problems(out) == [f"FAIL broker  cannot connect to 127.0.0.1:{port}: Connection refused"]
    assert "fix: on the centre: systemctl status mosquitto" in out


def test_expired_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_host(tmp_path, kiosk_now=time.time() - 40 * DAY)  # a 30-day certificate, 10 days gone
    code, out = doctor(capsys, root, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    assert code == 1
    [trust] = [line for line in problems(out) if "trust" in line]
    assert "kiosk certificate" in trust and "device.pem: expired, expired " in trust
    assert "enrol the kiosk again" in out


def test_expired_certificate_refused_by_the_broker(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = make_host(tmp_path, kiosk_now=time.time() - 40 * DAY)
    mosquitto = Mosquitto(root / "etc/anjungan/fleet", tmp_path).start()
    try:
        code, out = doctor(capsys, root, "--kiosk", "--broker", f"127.0.0.1:{mosquitto.port}")
    finally:
        mosquitto.stop()
    [line] = [x for x in problems(out) if "broker" in x]
    assert code == 1 and "TLS refused" in line, out


def test_expired_crl_on_the_centre(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sign_crl(open_fleet(host / "etc/anjungan/fleet"), now=time.time() - 40 * DAY)  # next update 10 days ago
    crl = host / "etc/anjungan/centre/crl.pem"
    shutil.copyfile(host / "etc/anjungan/fleet/crl.pem", crl)
    code, out = doctor(capsys, host, "--centre", "--broker", f"127.0.0.1:{free_port()}")
    [line] = [x for x in problems(out) if "trust" in x]
    assert code == 1 and line.startswith(f"FAIL trust   CRL {crl}: expired, expired ")
    assert "anjungan provision refresh-crl /etc/anjungan/fleet" in out


def test_clock_behind_the_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_host(tmp_path, kiosk_now=time.time() + 2 * DAY)  # issued "in two days"
    code, out = doctor(capsys, root, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    [clock] = [line for line in problems(out) if "clock" in line]
    assert code == 1 and "the clock is wrong" in clock and "chronyc tracking" in out


def test_wrong_owner(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = host / "var/lib/anjungan"
    os.chown(data, 0, 0)
    code, out = doctor(capsys, host, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert f"FAIL owner   {data} is root:root 0700, expected anjungan:anjungan 0700" in problems(out)
    assert f"fix: sudo chown anjungan:anjungan {data} && sudo chmod 0700 {data}" in out


def test_wrong_mode(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = host / "etc/anjungan/bundle/device.key"
    key.chmod(0o644)
    (host / "etc/anjungan").chmod(0o755)
    code, out = doctor(capsys, host, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert f"FAIL owner   {key} is a private key readable by others (0644)" in problems(out)
    assert f"fix: sudo chmod 0600 {key}" in out
    assert any("etc/anjungan is root:anjungan 0755, expected root:anjungan 0750" in p for p in problems(out))


def test_missing_config(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (host / "etc/anjungan/centre/gateway.key").unlink()
    (host / "etc/anjungan/fleet-config.json").write_text("{oops")
    code, out = doctor(capsys, host, "--centre", "--broker", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert any("gateway.key missing" in p for p in problems(out))
    assert any("fleet-config.json not valid JSON" in p for p in problems(out))


def test_unplugged_peripheral(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (host / "dev/anjungan/fingerprint").unlink()
    code, out = doctor(capsys, host, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert [p for p in problems(out) if "broker" not in p] == ["FAIL device  fingerprint: /dev/anjungan/fingerprint is missing "
                             "(unplugged, or its udev rule does not match)"]
    assert "fix: plug the fingerprint in" in out
    assert "ok   device  printer: /dev/anjungan/printer present" in out


def test_full_disk(host: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(2**30, 2**30 - 10 * 2**20, 10 * 2**20))
    code, out = doctor(capsys, host, "--kiosk", "--broker", f"127.0.0.1:{free_port()}")
    [disk] = [line for line in problems(out) if "disk" in line]
    assert code == 1 and "10 MiB free of 1024 MiB (needs 200 MiB)" in disk
    assert "journalctl --vacuum-size" in out


def test_full_disk_on_a_small_tmpfs(host: Path, tmp_path: Path) -> None:
    """The data folder on a real 4 MiB tmpfs (anjungan's, 0700), in a mount namespace of its own."""
    data = host / "var/lib/anjungan"
    mount = f"mount -t tmpfs -o size=4m,uid={UID},gid={UID},mode=0700 tmpfs {data}"
    doctor_cmd = (f"{sys.executable} -m entrypoints.cli doctor --kiosk --root {host} "
                  f"--broker 127.0.0.1:{free_port()} --timeout 3")
    if subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                      capture_output=True).returncode != 0:
        pytest.skip("no mount namespaces here (unshare --mount)")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec",
                           f"{mount}; dd if=/dev/zero of={data}/filler bs=1M count=3 2>/dev/null; {doctor_cmd}"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    [disk] = [line for line in problems(done.stdout) if "disk" in line]
    assert done.returncode == 1 and f"FAIL disk    {data}: 1 MiB free of 4 MiB (needs 200 MiB)" == disk, done.stderr
    assert not any("owner" in p for p in problems(done.stdout))  # the tmpfs is anjungan's, 0700


def test_units_skipped_without_systemd(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = doctor(capsys, host, "--centre", "--broker", f"127.0.0.1:{free_port()}")
    assert "skip unit    systemd is not running here: anjungan-broker.service, mosquitto.service not checked" in out


@pytest.mark.parametrize(("args", "error"), [
    (["--broker", "nohost"], "--broker is HOST:PORT, not 'nohost'"),
    (["--broker", "h:99999"], "--broker is HOST:PORT, not 'h:99999'"),
    (["--timeout", "0"], "--timeout must be positive, not 0"),
])
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                               error: str) -> None:
    assert main(["doctor", "--kiosk", "--root", str(tmp_path), *args]) == 2
    assert capsys.readouterr().err == f"anjungan: error: {error}\n"


def test_unknown_role_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_connect_packet_exact_bytes() -> None:
    assert connect_packet("kiosk-01") == (b"\x10\x14\x00\x04MQTT\x04\x02\x00\x0a\x00\x08kiosk-01")
    assert read_connack(b"\x20\x02\x00\x05") == 5
    with pytest.raises(ValueError):
        read_connack(b"\x30\x02\x00\x00")


@given(st.integers(min_value=0, max_value=268_435_455))
def test_remaining_length_decodes_back(n: int) -> None:
    encoded = _remaining_length(n)
    value = sum((b & 0x7F) << (7 * i) for i, b in enumerate(encoded))
    assert value == n and len(encoded) <= 4 and all(b & 0x80 for b in encoded[:-1])
    assert not encoded[-1] & 0x80


def _kiosk_tls(root: Path) -> TlsFiles:
    b = root / "etc/anjungan/bundle"
    return TlsFiles(ca_file=str(b / "ca.pem"), cert_file=str(b / "device.pem"), key_file=str(b / "device.key"))


def test_tls_only_probe_while_the_service_runs(host: Path, broker: str) -> None:
    """While the unit runs the doctor stops after TLS (a CONNECT would take its session)."""
    h, _, port = broker.rpartition(":")
    result = probe(h, int(port), _kiosk_tls(host), client_id="kiosk-01", mqtt=False)
    assert result.ok and "MQTT not tried" in result.detail


def test_tls_only_probe_sees_the_broker_refuse_an_expired_certificate(tmp_path: Path) -> None:
    root = make_host(tmp_path, kiosk_now=time.time() - 40 * DAY)
    mosquitto = Mosquitto(root / "etc/anjungan/fleet", tmp_path).start()
    try:
        result = probe("127.0.0.1", mosquitto.port, _kiosk_tls(root), client_id="kiosk-01", mqtt=False)
    finally:
        mosquitto.stop()
    assert not result.ok and "TLS refused" in result.detail, result.detail
