"""The dashboard opens an alert 7 days before a CA, centre certificate or the CRL expires,
read from the fleet (or centre) folder on every centre sample, and clears it once renewed."""

from __future__ import annotations

from broker.fleet.centre_sample import with_trust
from broker.fleet.core import FleetCore
from broker.fleet.model import AlertKind
from provisioning.centre_folder import export_centre
from provisioning.crl import DAY, refresh_crl
from provisioning.fleet import init_fleet
from tests.fleet.test_core import cleared, opened

T0 = 1_800_000_000.0


def test_trust_expiry_alerts_open_a_week_ahead_and_clear_after_renewal(tmp_path):
    fleet = init_fleet(tmp_path / "fleet", now=T0)
    centre = tmp_path / "centre"
    export_centre(fleet, centre)  # what `broker run` reads: no broker.pem, no keys of the CAs
    sample = with_trust(None, centre)
    core = FleetCore()
    assert opened(core.sample(sample(T0 + 22 * DAY))) == []
    assert opened(core.sample(sample(T0 + 23.5 * DAY))) == [("trust_expiring", "crl.pem", "expires in 6 d")]
    refresh_crl(fleet, now=T0 + 23.5 * DAY)  # the signer (or crl-keeper) re-signs it
    export_centre(fleet, centre)
    assert cleared(core.sample(sample(T0 + 23.6 * DAY))) == ["trust_expiring"]
    later = {subject for _kind, subject, _detail in opened(core.sample(sample(T0 + 726 * DAY)))}
    assert {"centre.pem", "centres/anjungan-fleet.pem", "centres/anjungan-signer.pem", "crl.pem"} <= later
    assert all(a.key.kind is AlertKind.TRUST_EXPIRING for a in core.open_alerts())
