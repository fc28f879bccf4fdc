"""The local checks of `anjungan doctor`: config files, owners and modes, clock, certificate
and CRL expiry, disk space, systemd units. Each takes the host's root folder ("/" on a real
host, a folder in tests) and returns findings; none writes anything."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

from cryptography import x509

from anjungan.errors import AnjunganError
from deploy.plan import CONFIG_DIR, DATA_DIR, DEFAULT_PREFIX, UNITS, USER, Dir, Role, host_plan
from drivers.peripherals import DEVICE_NAMES, PeripheralConfig
from entrypoints.doctor.findings import Finding, ok, problem, skipped
from provisioning import status as trust
from provisioning.centre_folder import holds_ca_key
from provisioning.crl import DAY

BUNDLE_FILES = ("bundle.json", "device.key", "device.pem", "ca.pem", "gateway.pub")
CENTRE_FILES = ("fleet.json", "ca.pem", "crl.pem", "registry.json", "gateway.pub", "gateway.key",
                "centre.pem", "centre.key")
MIN_FREE = 200 * 1024 * 1024  # bytes; and at least MIN_FREE_FRACTION of the disk
MIN_FREE_FRACTION = 0.05
SIGN_AGAIN = "enrol the kiosk again: technician's guide, section 3, steps 4-6"


def under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def bundle_dir(root: Path) -> Path:
    return under(root, f"{CONFIG_DIR}/bundle")


def centre_dir(root: Path) -> Path:
    return under(root, f"{CONFIG_DIR}/centre")


# ---- config ----------------------------------------------------------------------------

def _readable(path: Path, *, as_json: bool = False) -> str:
    """'' if `path` is a readable file (and JSON, if asked), else why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if as_json:
        try:
            json.loads(data)
        except ValueError:
            return "not valid JSON"
    return ""


def check_config(role: Role, root: Path) -> list[Finding]:
    names: tuple[str, ...]
    if role is Role.KIOSK:
        folder, names = bundle_dir(root), BUNDLE_FILES
        fix_missing = f"copy the signed files into {folder} (technician's guide, section 3, step 6)"
        extra = {under(root, f"{CONFIG_DIR}/peripherals.json"): "sudo anjungan install kiosk (seeds it), "
                 "then name your devices in it (section 3, step 7)"}
    else:
        folder, names = centre_dir(root), CENTRE_FILES
        fix_missing = f"sudo anjungan provision centre-folder /etc/anjungan/fleet --out {folder}"
        extra = {under(root, f"{CONFIG_DIR}/fleet-config.json"): "sudo anjungan install centre "
                 "(seeds it), then edit it (section 2, step 6)"}
    out = []
    bad = [f"{n} {why}" for n in names
           if (why := _readable(folder / n, as_json=n.endswith(".json")))]
    if bad:
        denied = any(b.endswith("Permission denied") for b in bad)
        out.append(problem("config", f"{folder}: {', '.join(bad)}",
                           "run the doctor as root: sudo anjungan doctor" if denied else fix_missing))
    else:
        out.append(ok("config", f"{folder} holds {', '.join(names)}"))
    for path, fix in extra.items():
        why = _readable(path, as_json=True)
        out.append(problem("config", f"{path} {why}", fix) if why else ok("config", f"{path} readable"))
    if role is Role.CENTRE and holds_ca_key(folder):
        out.append(problem("config", f"{folder} holds the fleet CA's key (broker run refuses it)",
                           f"sudo rm {folder / 'ca.key'}  # the fleet folder keeps it"))
    return out


# ---- owners and modes ------------------------------------------------------------------

def _names(root: Path, table: str) -> dict[int, str]:
    """id -> name from root's own /etc/passwd or /etc/group."""
    try:
        lines = under(root, f"/etc/{table}").read_text().splitlines()
    except OSError:
        return {}
    out: dict[int, str] = {}
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            out.setdefault(int(fields[2]), fields[0])
    return out


def _expected_dirs(role: Role) -> list[Dir]:
    """The folders the installer makes (`deploy.plan`: the one definition), but the release's."""
    entries = host_plan(role, DEFAULT_PREFIX, lambda _package, _path: b"")
    return [e for e in entries if isinstance(e, Dir) and not e.path.startswith(DEFAULT_PREFIX)]


