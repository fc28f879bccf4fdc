"""Taking the fleet's CRL and revocations to a running Mosquitto, once or on a schedule.

Measured with Mosquitto 2.0.11 (`tests/foundation/test_trust_lifetime.py`): on SIGHUP it
re-reads `crlfile` and `acl_file`. New connections are then checked against the new CRL;
connections already open are not re-checked and stay up, but the reloaded ACL applies to
them at once, so a revoked kiosk denied every topic (`provisioning.crl.acl_denials`) can no
longer publish nor receive. Its connection ends at its next reconnect, which the CRL refuses.
The reload happens in the broker's next main-loop round (within a second), and it replaces
the CRL: one already lapsed at the broker's clock refuses every kiosk.

`push` copies crl.pem and the ACL into the broker's configuration folder (atomic renames:
the broker never reads half a file) and sends SIGHUP when either changed. `keep` does
`refresh_crl(if_due=True)` + `push` every interval: the `crl-keeper` command.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioning.centre_folder import export_centre
from provisioning.crl import refresh_crl
from provisioning.errors import ProvisioningError
from provisioning.files import read_bytes, write_atomic
from provisioning.fleet import Fleet
from provisioning.mosquitto import fleet_acl_text

log = logging.getLogger("anjungan.provisioning.keeper")


@dataclass(frozen=True, kw_only=True)
class BrokerRef:
    """The running broker to SIGHUP: a pid, or Mosquitto's `pid_file`, read at signal time
    (a restarted broker has a new pid)."""

    pid: int | None = None
    pid_file: Path | None = None

    def resolve(self) -> int:
        if self.pid is not None:
            return self.pid
        if self.pid_file is None:
            raise ProvisioningError("no broker pid or pid file given")
        text = read_bytes(self.pid_file, "broker pid file").decode(errors="replace").strip()
        if not text.isdigit():
            raise ProvisioningError(f"broker pid file {self.pid_file} holds no pid")
        return int(text)


def signal_broker(broker: BrokerRef) -> int:
    """SIGHUP the broker (reload CRL and ACL). Refuses a pid that is not a mosquitto: SIGHUP
    ends most other programs."""
    pid = broker.resolve()
    if pid <= 1:
        raise ProvisioningError(f"{pid} is not a broker pid")
    comm = Path(f"/proc/{pid}/comm")
    try:
        name = comm.read_text().strip() if comm.parent.exists() else "mosquitto"
    except OSError:
        name = ""
    if name != "mosquitto":
        raise ProvisioningError(f"process {pid} is not mosquitto ({name or 'no such process'})")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ProvisioningError(f"no broker process {pid}") from None
    except PermissionError:
        raise ProvisioningError(f"not allowed to signal the broker (pid {pid}); run as its user or root") from None
    return pid


def check_conf_dir(conf_dir: str | Path) -> Path:
    out = Path(conf_dir)
    if not (out / "mosquitto.conf").is_file():
        raise ProvisioningError(f"not a broker config folder (no mosquitto.conf): {out}; "
                                "write one with `anjungan provision mosquitto`")
    return out


def _install(path: Path, data: bytes) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


def install(fleet: Fleet, conf_dir: str | Path) -> bool:
    """Copy crl.pem and the ACL into the broker's config folder. True if either changed."""
    out = check_conf_dir(conf_dir)
    crl = _install(out / "crl.pem", read_bytes(fleet.path("crl.pem"), "CRL"))
    acl = _install(out / "acl", fleet_acl_text(fleet).encode())
    return crl or acl


def push(fleet: Fleet, conf_dir: str | Path, broker: BrokerRef | None) -> bool:
    """`install`, then SIGHUP the broker if anything changed. True if the broker was told."""
    if not install(fleet, conf_dir) or broker is None:
        return False
    signal_broker(broker)
    return True


def keep(fleet: Fleet, conf_dir: str | Path, broker: BrokerRef | None, *, interval_s: float,
         stop: threading.Event, clock: Callable[[], float] = time.time,
         centre_dir: str | Path | None = None) -> None:
    """Refresh when due and push, every `interval_s`, until `stop`. A failed round is logged
    and retried next round; a change not yet signalled is signalled then."""
    check_conf_dir(conf_dir)  # a wrong folder is a mistake to report now, not every hour
    unsignalled = False
    while True:
        try:
            if refresh_crl(fleet, now=clock(), if_due=True):
                log.warning("CRL re-signed (it was within its refresh margin)")
            unsignalled |= install(fleet, conf_dir)
            if centre_dir is not None and (changed := export_centre(fleet, centre_dir)):
                log.warning("centre folder %s: %s updated", centre_dir, ", ".join(changed))
            if unsignalled and broker is not None:
                pid = signal_broker(broker)
                log.warning("broker %d told to reload its CRL and ACL", pid)
            unsignalled = False
        except (ProvisioningError, OSError) as exc:  # e.g. the broker down, a folder unwritable
            log.error("CRL keeper: %s; trying again in %.0f s", exc, interval_s)
        if stop.wait(interval_s):
            return
