"""`anjungan peripherals ...` and `anjungan bench serial` (registered by entrypoints.cli)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from drivers.errors import PeripheralConfigError, PeripheralError

DEFAULT_CONFIG = "/etc/anjungan/peripherals.json"


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 0.1:
        raise argparse.ArgumentTypeError("noise is a probability per byte between 0 and 0.1")
    return value


def _baud(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a baud rate: {text!r}") from None
    if not 300 <= value <= 4_000_000:
        raise argparse.ArgumentTypeError("baud must be between 300 and 4000000")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("peripherals", help="kiosk peripherals: self-test, simulators")
    gsub = group.add_subparsers(dest="peripherals_cmd", metavar="COMMAND")
    group.set_defaults(func=lambda _a: (group.print_help(), 2)[1])

    st = gsub.add_parser("selftest", help="probe every device and capture one sample of each")
    st.add_argument("--sim", action="store_true", help="run against the byte-level simulators")
    st.add_argument("--noise", type=_rate, default=0.0, metavar="RATE",
                    help="with --sim: probability per byte of a flipped bit on every line")
    st.add_argument("--json", action="store_true", help="print the report as JSON")
    st.add_argument("--config", default=DEFAULT_CONFIG,
                    help=f"peripheral config JSON (pyserial URLs); default {DEFAULT_CONFIG}")
    st.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    st.set_defaults(func=_selftest)

    pr = gsub.add_parser("pair", help="find which device answers on which serial adapter; write "
                         "peripherals.json and the udev rules naming the adapters",
                         description="Probes each USB serial adapter (or each --port) with the "
                         "devices' own handshakes; nothing is captured or printed. Stop the kiosk "
                         "first: it holds the ports.")
    pr.add_argument("--port", action="append", default=None, metavar="PATH",
                    help="probe this port (repeatable); default: every USB serial adapter present")
    pr.add_argument("--timeout", type=float, default=1.0, metavar="S",
                    help="seconds each handshake waits for an answer (0.1-30)")
    pr.add_argument("--config-out", metavar="FILE",
                    help=f"write peripherals.json here (e.g. {DEFAULT_CONFIG})")
    pr.add_argument("--udev-out", metavar="FILE",
                    help="write the udev rule lines here (e.g. /etc/udev/rules.d/98-anjungan-paired.rules)")
    pr.add_argument("--json", action="store_true", help="print what was found as JSON")
    pr.set_defaults(func=_pair)

    register_firmware(sub)

    sim = gsub.add_parser("simulate", help="serve one device's simulator on a new pty")
    sim.add_argument("device", metavar="DEVICE",
                     help="controller, fingerprint, iris, face, signature or printer")
    sim.add_argument("--baud", type=_baud, default=None, help="line rate to pace at")
    sim.add_argument("--noise", type=_rate, default=0.0, metavar="RATE",
                     help="probability per byte of a flipped bit")
    sim.add_argument("--seed", type=int, default=0, help="image sequence seed")
    sim.add_argument("--fingerprint-link", choices=("bridge", "r30x"), default="bridge",
                     help="fingerprint only: its bridge speaking the wire codec (default), or "
                          "an R30x module wired straight to the port")
    sim.set_defaults(func=_simulate)


def register_firmware(sub: argparse._SubParsersAction) -> None:
    fw = sub.add_parser("firmware", help="the peripheral controller's firmware (RP2040, MicroPython)")
    fsub = fw.add_subparsers(dest="firmware_cmd", metavar="COMMAND")
    fw.set_defaults(func=lambda _a: (fw.print_help(), 2)[1])
    d = fsub.add_parser("deploy", help="compile this release's firmware and copy it to the board",
                        description="Precompiles the firmware with mpy-cross (armv6m), copies it with "
                        "mpremote and resets the board. Stop the kiosk first.")
    d.add_argument("port", nargs="?", default="auto",
                   help="the board's USB port: /dev/anjungan/controller-usb (udev) or /dev/ttyACM0 "
                   "(default: mpremote's auto)")
    d.add_argument("--dry-run", action="store_true", help="compile only and list the files")
    d.set_defaults(func=_firmware_deploy)


def _firmware_deploy(args: argparse.Namespace) -> int:
    from drivers.firmware_deploy import deploy, version

    if args.port != "auto" and (not args.port.startswith("/dev/") or not args.port.isprintable()):
        raise PeripheralConfigError(f"PORT must be a device under /dev, not {args.port[:60]!r}")
    names = deploy(args.port, dry_run=args.dry_run)
    if args.dry_run:
        print("\n".join(names))
    else:
        print(f"deployed firmware {version()} to {args.port}")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    b = bench_sub.add_parser("serial", help="bulk transfer efficiency over a paced pty link")
    b.add_argument("--baud", type=_baud, action="append", default=None,
                   help="baud rate (repeatable); default 115200 and 921600")
    b.add_argument("--size", type=int, default=None, help="object size in bytes (max 1 MiB)")
    b.add_argument("--noise", type=_rate, default=0.0, metavar="RATE",
                   help="probability per byte of a flipped bit on the line")
    b.add_argument("--capture-set", action="store_true",
                   help="also time a 10-finger + 2-iris + face capture at each baud")
    b.add_argument("--no-devices", action="store_true",
                   help="skip the per-device run (one capture from each device's simulator, "
                        "at its own baud, with --noise)")
    b.add_argument("--json", action="store_true", help="print results as JSON")
    b.set_defaults(func=_bench)


def _load_config(path: str) -> Any:
    from drivers.peripherals import PeripheralConfig

    file = Path(path)
    if not file.exists():
        raise PeripheralConfigError(f"no peripheral config at {path} (use --sim or --config FILE)")
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise PeripheralConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PeripheralConfigError(f"{path} must hold a JSON object")
    return PeripheralConfig.from_mapping(data)


def _selftest(args: argparse.Namespace) -> int:
    from drivers.selftest import run_selftest, selftest_config, sim_truth

    if args.sim:
        from drivers.simulators.line import Impairments
        from drivers.simulators.rig import SimulatedPeripherals, SimulatedRig

        try:
            rig = SimulatedRig(
                seed=args.seed, impairments=Impairments(noise=args.noise, seed=args.seed)
            )
        except PeripheralError:
            # no micropython: everything but the controller
            from drivers.simulators.rig import SIM_DEVICES

            rig = SimulatedRig(seed=args.seed, impairments=Impairments(noise=args.noise),
                               devices=tuple(d for d in SIM_DEVICES if d != "controller"))
        p: Any = SimulatedPeripherals(rig)
        runtime = rig.runtimes.get("controller", "none (micropython not installed)")
        truth = sim_truth(rig)
    else:
        p, runtime, truth = selftest_config(_load_config(args.config)), "hardware", None
    try:
        report = run_selftest(p, truth=truth, runtime=runtime)
    finally:
        p.close()
    report["noise"] = args.noise
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for d in report["devices"]:
            mark = "ok   " if d["ok"] else "FAULT"
            detail = d.get("error") or json.dumps(d.get("sample", {}), default=str)
            print(f"{mark} {d['name']:<12} {d['version']:<42} {detail}")
        print(f"corrupted objects accepted: {report['corrupted_objects_accepted']}")
        print(f"firmware runtime: {report['firmware_runtime']}")
    return 0 if report["ok"] and report["corrupted_objects_accepted"] == 0 else 1


def _pair(args: argparse.Namespace) -> int:
    from drivers.pairing import Port, config, pair, render_config, udev_rules, usb_ports

    if not 0.1 <= args.timeout <= 30:
        raise PeripheralConfigError("--timeout must be between 0.1 and 30 seconds")
    ports = [Port(path=p) for p in args.port] if args.port else usb_ports()
    if not ports:
        raise PeripheralConfigError("no USB serial adapter found: plug the peripherals in "
                                    "(lsusb lists them) or give --port PATH")
    found = pair(ports, timeout_s=args.timeout)
    cfg_text, rules = render_config(config(found)), udev_rules(found)
    if args.json:
        print(json.dumps({"ports": [{"path": f.port.path, "device": f.device, "baud": f.baud,
                                     "identity": f.identity, "error": f.error, "serial": f.port.serial}
                                    for f in found], "config": json.loads(cfg_text)}, indent=2))
    else:
        for f in found:
            what = f"{f.device:<12} {f.baud:>7} bd  {f.identity}" if f.device else f"unknown      ({f.error})"
            print(f"{f.port.path:<28} {what}")
    if args.config_out:
        _write(args.config_out, cfg_text)
    if args.udev_out:
        _write(args.udev_out, rules)
    if not args.json and not args.config_out:
        print(cfg_text, end="")
    if not args.json and not args.udev_out and rules.count("\n") > 2:
        print(rules, end="")
    return 0 if any(f.device for f in found) else 1


def _write(path: str, text: str) -> None:
    """Atomically, so a kiosk starting meanwhile reads the old file or the new, never half."""
    import os

    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        old = target.stat() if target.exists() else None
        tmp.write_text(text)
        os.chmod(tmp, old.st_mode & 0o777 if old else 0o644)  # the installer's root:anjungan 0640 kept
        if old is not None and os.geteuid() == 0:
            os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, target)
    except OSError as exc:
        raise PeripheralConfigError(f"cannot write {path}: {exc.strerror}") from None
    print(f"wrote {path}", file=sys.stderr)


def _simulate(args: argparse.Namespace) -> int:
    from drivers.peripherals import FINGERPRINT_BAUD, FingerprintLink
    from drivers.simulators.line import Impairments, Line
    from drivers.simulators.rig import DEFAULT_BAUD, SIM_DEVICES, make_device

    if args.device not in SIM_DEVICES:
        raise PeripheralConfigError(f"unknown device {args.device[:40]!r}; one of {', '.join(SIM_DEVICES)}")
    link = FingerprintLink(args.fingerprint_link)
    own = FINGERPRINT_BAUD[link] if args.device == "fingerprint" else DEFAULT_BAUD[args.device]
    baud = args.baud or own
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before anything starts, so stop is clean
        signal.signal(sig, lambda *_: done.set())
    tmp = tempfile.TemporaryDirectory(prefix="anjungan-sim-")
    sim = line = None
    try:
        sim, runtime = make_device(args.device, seed=args.seed, baud=baud, fingerprint_link=link)
        line = Line(sim.fd, Impairments(baud=baud, noise=args.noise, seed=args.seed),
                    str(Path(tmp.name) / args.device)).start()
        print(str(Path(line.path).resolve()), flush=True)
        print(f"# {args.device} simulator ({runtime}) at {baud} baud, noise {args.noise}; "
              "Ctrl-C to stop", file=sys.stderr, flush=True)
        while not done.wait(0.2):
            pass
    finally:
        if line is not None:
            line.stop()
        if sim is not None:
            sim.stop()
        tmp.cleanup()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from drivers.bench import bench_baud, bench_devices, capture_set

    bauds = args.baud or [115200, 921600]
    if args.size is not None and not 1 <= args.size <= 1 << 20:
        raise PeripheralConfigError("--size must be between 1 and 1048576 bytes")
    results = []
    for baud in bauds:
        r = bench_baud(baud, size=args.size, noise=args.noise)
        if args.capture_set:
            r["capture_set"] = capture_set(baud)
        results.append(r)
    devices = [] if args.no_devices else bench_devices(noise=args.noise)
    if args.json:
        out: dict[str, Any] = {"serial": results}
        if not args.no_devices:
            out["devices"] = devices
        print(json.dumps(out, indent=2))
    else:
        for r in results:
            line = (f"baud {r['baud']:>7}  efficiency {r['efficiency']:.3f}  overhead "
                    f"{r['overhead_bytes_per_payload_byte']:.4f} B/B  {r['bytes']} B in "
                    f"{r['seconds']} s  retransmits {r['retransmits']}")
            if "capture_set" in r:
                line += f"  capture set {r['capture_set']['seconds']} s"
            print(line)
        for d in devices:
            name = d["device"] + {"bridge": " (bridge)", "r30x": " (direct R30x)"}.get(d.get("link", ""), "")
            print(f"{name:>26} {d['baud']:>7} bd  efficiency {d['efficiency']:.3f}  overhead "
                  f"{d['overhead_bytes_per_payload_byte']:.4f} B/B  {d['bytes']} B in "
                  f"{d['seconds']} s  retransmits {d['retransmits']}")
            if "sensor_s" in d:
                print(f"{'':>26} sensor read-out on its board {d['sensor_s']} s (not on the cable); "
                      f"whole capture efficiency {d['capture_efficiency']:.3f}")
            if "second_finger" in d:
                f = d["second_finger"]
                print(f"{'':>26} second finger: {f['packet_size']}-byte packets, efficiency "
                      f"{f['efficiency']:.3f}, {f['upload_passes']} passes in {f['seconds']} s")
    return 0
