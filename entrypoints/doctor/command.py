"""`anjungan doctor`: checks one host, kiosk or centre, end to end, and prints each problem
with the command that fixes it. Exit 0 when every check passed (or could not run here),
1 when a problem was found, 2 for bad input."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from anjungan.commands import port_number
from anjungan.errors import AnjunganError, UsageError
from deploy.plan import UNITS, Role
from entrypoints.doctor import checks
from entrypoints.doctor.findings import Finding, State, ok, problem, skipped
from entrypoints.doctor.probe import probe
from provisioning.centres import CENTRE_ID, TlsFiles, find


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this kiosk or centre end to end; print what to fix",
                       description=__doc__)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--kiosk", dest="role", action="store_const", const=Role.KIOSK,
                       help="check a kiosk (default: found from /etc/anjungan)")
    which.add_argument("--centre", dest="role", action="store_const", const=Role.CENTRE,
                       help="check a centre host")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--root", default="/", help="the host's root folder (default /; for images and tests)")
    p.add_argument("--broker", metavar="HOST:PORT", default="",
                   help="the broker to try (default: the bundle's, or the centre folder's fleet)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds for the broker check (default 5)")
    p.set_defaults(func=run)


def _role(args: argparse.Namespace, root: Path) -> Role:
    if args.role is not None:
        return args.role
    found = [r for r, d in ((Role.KIOSK, checks.bundle_dir(root)), (Role.CENTRE, checks.centre_dir(root)))
             if d.is_dir()]
    if len(found) != 1:
        raise UsageError(f"cannot tell whether {root} is a kiosk or a centre: give --kiosk or --centre")
    return found[0]


def _broker_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    try:
        if not sep or not host:
            raise ValueError
        return host.strip("[]"), port_number(port)
    except (ValueError, argparse.ArgumentTypeError):
        raise UsageError(f"--broker is HOST:PORT, not {text!r}") from None


def _identity(role: Role, root: Path) -> tuple[TlsFiles, str, tuple[str, int]]:
    """TLS files, client id and the configured broker; ValueError/OSError/KeyError if unreadable."""
    if role is Role.KIOSK:
        folder = checks.bundle_dir(root)
        cfg = json.loads((folder / "bundle.json").read_bytes())
        tls = TlsFiles(ca_file=str(folder / "ca.pem"), cert_file=str(folder / "device.pem"),
                       key_file=str(folder / "device.key"))
        return tls, str(cfg["kiosk_id"]), (str(cfg["broker"]["host"]), int(cfg["broker"]["port"]))
    folder = checks.centre_dir(root)
    cfg = json.loads((folder / "fleet.json").read_bytes())
    tls = find(folder, CENTRE_ID).tls
    return tls, CENTRE_ID, (str(cfg["broker"]["host"]), int(cfg["broker"]["port"]))


def check_broker(role: Role, root: Path, broker: str, timeout: float) -> Finding:
    try:
        tls, client_id, address = _identity(role, root)
    except (OSError, ValueError, KeyError, TypeError, AnjunganError):
        return skipped("broker", "no usable identity to connect with (see the config findings)")
    host, port = _broker_address(broker) if broker else address
    # the broker takes client ids from certificates: a CONNECT would take the running service's session
    running = checks.systemd_running(root) and checks.unit_active(UNITS[role])
    result = probe(host, port, tls, client_id=client_id, timeout=timeout, mqtt=not running)
    if result.ok:
        return ok("broker", result.detail)
    if role is Role.KIOSK:
        fix = ("on the centre: systemctl status mosquitto; from here: ping the broker host. "
               f"'unknown ca' or 'revoked': {checks.SIGN_AGAIN}")
    else:
        fix = "sudo systemctl restart mosquitto && journalctl -u mosquitto -n 50"
    return problem("broker", result.detail, fix)


def diagnose(role: Role, root: Path, *, broker: str = "", timeout: float = 5.0,
             now: float | None = None) -> list[Finding]:
    now = time.time() if now is None else now
    return [
        *checks.check_config(role, root),
        *checks.check_owners(role, root),
        *checks.check_clock(role, root, now),
        *checks.check_trust(role, root, now),
        *(checks.check_peripherals(root) if role is Role.KIOSK else ()),
        check_broker(role, root, broker, timeout),
        checks.check_disk(root),
        *checks.check_units(role, root),
    ]


def render(role: Role, findings: list[Finding]) -> list[str]:
    lines = []
    for f in findings:
        mark = {State.OK: "ok  ", State.PROBLEM: "FAIL", State.SKIPPED: "skip"}[f.state]
        lines.append(f"{mark} {f.check:7} {f.detail}")
        if f.fix:
            lines.append(f"     {'':7} fix: {f.fix}")
    problems = sum(f.state is State.PROBLEM for f in findings)
    lines.append(f"{role.value}: {problems} problem(s)" if problems else f"{role.value}: all ok")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
    if args.broker:
        _broker_address(args.broker)
    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {root} is not a folder")
    role = _role(args, root)
    findings = diagnose(role, root, broker=args.broker, timeout=args.timeout)
    bad = any(f.state is State.PROBLEM for f in findings)
    if args.json:
        print(json.dumps({"role": role.value, "ok": not bad, "findings": [f.as_json() for f in findings]},
                         indent=2))
    else:
        print("\n".join(render(role, findings)))
    return 1 if bad else 0
