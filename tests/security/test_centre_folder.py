"""The centre runs from a folder of its own: what it needs from the fleet, never the CA key."""

from __future__ import annotations

import os
import stat

import pytest

from broker.trust import TrustSource
from entrypoints.cli import main
from provisioning.bundle import complete, request
from provisioning.centre_folder import export_centre
from provisioning.errors import ProvisioningError
from provisioning.fleet import centre_tls, init_fleet, load_gateway_key


@pytest.fixture
def fleet(tmp_path):
    f = init_fleet(tmp_path / "fleet")
    request(tmp_path / "kiosk-01", "kiosk-01")
    complete(f, tmp_path / "kiosk-01")
    return f


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_centre_folder_has_what_the_centre_needs_and_never_the_ca_key(fleet, tmp_path):
    out = tmp_path / "centre"
    written = export_centre(fleet, out)
    assert "ca.key" not in written and not (out / "ca.key").exists()
    assert "issuing.key" not in written and "issuing.pem" in written  # the signer's key stays with it
    assert mode(out) == 0o700
    for key in ("centre.key", "gateway.key", "centres/anjungan-fleet.key"):
        assert mode(out / key) == 0o600, key
    # everything the central service opens, from the copy
    assert TrustSource(out)().kiosks == {"kiosk-01": "active"} and TrustSource(out)().issuers
    assert load_gateway_key(out) is not None and centre_tls(out).cert_file.startswith(str(out))
    assert export_centre(fleet, out) == []  # idempotent: nothing rewritten


def test_a_revocation_reaches_the_centre_folder_with_centre_dir(fleet, tmp_path, capsys):
    out = tmp_path / "centre"
    assert main(["provision", "centre-folder", str(fleet.root), "--out", str(out)]) == 0
    assert main(["provision", "revoke", str(fleet.root), "--kiosk-id", "kiosk-01",
                 "--centre-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "crl.pem" in printed and "registry.json" in printed
    assert TrustSource(out)().kiosks == {"kiosk-01": "revoked"}


def test_broker_run_refuses_to_run_beside_the_ca_key(fleet, capsys):
    assert main(["broker", "run", "--fleet", str(fleet.root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "provision centre-folder" in err and "Traceback" not in err
    assert not (fleet.root.parent / "centre").exists()  # refused before opening anything


def test_the_centre_folder_is_never_the_fleet_folder(fleet):
    with pytest.raises(ProvisioningError):
        export_centre(fleet, fleet.root)


@pytest.mark.parametrize("bad", ["/nonexistent/fleet", "/etc"])
def test_centre_folder_from_something_that_is_not_a_fleet_is_one_line(bad, tmp_path, capsys):
    assert main(["provision", "centre-folder", bad, "--out", str(tmp_path / "c")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_old_copy_of_the_ca_key_is_removed(fleet, tmp_path):
    out = tmp_path / "centre"
    out.mkdir()
    (out / "ca.key").write_bytes(fleet.path("ca.key").read_bytes())
    export_centre(fleet, out)
    assert not (out / "ca.key").exists()