def check_owners(role: Role, root: Path) -> list[Finding]:
    users, groups = _names(root, "passwd"), _names(root, "group")
    out = []
    for d in _expected_dirs(role):
        path = under(root, d.path)
        try:
            st = path.stat()
        except OSError as exc:
            out.append(problem("owner", f"{path}: {exc.strerror}", f"sudo anjungan install {role.value}"))
            continue
        owner = users.get(st.st_uid, str(st.st_uid))
        group = groups.get(st.st_gid, str(st.st_gid))
        mode = stat.S_IMODE(st.st_mode)
        if (owner, group, mode) != (d.owner, d.group, d.mode):
            out.append(problem("owner", f"{path} is {owner}:{group} {mode:04o}, expected "
                                        f"{d.owner}:{d.group} {d.mode:04o}",
                               f"sudo chown {d.owner}:{d.group} {path} && sudo chmod {d.mode:04o} {path}"))
        else:
            out.append(ok("owner", f"{path} {owner}:{group} {mode:04o}"))
    # what the service reads: the bundle or centre folder's files, its own; keys private
    folder = bundle_dir(root) if role is Role.KIOSK else centre_dir(root)
    for path in sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []:
        st = path.stat()
        owner = users.get(st.st_uid, str(st.st_uid))
        if owner != USER:
            out.append(problem("owner", f"{path} is owned by {owner}; the service ({USER}) cannot rely on reading it",
                               f"sudo chown {USER}:{USER} {path}"))
        if path.suffix == ".key" and stat.S_IMODE(st.st_mode) & 0o077:
            out.append(problem("owner", f"{path} is a private key readable by others "
                                        f"({stat.S_IMODE(st.st_mode):04o})", f"sudo chmod 0600 {path}"))
    return out


# ---- clock and trust -------------------------------------------------------------------

def _cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None  # reported by check_config


def _when(t: float) -> str:
    return trust.iso(t)[:16].replace("T", " ") + " UTC"


def check_clock(role: Role, root: Path, now: float) -> list[Finding]:
    """The clock against the host's own certificate: a clock before its validity (a Pi
    after a power cut, before chrony syncs) makes TLS fail and packets be refused."""
    path = bundle_dir(root) / "device.pem" if role is Role.KIOSK else centre_dir(root) / "centre.pem"
    cert = _cert(path)
    if cert is None:
        return [skipped("clock", f"no certificate to compare the clock with ({path})")]
    start = cert.not_valid_before_utc.timestamp()
    if now < start:
        return [problem("clock", f"the clock says {_when(now)}, before {path.name} was issued "
                                 f"({_when(start)}): the clock is wrong",
                        "sudo systemctl restart chrony && chronyc tracking  # section 4 of the guide")]
    return [ok("clock", f"{_when(now)}, after {path.name} was issued ({_when(start)})")]


def _trust_finding(what: str, path: Path, end: float, state: trust.TrustState, now: float,
                   fix: str) -> Finding:
    days = (end - now) / DAY
    if state in (trust.TrustState.EXPIRED, trust.TrustState.EXPIRING, trust.TrustState.REVOKED):
        when = f"expired {_when(end)}" if days < 0 else f"expires {_when(end)} ({days:.1f} days left)"
        return problem("trust", f"{what} {path}: {state.value}, {when}", fix)
    return ok("trust", f"{what} {path}: {state.value}, {days:.1f} days left")


