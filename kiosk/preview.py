"""The face camera's live preview, pulled on its own thread while a face screen shows.

The UI thread only reads `latest` (one reference, replaced whole) and never waits for the
camera; `stop()` only asks the thread to end (it ends after the frame in hand, at most one
camera timeout later) and forgets its frames at once, so a late frame never shows on the
next screen. Each `start()` is a new run with its own stop flag: a run still finishing a
frame cannot write into the next one. A camera fault is counted and retried after a pause;
it never reaches the resident as an error (the capture itself reports the device).
"""

from __future__ import annotations

import logging
import threading

from drivers.peripherals import FacePreview, Peripherals

log = logging.getLogger("anjungan.kiosk.preview")

FRAME_INTERVAL_S = 0.2  # about 5 frames a second at most: enough to aim a face, little load
RETRY_S = 1.0  # after a camera fault


class _Run:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.latest: FacePreview | None = None
        self.frames = 0
        self.faults = 0


class LivePreview:
    def __init__(self, port: Peripherals, *, interval_s: float = FRAME_INTERVAL_S) -> None:
        self.port, self.interval_s = port, interval_s
        self._run: _Run | None = None
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def latest(self) -> FacePreview | None:
        run = self._run
        return run.latest if run is not None else None

    @property
    def frames(self) -> int:
        run = self._run
        return run.frames if run is not None else 0

    def alive(self) -> int:
        """Preview threads still running (a stopped one ends after its frame in hand)."""
        self._threads = [t for t in self._threads if t.is_alive()]
        return len(self._threads)

    def start(self) -> None:
        if self._run is not None:
            return
        run = self._run = _Run()
        thread = threading.Thread(target=self._pull, args=(run,), name="face-preview", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            run.stop.set()

    def close(self, timeout_s: float = 2.0) -> None:
        self.stop()
        for thread in self._threads:
            thread.join(timeout_s)
        self.alive()

    def _pull(self, run: _Run) -> None:
        while not run.stop.is_set():
            try:
                frame = self.port.preview_face()
            except Exception as exc:  # any camera or driver fault: a paused preview, never a crash
                run.faults += 1
                log.warning("face preview: %s", type(exc).__name__)
                run.stop.wait(RETRY_S)
                continue
            if run.stop.is_set():
                return
            run.latest, run.frames = frame, run.frames + 1
            run.stop.wait(self.interval_s)
