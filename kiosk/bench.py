"""`anjungan bench kiosk`: the kiosk's own software time per resident session.

A full new recording (14 positions, 4-4-2 slaps) is played by the same script runner the
headless kiosk uses, against peripherals that answer instantly with captures made once up
front: what is left is the kiosk's overhead (flow, drawing every screen, sealing, signing,
the durable outbox commit, the receipt). Human time is zero: every touch follows at once.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from drivers.peripherals import Capture
from drivers.twin import InMemoryPeripherals
from kiosk.app import Journal, KioskApp
from kiosk.flow.machine import Flow
from kiosk.outbox import SqliteOutbox
from kiosk.publisher import Publisher
from kiosk.script import parse_script, run_script
from kiosk.submit import SealingKeys
from kiosk.transport import MemoryTransport
from kiosk.ui.screen import Renderer
from provisioning import bundle as kb
from provisioning.fleet import init_fleet, open_fleet

SCRIPT = Path(__file__).parent / "scripts" / "new_recording.json"
TARGET_OVERHEAD_S = 1.0


class InstantPeripherals(InMemoryPeripherals):
    """One capture per modality made up front, then handed out at once (position renamed)."""

    def __init__(self) -> None:
        super().__init__()
        self._face, self._finger = super().capture_face(), super().capture_finger("right_index")
        self._iris, self._signature = super().capture_iris("right_iris"), super().capture_signature()

    def capture_face(self) -> Capture:
        return self._face

    def capture_finger(self, position: str) -> Capture:
        return dataclasses.replace(self._finger, position=position, quality=90)

    def capture_iris(self, position: str) -> Capture:
        return dataclasses.replace(self._iris, position=position, quality=90)

    def capture_signature(self) -> Capture:
        return self._signature


class _Null:
    def write(self, _s: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_bench(*, sessions: int = 5, size: tuple[int, int] = (800, 480)) -> dict[str, Any]:
    steps = parse_script(SCRIPT.read_text(), SCRIPT.name)
    with tempfile.TemporaryDirectory(prefix="anjungan-bench-") as tmp:
        root = Path(tmp)
        init_fleet(root / "fleet", broker_port=1)
        kb.request(root / "bundle", "bench-kiosk")
        kb.complete(open_fleet(root / "fleet"), root / "bundle")
        bundle = kb.load_bundle(root / "bundle")
        keys = SealingKeys(identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
                           suite=bundle.suite)
        outbox = SqliteOutbox(root / "outbox.db")
        renderer = Renderer(*size)
        peripherals = InstantPeripherals()
        app = KioskApp(flow=Flow(), renderer=renderer, peripherals=peripherals, outbox=outbox,
                       keys=keys, journal=Journal(out=_Null()), session_id="bench")
        app.publisher = Publisher(kiosk_id=keys.kiosk_id, session_id="bench", outbox=outbox,
                                  transport=MemoryTransport(), health=app.health)
        app.publisher.start()
        run_script(app, steps)  # warm-up: fonts, imports, first SQLite pages
        renderer.frame_ms.clear()
        overhead = []
        for _ in range(sessions):
            t0 = time.perf_counter()
            run_script(app, steps)
            overhead.append(time.perf_counter() - t0)
        frames = list(renderer.frame_ms)
        stored = outbox.reserve_sequence() - 1
        app.close()
        renderer.close()
        peripherals.close()
        outbox.close()
    return {
        "sessions": sessions,
        "overhead_s": round(statistics.mean(overhead), 3),
        "overhead_s_p95": round(p95(overhead), 3),
        "overhead_s_max": round(max(overhead), 3),
        "target_overhead_s": TARGET_OVERHEAD_S,
        "frames_per_session": len(frames) // sessions,
        "frame_ms_p50": round(statistics.median(frames), 2),
        "frame_ms_p95": round(p95(frames), 2),
        "size": f"{size[0]}x{size[1]}",
        "packets_stored": stored,
    }


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run_bench()))
