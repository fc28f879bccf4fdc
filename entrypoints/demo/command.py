"""`anjungan demo`: the README's main command, the whole system in one command.

By default it runs every real part as its own process (see entrypoints/demo/runner.py):
a private TLS Mosquitto, the central service with its dashboard, the SIAK simulator with
an outage window, and N kiosks serving scripted residents of every kind; then it counts
what SIAK accepted. `--trust-only` walks the chain of trust instead: create a fleet, enroll
a kiosk, build, verify and open a packet, and show tampering and revocation refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from anjungan.nik import mask, parse_nik
from anjungan.packet import (
    PacketError,
    Service,
    build_packet,
    decode_packet,
    derive_priority,
    encode_packet,
    open_body,
    verify_packet,
)
from anjungan.packet.sample import SAMPLE_NIK, synthetic_body
from entrypoints.demo.runner import FAULTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on embedded defaults",
                       description="Start a private broker, the central service and dashboard, "
                       "the SIAK simulator (down for --siak-outage seconds) and N kiosks serving "
                       "scripted residents; report what reached SIAK, lost and duplicated.")
    p.add_argument("--kiosks", type=int, default=3, help="kiosks (default 3)")
    p.add_argument("--residents", type=int, default=30, help="residents in all (default 30)")
    p.add_argument("--siak-outage", type=float, default=20.0, metavar="SECONDS",
                   help="SIAK is down this long from the start (default 20)")
    p.add_argument("--siak-capacity", type=float, default=1.5, metavar="RPS",
                   help="SIAK's capacity in requests/s (default 1.5: a congested SIAK, so the "
                   "backlog's priority order shows)")
    p.add_argument("--peripherals", default="auto",
                   help="auto (default): kiosk 1 talks to the real controller firmware under "
                   "micropython on a pty, the rest use in-process twins; or one mode for all: "
                   "sim, sim-controller, sim-pty (every device byte-level at line rate: minutes "
                   "per resident), each optionally with :noise=RATE")
    p.add_argument("--timeout", type=float, default=110.0, help="give up after this many seconds")
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")
    p.add_argument("--keep-running", action="store_true",
                   help="leave everything up; print the dashboard URL and a staff login")
    p.add_argument("--workdir", help="work in this folder and keep it (default: a temp dir)")
    p.add_argument("--fault", action="append", choices=FAULTS,
                   help="inject a fault (repeatable): SIGKILL a kiosk mid-session, SIGKILL the "
                   "central service during the outage, revoke a kiosk mid-run")
    p.add_argument("--trust-only", action="store_true",
                   help="only walk the chain of trust (fleet, enroll, packet, verify, revoke)")
    p.add_argument("--post-quantum", action="store_true",
                   help="with --trust-only: use the ML-KEM-768+X25519 suite")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.trust_only:
        from entrypoints.demo.terminal import run_system

        return run_system(args)
    if args.workdir:
        args.keep = args.workdir
    else:
        args.keep = None
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        return _demo(Path(args.keep), args)
    with tempfile.TemporaryDirectory(prefix="anjungan-demo-") as tmp:
        return _demo(Path(tmp), args)


def _demo(work: Path, args: argparse.Namespace) -> int:
    from provisioning.bundle import complete, load_bundle, request
    from provisioning.fleet import init_fleet, load_gateway_key, load_trust, revoke

    say = (lambda *_a: None) if args.json else print
    fleet = init_fleet(work / "fleet", post_quantum=args.post_quantum)
    say(f"1. fleet created: CA, broker/centre certificates, SIAK gateway key ({fleet.suite})")
    request(work / "kiosk", "dps-selatan-01")
    complete(fleet, work / "kiosk", office="Denpasar Selatan")
    bundle = load_bundle(work / "kiosk")
    say(f"2. kiosk {bundle.kiosk_id} enrolled: device key made on the kiosk, CSR signed")
    resident = parse_nik(SAMPLE_NIK, today=dt.date.today())
    service = Service.NEW_RECORDING
    priority = derive_priority(service=service, age=resident.age)
    say(f"3. resident NIK {mask(resident.nik)}: {resident.district}, {resident.regency}, "
        f"age {resident.age} -> priority class {priority.label}")
    body = synthetic_body(nik=resident.nik)
    start = time.perf_counter()
    wire = encode_packet(build_packet(
        body, identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
        suite_name=bundle.suite, sequence=1, service=service, priority=priority, now=time.time()))
    seal_ms = (time.perf_counter() - start) * 1000
    say(f"4. packet sealed and signed: {len(wire):,} bytes, {len(body.biometrics)} biometric "
        f"records, {seal_ms:.1f} ms")
    trust = load_trust(fleet.root)
    start = time.perf_counter()
    header = verify_packet(decode_packet(wire), trust, now=time.time())
    verify_ms = (time.perf_counter() - start) * 1000
    say(f"5. central service verified it: kiosk {header.kiosk_id}, sequence {header.sequence}, "
        f"{verify_ms:.1f} ms (the centre sees the header only)")
    opened = open_body(decode_packet(wire), load_gateway_key(fleet.root))
    say(f"6. SIAK gateway opened the body: {len(opened.biometrics)} records intact: "
        f"{opened == body}")
    tampered = bytearray(wire)
    tampered[len(wire) // 2] ^= 0x01
    refusals = {"tampered": _refusal(bytes(tampered), trust)}
    revoke(fleet, bundle.kiosk_id)
    refusals["revoked"] = _refusal(wire, load_trust(fleet.root))
    swapped = dataclasses.replace(decode_packet(wire), signature=bytes(64))
    refusals["forged_signature"] = _refusal(encode_packet(swapped), trust)
    for what, reason in refusals.items():
        say(f"7. {what.replace('_', ' ')} packet refused: {reason}")
    summary = {
        "suite": fleet.suite, "kiosk_id": bundle.kiosk_id, "packet_bytes": len(wire),
        "sign_seal_ms": round(seal_ms, 2), "verify_ms": round(verify_ms, 2),
        "opened_intact": opened == body, "refused": refusals,
    }
    if args.json:
        print(json.dumps(summary))
    ok = opened == body and all(r != "accepted" for r in refusals.values())
    return 0 if ok else 1


def _refusal(data: bytes, trust) -> str:  # type: ignore[no-untyped-def]
    try:
        verify_packet(decode_packet(data), trust, now=time.time())
    except PacketError as exc:
        return exc.reason
    return "accepted"
