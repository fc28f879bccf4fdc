"""A kiosk's renewal as a process of its own, for the SIGKILL tests: MQTT over TLS with the
bundle's identity, the `Renewer`, JSON lines on stdout. `--die-after-first-rename` SIGKILLs
the process between the two renames that install a renewed identity (the worst moment);
`--die-after-request` right after the request is published, before any answer."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from kiosk.publisher import offline_will
from kiosk.renewal import Renewer
from kiosk.transport import LinkEventKind, MqttTransport, TlsFiles
from provisioning.bundle import load_bundle


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("port", type=int)
    ap.add_argument("--die-after-first-rename", action="store_true")
    ap.add_argument("--die-after-request", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    if args.die_after_first_rename:
        real = os.replace

        def replace_then_die(src: str | os.PathLike, dst: str | os.PathLike) -> None:
            real(src, dst)
            if os.path.basename(dst) == "device.key":  # the new key is in, its certificate not yet
                os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace_then_die
    bundle = load_bundle(args.bundle)
    tls = TlsFiles(ca_file=bundle.ca_file, cert_file=bundle.cert_file, key_file=bundle.key_file)
    transport = MqttTransport(client_id=bundle.kiosk_id, host="127.0.0.1", port=args.port,
                              will=offline_will(bundle.kiosk_id, "s", time.time()), tls=tls)
    done: list[float] = []
    renewer = Renewer(bundle=bundle, transport=transport, retry_s=2.0,
                      on_renewed=lambda b: (done.append(b.cert_expires_at), transport.reconnect()))
    transport.start()
    end = time.monotonic() + args.timeout
    connected_after = 0
    while time.monotonic() < end:
        for ev in transport.poll():
            if ev.kind is LinkEventKind.CONNECTED:
                say("connected", renewed=bool(done))
                connected_after += bool(done)
            elif ev.kind is LinkEventKind.MESSAGE and ev.topic == renewer.reply_topic:
                renewer.on_message(ev.payload, time.time())
        if transport.connected:
            before = renewer._next_try
            renewer.pump(time.time())
            if renewer._next_try != before:
                say("requested")
                if args.die_after_request:
                    time.sleep(0.3)  # let paho put it on the wire
                    os.kill(os.getpid(), signal.SIGKILL)
        if renewer.last_refusal:
            say("refused", reason=renewer.last_refusal)
            return 2
        if done and connected_after:
            say("renewed", expires_at=done[0])
            transport.stop()
            return 0
        time.sleep(0.02)
    say("timeout")
    return 1


if __name__ == "__main__":
    sys.exit(main())
