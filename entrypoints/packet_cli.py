"""`anjungan packet sample|inspect`: make a sample capture packet; verify and show one."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from anjungan.commands import help_for
from anjungan.errors import AnjunganError
from anjungan.nik import parse_nik
from anjungan.packet import (
    DEFAULT_WINDOW_S,
    PacketError,
    PacketHeader,
    Service,
    build_packet,
    decode_packet,
    derive_priority,
    encode_packet,
    verify_packet,
)
from anjungan.packet.codec import MAX_PACKET_BYTES
from anjungan.packet.sample import SAMPLE_NIK


def register(sub: argparse._SubParsersAction) -> None:
    grp = sub.add_parser("packet", help="capture packets: make a sample, verify and inspect")
    psub = grp.add_subparsers(dest="packet_cmd", metavar="ACTION")
    grp.set_defaults(func=help_for(grp))

    s = psub.add_parser("sample", help="write a signed, sealed packet with synthetic biometrics",
                        description="Build a capture packet as a kiosk makes one for a new "
                        "recording: the simulators' sample captures (face, 10 fingers, 2 "
                        "irises, signature) as ISO/IEC 19794 records with JPEG 2000 images, "
                        "sealed to the gateway and signed with the bundle's device key.")
    s.add_argument("--bundle", required=True, help="kiosk bundle folder (provision enroll)")
    s.add_argument("--out", required=True, help="file to write the packet to")
    s.add_argument("--nik", default=SAMPLE_NIK, help="resident NIK for the sealed body")
    s.add_argument("--service", choices=[x.value for x in Service], default="new_recording")
    s.add_argument("--sequence", type=int, default=1, help="per-kiosk sequence number (>= 1)")
    s.set_defaults(func=run_sample)

    i = psub.add_parser("inspect", help="verify a packet and show its header (never biometrics)",
                        description="Verify a capture packet against a fleet (chain, revocation, "
                        "signature, digest, time window) and print its header. Exit 0 when "
                        "valid, 1 with a one-line reason when not.")
    i.add_argument("file", help="packet file")
    i.add_argument("--fleet", required=True, help="fleet folder (provision init-fleet)")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S,
                   help="accept packets at most this old (seconds; default 30 days)")
    i.set_defaults(func=run_inspect)


def run_sample(args: argparse.Namespace) -> int:
    from entrypoints.packet_bench import new_recording_body
    from provisioning.bundle import load_bundle

    bundle = load_bundle(args.bundle)
    now = time.time()
    info = parse_nik(args.nik, today=dt.date.today())
    service = Service(args.service)
    priority = derive_priority(service=service, age=info.age)
    started = time.perf_counter()
    packet = build_packet(
        new_recording_body(nik=info.nik), identity=bundle.identity,
        gateway_public_key=bundle.gateway_public_key, suite_name=bundle.suite,
        sequence=args.sequence, service=service, priority=priority, now=now,
    )
    data = encode_packet(packet)
    elapsed = time.perf_counter() - started
    try:
        Path(args.out).write_bytes(data)
    except OSError as exc:
        raise AnjunganError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {args.out}: {len(data)} bytes, packet {packet.packet_id}, "
          f"kiosk {bundle.kiosk_id}, suite {bundle.suite}, sign+seal {elapsed * 1000:.1f} ms")
    return 0


def header_dict(h: PacketHeader) -> dict[str, object]:
    return {
        "version": h.version, "packet_id": str(h.packet_id), "kiosk_id": h.kiosk_id,
        "sequence": h.sequence,
        "created_at": dt.datetime.fromtimestamp(h.created_at, dt.UTC).isoformat(),
        "service": h.service.value, "priority": h.priority.label, "suite": h.suite,
        "body_digest": h.body_digest.hex(), "assisted": h.assisted,
    }


def run_inspect(args: argparse.Namespace) -> int:
    from provisioning.fleet import load_trust

    try:
        with open(args.file, "rb") as f:  # never more than a packet may be: /dev/zero ends
            data = f.read(MAX_PACKET_BYTES + 1)
    except OSError as exc:
        raise AnjunganError(f"cannot read {args.file}: {exc.strerror}") from None
    trust = load_trust(args.fleet)
    try:
        header = verify_packet(decode_packet(data), trust, now=time.time(), window_s=args.window_s)
    except PacketError as exc:
        if args.json:
            print(json.dumps({"valid": False, "reason": exc.reason, "message": str(exc)}))
            return 1
        raise AnjunganError(f"invalid packet ({exc.reason}): {exc}") from None
    info = header_dict(header)
    if args.json:
        print(json.dumps({"valid": True, "size": len(data), "header": info}))
    else:
        print(f"valid packet, {len(data)} bytes")
        for key, value in info.items():
            print(f"  {key:12} {value}")
    return 0


def register_bench(bench_sub: argparse._SubParsersAction) -> None:
    b = bench_sub.add_parser("packet", help="sample packet size, sign+seal and verify cost per suite")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--rounds", type=int, default=20, help="repetitions per measurement")
    b.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from entrypoints.packet_bench import run

    results = run(max(1, args.rounds))
    if args.json:
        print(json.dumps(results))
    else:
        for suite_name, r in results.items():
            print(f"{suite_name:16} {r['packet_bytes']:>9} bytes  sign+seal {r['sign_seal_ms']:6.1f} ms"
                  f"  verify {r['decode_verify_ms']:5.1f} ms  open {r['open_ms']:5.1f} ms"
                  f"  ({r['seal_ratio']}x plain CBOR)")
    return 0
