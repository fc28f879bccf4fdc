"""400 days of a 3-kiosk fleet on an injected clock, untouched by any technician but for
one revocation: every kiosk renews its 30-day certificate on time (the signing service's
core answers what each kiosk's renewer publishes), the CRL is re-signed before every
nextUpdate, no packet is lost (packets made before a renewal, delivered after it, verify),
a kiosk revoked on day 200 is cut off at once, and the gateway key rotated on day 100 reaches
every kiosk with its renewal while the gateway opens every body, then is destroyed once no
packet can need it. Prints the measurements."""

from __future__ import annotations

import time

import pytest

from anjungan import topics
from anjungan.packet import (
    PacketError,
    PriorityClass,
    Service,
    build_packet,
    encode_packet,
    verify_packet,
)
from anjungan.packet.verify import DEFAULT_WINDOW_S
from broker.gateway import Gateway
from kiosk.renewal import Renewer, renew_at
from kiosk.transport import LinkEventKind, MemoryTransport
from provisioning.bundle import complete, load_bundle, request
from provisioning.crl import DAY, load_crl, next_update, refresh_crl
from provisioning.fleet import init_fleet, load_trust, revoke
from provisioning.gateway_keys import current_id, destroy, destroyable, load_keyring, rotate
from provisioning.mosquitto import fleet_acl_text
from provisioning.signer import answer
from provisioning.status import trust_status
from tests.foundation.test_packet import small_body

pytestmark = pytest.mark.slow
T0 = 1_800_000_000.0
HOUR = 3600.0
DAYS = 400
REVOKED_ON = 200
ROTATED_ON = 100
# kiosk-2 is offline (no delivery, no renewal) for these stretches: its outbox holds packets
# signed under a certificate that is renewed away before they reach the centre. A kiosk
# renews at day 20 of 30, so it rides out any outage up to 10 days, and some up to 30
OFFLINE = {"kiosk-2": [(50, 62), (150, 160), (231, 240)]}


class SimKiosk:
    def __init__(self, fleet, folder, kiosk_id) -> None:
        request(folder, kiosk_id)
        complete(fleet, folder, now=T0)
        self.id = kiosk_id
        self.transport = MemoryTransport()
        self.transport.start()
        self.renewer = Renewer(bundle=load_bundle(folder), transport=self.transport, retry_s=6 * HOUR)
        self.outbox: list = []
        self.sequence = 0
        self.renewed_at: list[tuple[float, float]] = []  # (when, when it was due)

    def online(self, day: float) -> bool:
        return not any(a <= day < b for a, b in OFFLINE.get(self.id, []))


def make(bundle, *, sequence: int, now: float):
    return build_packet(small_body(), identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
                        suite_name=bundle.suite, sequence=sequence, service=Service.NEW_RECORDING,
                        priority=PriorityClass.FIRST_RECORDING, now=now, key_id=bundle.gateway_key_id)


def carry(fleet, kiosk: SimKiosk, now: float) -> None:
    """The broker's part: the kiosk's renew message to the signer, the answer back."""
    due = renew_at(kiosk.renewer.bundle)
    kiosk.renewer.pump(now)
    for topic, payload, _ in kiosk.transport.published:
        kiosk_id, kind = topics.parse(topic)
        assert kind == "renew" and kiosk_id == kiosk.id
        kiosk.transport.inject(topics.topic(kiosk_id, "renewed"), answer(fleet, kiosk_id, payload, now=now).to_json())
    kiosk.transport.published.clear()
    before = kiosk.renewer.renewals
    for ev in kiosk.transport.poll():
        if ev.kind is LinkEventKind.MESSAGE:
            kiosk.renewer.on_message(ev.payload, now)
    if kiosk.renewer.renewals > before:
        kiosk.renewed_at.append((now, due))


