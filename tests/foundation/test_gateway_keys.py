"""Gateway key rotation: a key id in the packet header, kiosks receive the new key with their
next renewal, the gateway opens packets sealed to any key it keeps, and destroys a retired
key only once no packet can need it."""

from __future__ import annotations

import json

import pytest

from anjungan.packet import PacketError, PriorityClass, Service, build_packet, encode_packet
from anjungan.packet.seal import gateway_key_id
from broker.gateway import Gateway
from entrypoints.cli import main
from kiosk.renewal import Renewer
from kiosk.transport import MemoryTransport
from provisioning.bundle import load_bundle
from provisioning.centre_folder import export_centre
from provisioning.crl import DAY
from provisioning.gateway_keys import (
    current_id,
    destroy,
    destroyable,
    load_keyring,
    retired,
    rotate,
)
from tests.foundation.test_packet import small_body
from tests.foundation.test_renewal import T0, enroll, fleet, wire  # noqa: F401 - the fixture

WINDOW = 30 * DAY


def sealed(bundle, *, key_id: str | None = None, now: float = T0) -> bytes:
    return encode_packet(build_packet(
        small_body(), identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
        suite_name=bundle.suite, sequence=1, service=Service.NEW_RECORDING,
        priority=PriorityClass.FIRST_RECORDING, now=now,
        key_id=bundle.gateway_key_id if key_id is None else key_id))


def test_rotation_reaches_kiosks_with_their_renewal_and_the_gateway_opens_both(fleet, tmp_path):  # noqa: F811
    bundle = enroll(fleet, tmp_path / "k1", "kiosk-1")
    first = current_id(fleet.root)
    assert bundle.gateway_key_id == first == gateway_key_id(fleet.path("gateway.pub").read_bytes())
    old_keyed, old_plain = sealed(bundle), sealed(bundle, key_id="")  # v2 and v1 headers
    assert main(["provision", "rotate-gateway-key", str(fleet.root)]) == 0
    second = current_id(fleet.root)
    assert second != first and set(load_keyring(fleet.root)) == {first, second}
    assert retired(fleet.root)[first]["state"] == "kept"
    transport = MemoryTransport()
    transport.start()
    renewer = Renewer(bundle=bundle, transport=transport)
    wire(fleet, renewer, transport, T0 + 21 * DAY)
    renewed = load_bundle(bundle.root)
    assert renewed.gateway_key_id == second and renewer.renewals == 1
    gateway = Gateway(load_keyring(fleet.root))
    for packet in (old_keyed, old_plain, sealed(renewed, now=T0 + 21 * DAY)):
        header, document = gateway.submission(packet)
        assert json.loads(document)  # opened
    with pytest.raises(PacketError) as info:  # a key id nobody holds
        gateway.submission(sealed(renewed, key_id="0" * 16))
    assert info.value.reason == "sealed"


def test_a_gateway_started_before_a_rotation_reloads_its_keys(fleet, tmp_path):  # noqa: F811
    bundle = enroll(fleet, tmp_path / "k1", "kiosk-1")
    gateway = Gateway(load_keyring(fleet.root), reload=lambda: load_keyring(fleet.root))
    rotate(fleet, now=T0)
    transport = MemoryTransport()
    transport.start()
    renewer = Renewer(bundle=bundle, transport=transport)
    wire(fleet, renewer, transport, T0 + 21 * DAY)
    gateway.submission(sealed(load_bundle(bundle.root), now=T0 + 21 * DAY))


def test_a_retired_key_is_destroyed_only_when_no_packet_can_need_it(fleet, tmp_path):  # noqa: F811
    bundle = enroll(fleet, tmp_path / "k1", "kiosk-1")
    old_packet = sealed(bundle)
    centre = tmp_path / "centre"
    export_centre(fleet, centre)
    first, _second = rotate(fleet, now=T0)
    export_centre(fleet, centre)
    last_sealed = T0 + 30 * DAY  # the last certificate holding the old key expires then

    def ready(now, oldest=None):
        return destroyable(centre, now=now, kiosk_days=30, window_s=WINDOW, oldest_undelivered=oldest)

    assert ready(last_sealed + WINDOW - 1) == []  # a kiosk's packet may still arrive
    assert ready(last_sealed + WINDOW, oldest=last_sealed - 1) == []  # one waits in the queue
    assert ready(last_sealed + WINDOW, oldest=last_sealed) == [first]
    Gateway(load_keyring(centre)).submission(old_packet)
    destroy(centre, [first], now=last_sealed + WINDOW)
    assert first not in load_keyring(centre) and not (centre / "gateway-keys" / f"{first}.key").exists()
    with pytest.raises(PacketError):
        Gateway(load_keyring(centre)).submission(old_packet)
    export_centre(fleet, centre)  # the fleet folder still has it: never copied back
    assert not (centre / "gateway-keys" / f"{first}.key").exists()
    rotate(fleet, now=T0 + DAY)  # a later rotation still reaches the centre's book
    export_centre(fleet, centre)
    book = retired(centre)
    assert book[first]["state"] == "destroyed" and len(book) == 2 and len(load_keyring(centre)) == 2
