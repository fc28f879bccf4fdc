"""The fleet's trust (CA, CRL, registry), reloaded when the fleet folder changes, so a
`provision revoke` takes effect without restarting the service."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from anjungan.packet import FleetTrust
from provisioning.fleet import load_trust

log = logging.getLogger("anjungan.trust")
WATCHED = ("ca.pem", "issuing.pem", "crl.pem", "registry.json")


class TrustSource:
    def __init__(self, fleet_dir: str | Path, *, check_every_s: float = 2.0) -> None:
        self.root = Path(fleet_dir)
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self._trust = load_trust(self.root)
        self._checked = time.monotonic()

    def _mtimes(self) -> tuple[float, ...]:
        return tuple((self.root / n).stat().st_mtime if (self.root / n).exists() else 0.0
                     for n in WATCHED)

    def __call__(self) -> FleetTrust:
        with self._lock:
            if time.monotonic() - self._checked >= self.check_every_s:
                self._checked = time.monotonic()
                stamp = self._mtimes()
                if stamp != self._stamp:
                    try:
                        self._trust, self._stamp = load_trust(self.root), stamp
                        log.info("fleet trust reloaded")
                    except Exception as exc:  # noqa: BLE001 - keep the last good trust
                        log.warning("fleet trust reload failed (%s); keeping the last", exc)
            return self._trust
