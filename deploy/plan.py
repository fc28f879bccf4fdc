"""What an installed host looks like, as data: folders, files and links with owners and modes.

`host_plan` is pure: the role, the prefix and the shipped files' bytes in, entries out. The
entries are applied by `deploy.host`; each says whether the installer owns its contents
(`replace`: units, rules, the journald drop-in, rewritten by every install and upgrade) or
only seeds them (site config in /etc/anjungan, written once and never overwritten).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass

from anjungan.stores import STORES_FILE, Store, render

USER = "anjungan"
DEFAULT_PREFIX = "/opt/anjungan"
CONFIG_DIR = "/etc/anjungan"
DATA_DIR = "/var/lib/anjungan"
UNIT_DIR = "/etc/systemd/system"
# The kiosk's devices: serial peripherals, display and touch (the unit also adds them).
KIOSK_GROUPS = ("dialout", "video", "input", "render")


class Role(enum.Enum):
    KIOSK = "kiosk"
    CENTRE = "centre"


@dataclass(frozen=True, kw_only=True)
class Dir:
    path: str
    owner: str
    group: str
    mode: int


@dataclass(frozen=True, kw_only=True)
class File:
    path: str
    data: bytes
    owner: str = "root"
    group: str = "root"
    mode: int = 0o644
    replace: bool = True  # False: site config, seeded once and then the technician's


@dataclass(frozen=True, kw_only=True)
class Link:
    path: str
    target: str  # as seen on the host (absolute, not under --root)


# (package, path inside it) -> bytes: the running code's files, or a release's.
Shipped = Callable[[str, str], bytes]

UNITS = {Role.KIOSK: "anjungan-kiosk.service", Role.CENTRE: "anjungan-broker.service"}
# The fleet's keepers, beside the centre (they read the fleet folder in /etc/anjungan/fleet):
# installed with it, started by the technician once the fleet exists (the guide, step 2.3).
KEEPER_UNITS = ("anjungan-signer.service", "anjungan-crl-refresh.service", "anjungan-crl-refresh.timer")
UDEV_RULES = "99-anjungan-peripherals.rules"

JOURNALD = b"""\
# Installed by `anjungan install`; an upgrade rewrites it. Override in a later drop-in
# (e.g. zz-local.conf). Bounds the journal on a small SD card or a busy centre.
[Journal]
Storage=persistent
SystemMaxUse=200M
SystemKeepFree=1G
SystemMaxFileSize=20M
MaxRetentionSec=30day
"""

# logind gives the kiosk's session on tty1 the seat, so cage can open display and touch.
KIOSK_PAM = b"""\
# Installed by `anjungan install kiosk`: the session anjungan-kiosk.service opens on tty1.
account required pam_unix.so
session required pam_unix.so
session required pam_systemd.so
"""

# The stores `broker run --fleet /etc/anjungan/centre` and every operator command given that
# folder use (anjungan/stores.py): the queue in PostgreSQL, the fleet store on the data disk.
CENTRE_STORES = {Store.QUEUE: "postgresql:///anjungan",
                 Store.FLEET: f"sqlite://{DATA_DIR}/fleet-health.db"}

KIOSK_ENV = b"""\
# Site settings of anjungan-kiosk.service (read at each start; `systemctl restart anjungan-kiosk`).
# CAGE_ARGS: -d no window decorations; add -r per 90 degrees of clockwise rotation.
CAGE_ARGS=-d
# KIOSK_ARGS: more `anjungan kiosk run` options, e.g. --size 720x1280 --lang en --speech
KIOSK_ARGS=
# SDL_VIDEODRIVER=x11 runs the app through Xwayland if the Wayland driver will not start.
SDL_VIDEODRIVER=wayland
"""


def render_unit(text: bytes, prefix: str) -> bytes:
    """The shipped units name the default prefix; an install elsewhere rewrites it."""
    return text.replace(f"{DEFAULT_PREFIX}/".encode(), f"{prefix.rstrip('/')}/".encode())


def host_plan(role: Role, prefix: str, shipped: Shipped) -> list[Dir | File | Link]:
    unit = UNITS[role]
    entries: list[Dir | File | Link] = [
        Dir(path=prefix, owner="root", group="root", mode=0o755),
        Dir(path=f"{prefix}/releases", owner="root", group="root", mode=0o755),
        Dir(path=CONFIG_DIR, owner="root", group=USER, mode=0o750),
        Dir(path=DATA_DIR, owner=USER, group=USER, mode=0o700),
        File(path=f"{UNIT_DIR}/{unit}", data=render_unit(shipped("provisioning", f"rpi/{unit}"), prefix)),
        File(path="/etc/systemd/journald.conf.d/anjungan.conf", data=JOURNALD),
        # the technician's `anjungan`, always the current release
        Link(path="/usr/local/bin/anjungan", target=f"{prefix}/current/bin/anjungan"),
    ]
    if role is Role.KIOSK:
        entries += [
            # `provision request` runs as anjungan and writes the device key here; the
            # running kiosk sees it read-only (ProtectSystem=strict).
            Dir(path=f"{CONFIG_DIR}/bundle", owner=USER, group=USER, mode=0o700),
            File(path=f"/etc/udev/rules.d/{UDEV_RULES}", data=shipped("drivers", f"udev/{UDEV_RULES}")),
            File(path="/etc/pam.d/anjungan-kiosk", data=KIOSK_PAM),
            File(path=f"{CONFIG_DIR}/peripherals.json", data=shipped("drivers", "peripherals.example.json"),
                 group=USER, mode=0o640, replace=False),
            File(path=f"{CONFIG_DIR}/kiosk.env", data=KIOSK_ENV, group=USER, mode=0o640, replace=False),
        ]
    else:
        entries += [
            # the technician's fleet folder (the CA key): root's alone; the service reads
            # its own copy without the CA key (`provision centre-folder`)
            Dir(path=f"{CONFIG_DIR}/fleet", owner="root", group="root", mode=0o700),
            Dir(path=f"{CONFIG_DIR}/centre", owner=USER, group=USER, mode=0o700),
            File(path=f"{CONFIG_DIR}/centre/{STORES_FILE}", data=render(CENTRE_STORES),
                 owner=USER, group=USER, mode=0o640, replace=False),
            File(path=f"{CONFIG_DIR}/fleet-config.json", data=json.dumps({}).encode() + b"\n",
                 group=USER, mode=0o640, replace=False),
            *(File(path=f"{UNIT_DIR}/{name}", data=render_unit(shipped("provisioning", f"rpi/{name}"), prefix))
              for name in KEEPER_UNITS),
        ]
    return entries
