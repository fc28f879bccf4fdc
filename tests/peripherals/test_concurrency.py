"""The kiosk guides a resident with the controller's LEDs and buzzer from its capture thread
while its main loop asks every device for health: the shared serial link must hold.

This once crashed a demo kiosk: two threads connected the same controller link at once and
one read from a port the other had just closed."""

from __future__ import annotations

import threading
import time

from drivers.simulators.rig import ControllerOnPty


def _race(rig: ControllerOnPty, rounds: int) -> tuple[list[BaseException], list[dict]]:
    """Both threads reach the controller's first use together, as the kiosk's do."""
    errors: list[BaseException] = []
    reports: list[dict] = []
    gate = threading.Barrier(2)

    def guide() -> None:  # what kiosk.ports.capture does around every read
        try:
            gate.wait()
            for _ in range(rounds):
                rig.indicate("finger", True)
                time.sleep(0.003)  # the device read in between
                rig.indicate("finger", False)
                rig.beep(10)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever escaped
            errors.append(exc)

    worker = threading.Thread(target=guide, daemon=True)
    worker.start()
    gate.wait()
    while worker.is_alive() and not errors:
        try:
            reports.append(rig.health()["controller"])
        except BaseException as exc:  # noqa: BLE001 - health must never raise at all
            errors.append(exc)
        time.sleep(0.001)
    worker.join(10)
    return errors, reports


def test_health_while_capture_thread_drives_the_controller(micropython):
    for seed in range(4):
        rig = ControllerOnPty(seed=seed)
        try:
            errors, reports = _race(rig, rounds=40)
        finally:
            rig.close()
        assert not errors, errors
        assert reports and all(r["ok"] for r in reports), [r for r in reports if not r["ok"]][:3]
        assert any(not r.get("busy") for r in reports)  # really read, not only the cached answer
