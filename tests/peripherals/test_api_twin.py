"""The kiosk-facing API on the in-memory twin."""

import pytest

from anjungan.packet.model import FINGER_POSITIONS, IMAGE_FORMATS
from drivers.errors import DeviceUnavailable, PeripheralConfigError
from drivers.factory import open_peripherals
from drivers.peripherals import PeripheralConfig, Peripherals


def test_twin_captures_every_modality():
    with open_peripherals("sim", seed=1) as p:
        caps = [p.capture_face(), p.capture_iris("right_iris"), p.capture_signature()]
        caps += [p.capture_finger(pos) for pos in FINGER_POSITIONS]
        for cap in caps:
            assert cap.image_format in IMAGE_FORMATS
            assert 0 <= cap.quality <= 100
            assert "quality=" in repr(cap) and len(repr(cap)) < 100
        assert len(caps[3].image) == 256 * 288
        assert caps[0].image.startswith(b"\x89PNG")
        p.print_receipt(["Nomor tiket: A-1"], qr_data="A-1")
        assert p.receipts == [(("Nomor tiket: A-1",), "A-1")]  # type: ignore[attr-defined]
        assert all(h["ok"] for h in p.health().values())


def test_twin_varies_quality_below_threshold():
    with open_peripherals("sim", seed=7) as p:
        scores = [p.capture_finger("left_thumb").quality for _ in range(24)]
    assert min(scores) < 40 <= max(scores)


def test_twin_unplug_raises_and_health_reports():
    p = open_peripherals("sim")
    p.unplug("iris")  # type: ignore[attr-defined]
    with pytest.raises(DeviceUnavailable, match="iris"):
        p.capture_iris("left_iris")
    assert p.health()["iris"]["ok"] is False
    p.replug("iris")  # type: ignore[attr-defined]
    assert p.capture_iris("left_iris").image
    with pytest.raises(ValueError):
        p.capture_finger("nose")


def test_config_rejects_unknown_keys():
    with pytest.raises(PeripheralConfigError, match="bogus"):
        PeripheralConfig.from_mapping({"bogus": 1})
    with pytest.raises(PeripheralConfigError):
        open_peripherals("nope")


@pytest.mark.parametrize("mode", ["sim", "sim-controller", "sim-pty"])
def test_every_factory_product_implements_the_one_interface(mode):
    """No duck-typed bridges: whatever `open_peripherals` returns is a `Peripherals`, and the
    controller calls the kiosk makes (LEDs, beep, presence) answer on each."""
    with open_peripherals(mode) as p:
        assert isinstance(p, Peripherals)
        p.indicate("ok", True)
        p.indicate("ok", False)
        p.beep(10)
        assert isinstance(p.presence(), bool)
        assert "controller" in p.health()