def test_a_fleet_runs_400_days_untouched(tmp_path):
    started = time.monotonic()
    fleet = init_fleet(tmp_path / "fleet", now=T0)
    kiosks = [SimKiosk(fleet, tmp_path / k, k) for k in ("kiosk-1", "kiosk-2", "kiosk-3")]
    accepted: dict[str, int] = {k.id: 0 for k in kiosks}
    refused: dict[str, list[str]] = {k.id: [] for k in kiosks}
    crl_refreshes, min_crl_margin = 0, float("inf")
    trust = load_trust(fleet.root)
    gateway = Gateway(load_keyring(fleet.root), reload=lambda: load_keyring(fleet.root))
    opened: dict[str, int] = {}  # key id -> bodies the gateway opened with it
    revoked_at = old_key = None
    for step in range(int(DAYS * 24)):
        now = T0 + step * HOUR
        day = step / 24
        if step % 6 == 0 and refresh_crl(fleet, now=now, if_due=True):  # the signer's upkeep
            crl_refreshes += 1
            trust = load_trust(fleet.root)
        min_crl_margin = min(min_crl_margin, next_update(load_crl(fleet)) - now) if step % 24 == 0 else min_crl_margin
        if day == ROTATED_ON:
            old_key, _new = rotate(fleet, now=now)
        if day == REVOKED_ON:
            revoke(fleet, "kiosk-3", now=now)
            revoked_at = now
            trust = load_trust(fleet.root)  # the centre re-reads its folder within 2 s
            assert "user kiosk-3\ntopic deny #" in fleet_acl_text(fleet)  # the broker's ACL, on SIGHUP
        for k in kiosks:
            if k.id == "kiosk-3" and revoked_at is not None and k.renewer.bundle.cert_expires_at < now:
                continue  # a revoked kiosk whose certificate has lapsed makes nothing more
            if step % 24 == 12:  # one capture a day, signed with whatever identity it holds now
                assert k.renewer.bundle.cert_valid_from <= now <= k.renewer.bundle.cert_expires_at, (k.id, day)
                k.sequence += 1
                k.outbox.append(make(k.renewer.bundle, sequence=k.sequence, now=now))
            if not k.online(day):
                continue
            carry(fleet, k, now)
            if renewed := (k.renewed_at and k.renewed_at[-1][0] == now):
                trust = load_trust(fleet.root) if renewed else trust
            for packet in k.outbox:
                try:
                    header = verify_packet(packet, trust, now=now)
                    gateway.submission(encode_packet(packet))  # the body opens with a key kept
                    opened[header.key_id] = opened.get(header.key_id, 0) + 1
                    accepted[k.id] += 1
                except PacketError as exc:
                    refused[k.id].append(exc.reason)
            k.outbox.clear()
    made = {k.id: k.sequence for k in kiosks}
    # every kiosk renewed at 2/3 of each certificate's life, within one retry, and never lapsed
    assert len(kiosks[0].renewed_at) == DAYS // 20 - 1  # days 20, 40, ... 380
    for k in kiosks[:2]:
        gaps = [b[0] - a[0] for a, b in zip(k.renewed_at, k.renewed_at[1:], strict=False)]
        assert max(gaps) < 30 * DAY and k.renewed_at[0][0] < T0 + 30 * DAY  # never lapsed
        lateness = [when - due for when, due in k.renewed_at]
        if k.id == "kiosk-1":
            assert max(lateness) <= HOUR  # always online: on the next pump after it is due
        assert max(lateness) <= 10 * DAY  # kiosk-2 renews when it is back
    # kiosk-3 renewed until day 200, then every renewal was refused
    k3 = kiosks[2]
    assert all(when < revoked_at for when, _ in k3.renewed_at) and k3.renewer.last_refusal.startswith("revoked")
    # zero packets lost for the kiosks never revoked, none accepted from kiosk-3 after day 200
    assert refused["kiosk-1"] == [] and refused["kiosk-2"] == []
    assert accepted["kiosk-1"] == made["kiosk-1"] and accepted["kiosk-2"] == made["kiosk-2"]
    assert set(refused["kiosk-3"]) == {"revoked"} and accepted["kiosk-3"] == REVOKED_ON
    assert min_crl_margin > 9 * DAY  # the CRL never came within 9 days of lapsing
    # the rotation: both keys sealed packets, and every kiosk took the new key with its renewal
    assert set(opened) == {old_key, current_id(fleet.root)}
    assert all(k.renewer.bundle.gateway_key_id == current_id(fleet.root) for k in kiosks[:2])
    end = T0 + DAYS * DAY
    assert destroyable(fleet.root, now=T0 + (ROTATED_ON + 59) * DAY, kiosk_days=30, window_s=DEFAULT_WINDOW_S,
                       oldest_undelivered=None) == []
    gone = destroyable(fleet.root, now=end, kiosk_days=30, window_s=DEFAULT_WINDOW_S, oldest_undelivered=None)
    destroy(fleet.root, gone, now=end)
    assert gone == [old_key] and list(load_keyring(fleet.root)) == [current_id(fleet.root)]
    status = trust_status(fleet, T0 + DAYS * DAY)
    untouched = min(i.expires_at for i in status.items if i.kind not in ("kiosk", "crl")) - T0
    first = min((i for i in status.items if i.kind not in ("kiosk", "crl")), key=lambda i: i.expires_at)
    print(f"\n400 days, 3 kiosks: renewals {[len(k.renewed_at) for k in kiosks]}, CRL re-signed "
          f"{crl_refreshes} times (closest to lapsing: {min_crl_margin / DAY:.1f} days), packets made "
          f"{made}, accepted {accepted}, refused kiosk-3 {len(refused['kiosk-3'])}; bodies opened per "
          f"gateway key {sorted(opened.values())}; untouched until day "
          f"{untouched / DAY:.0f} ({first.kind} {first.name} expires); {time.monotonic() - started:.1f} s")
    assert untouched >= 700 * DAY