def check_trust(role: Role, root: Path, now: float) -> list[Finding]:
    if role is Role.KIOSK:
        folder = bundle_dir(root)
        out = []
        for name, what in (("device.pem", "kiosk certificate"), ("ca.pem", "fleet CA"),
                           ("issuing.pem", "issuing CA")):
            cert = _cert(folder / name)
            if cert is None:
                continue
            end = cert.not_valid_after_utc.timestamp()
            due = trust.renew_at(cert) if name == "device.pem" else end - trust.RENEW_DAYS * DAY
            fix = SIGN_AGAIN if name == "device.pem" else \
                "the fleet's CA is renewed on the centre; then copy its ca.pem/issuing.pem into the bundle"
            out.append(_trust_finding(what, folder / name, end, trust.judge(end, now, due_at=due), now, fix))
        return out
    folder = centre_dir(root)
    fixes = {"crl.pem": "sudo anjungan provision refresh-crl /etc/anjungan/fleet --centre-dir "
                        f"{folder} (or: systemctl status anjungan-signer)"}
    out = []
    for name, end in trust.expiries(folder):  # CAs, centre identities, the CRL
        due = end - trust.RENEW_DAYS * DAY if name != "crl.pem" else end
        fix = fixes.get(name, "renew it from the fleet folder (provisioning/README.md), then "
                              f"sudo anjungan provision centre-folder /etc/anjungan/fleet --out {folder}")
        out.append(_trust_finding("certificate" if name != "crl.pem" else "CRL", folder / name, end,
                                  trust.judge(end, now, due_at=due), now, fix))
    return out


# ---- peripherals ----------------------------------------------------------------------

def check_peripherals(root: Path) -> list[Finding]:
    """Every device peripherals.json names by path is there (plugged in, named by the udev
    rules). Not the self-test itself: that would take the serial ports from the running kiosk."""
    path = under(root, f"{CONFIG_DIR}/peripherals.json")
    try:
        config = PeripheralConfig.from_mapping(json.loads(path.read_bytes()))
    except (OSError, ValueError, AnjunganError) as exc:
        why = exc if isinstance(exc, AnjunganError) else type(exc).__name__
        return [problem("device", f"{path} unusable: {why}",
                        f"fix {path} (drivers/peripherals.example.json shows every setting)")]
    out = []
    for name in DEVICE_NAMES:
        url = getattr(config, name)
        if not url:
            out.append(skipped("device", f"{name}: not fitted (no path in {path.name})"))
        elif not url.startswith("/"):
            out.append(skipped("device", f"{name}: {url} is not a device path"))
        elif not under(root, url).exists():
            out.append(problem("device", f"{name}: {url} is missing (unplugged, or its udev rule does not match)",
                               f"plug the {name} in; a new part or adapter: sudo anjungan peripherals pair "
                               "(technician's guide, section 10); then sudo -u anjungan anjungan "
                               "peripherals selftest (with the kiosk stopped)"))
        else:
            out.append(ok("device", f"{name}: {url} present"))
    return out


# ---- disk --------------------------------------------------------------------------------

def check_disk(root: Path) -> Finding:
    path = under(root, DATA_DIR)
    if not path.exists():
        path = root
    du = shutil.disk_usage(path)
    need = max(MIN_FREE, int(du.total * MIN_FREE_FRACTION))
    mib = du.free / 2**20
    if du.free < need:
        return problem("disk", f"{path}: {mib:.0f} MiB free of {du.total / 2**20:.0f} MiB "
                               f"(needs {need / 2**20:.0f} MiB)",
                       f"sudo journalctl --vacuum-size=100M; sudo du -xh {path} | sort -h | tail")
    return ok("disk", f"{path}: {mib:.0f} MiB free of {du.total / 2**20:.0f} MiB")


# ---- systemd -----------------------------------------------------------------------------

def systemd_running(root: Path) -> bool:
    return root == Path("/") and shutil.which("systemctl") is not None and Path("/run/systemd/system").is_dir()


def unit_active(unit: str) -> bool:
    done = subprocess.run(["systemctl", "is-active", "--quiet", unit], capture_output=True, timeout=10)
    return done.returncode == 0


def check_units(role: Role, root: Path) -> list[Finding]:
    units = [UNITS[role]] + (["mosquitto.service"] if role is Role.CENTRE else [])
    if not systemd_running(root):
        return [skipped("unit", f"systemd is not running here: {', '.join(units)} not checked")]
    out = []
    for unit in units:
        enabled = subprocess.run(["systemctl", "is-enabled", unit], capture_output=True, text=True,
                                 timeout=10).stdout.strip() or "unknown"
        active = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        if active != "active" or enabled != "enabled":
            out.append(problem("unit", f"{unit} is {active}, {enabled}",
                               f"sudo systemctl enable --now {unit}; journalctl -u {unit} -n 50"))
        else:
            out.append(ok("unit", f"{unit} is active, enabled"))
    return out
