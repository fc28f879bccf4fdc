"""`anjungan install kiosk|centre|rollback` (registered by entrypoints.cli), and the same
commands as `python3 -m deploy install ...` on a host where nothing is installed yet."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from anjungan.errors import AnjunganError
from deploy.errors import InstallError
from deploy.install import Target, install, rollback
from deploy.plan import DEFAULT_PREFIX, Role
from deploy.releases import BuildOptions


def register(sub: argparse._SubParsersAction) -> None:
    grp = sub.add_parser("install", help="install, upgrade or roll back a kiosk or a centre on this host",
                         description="Install a kiosk or a centre: system user, folders, a release "
                                     "virtualenv under the prefix, systemd units, udev rules. "
                                     "Idempotent: a second run changes nothing.")
    cmds = grp.add_subparsers(dest="install_command", metavar="ROLE")
    grp.set_defaults(func=lambda _a: (grp.print_help(), 2)[1])
    for role, text in ((Role.KIOSK, "a kiosk (Raspberry Pi)"), (Role.CENTRE, "the central service")):
        p = cmds.add_parser(role.value, help=f"install or upgrade {text}")
        _where(p)
        p.add_argument("--source", help="an anjungan wheel, or its source folder (default: the code "
                                        "running this command, if it is a wheel or a source folder)")
        p.add_argument("--release", help="release name (default: the source's version)")
        p.add_argument("--upgrade", action="store_true",
                       help="replace the current release, keeping it for `install rollback`")
        p.add_argument("--python", default=None, help="interpreter of the virtualenv (default: /usr/bin/python3)")
        p.add_argument("--find-links", help="install offline from this folder of wheels")
        p.add_argument("--no-deps", action="store_true", help="install no dependencies (tests)")
        p.add_argument("--system-site-packages", action="store_true",
                       help="let the virtualenv see the interpreter's packages (e.g. Debian's python3-*)")
        p.set_defaults(func=_install, role=role)
    rb = cmds.add_parser("rollback", help="go back to the release before the last upgrade")
    _where(rb)
    rb.set_defaults(func=_rollback)


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"where releases go (default {DEFAULT_PREFIX})")
    p.add_argument("--root", default="/", help="install into this folder as if it were / (tests, images)")


def _target(args: argparse.Namespace) -> Target:
    if not args.prefix.startswith("/"):
        raise InstallError(f"--prefix must be absolute, not {args.prefix!r}")
    if os.geteuid() != 0:
        raise InstallError("run as root (sudo): the installer makes a system user and chowns folders")
    os.umask(0o022)  # folders made on the way (e.g. journald.conf.d) are readable by services
    return Target(root=Path(args.root).resolve(), prefix=args.prefix.rstrip("/") or "/")


def _default_source() -> Path:
    """The source folder or wheel this very code comes from."""
    here = Path(__file__).resolve().parents[1]
    if (here / "pyproject.toml").is_file() or (here.suffix == ".whl" and here.is_file()):
        return here
    raise InstallError("give --source: an anjungan wheel (pip wheel --no-deps .) or a source folder")


def _install(args: argparse.Namespace) -> int:
    target = _target(args)
    python = args.python or ("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    source = Path(args.source).resolve() if args.source else _default_source()
    build = BuildOptions(source=source, python=python, system_site_packages=args.system_site_packages,
                         no_deps=args.no_deps, find_links=Path(args.find_links) if args.find_links else None)
    return _report(install(args.role, target, build, release=args.release, upgrade=args.upgrade))


def _rollback(args: argparse.Namespace) -> int:
    return _report(rollback(_target(args)))


def _report(changes: list[str]) -> int:
    for line in changes:
        print(line)
    if not changes:
        print("nothing to change")
    elif any(c.startswith("current release") and "previous" in c for c in changes):
        print("now: systemctl restart anjungan-kiosk (or anjungan-broker) to run it")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python3 -m deploy install ...`, with the same one-line errors as `anjungan`."""
    parser = argparse.ArgumentParser(prog="python3 -m deploy")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (AnjunganError, OSError) as exc:
        print(f"install: error: {exc}", file=sys.stderr)
        return 1
