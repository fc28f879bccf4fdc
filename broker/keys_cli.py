"""`anjungan broker retire-gateway-keys`: destroy the retired gateway keys no packet at the
centre can need any more (`provisioning.gateway_keys.destroyable`). Registered by
`broker.cli`; run it from a timer, or by hand after a rotation."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from anjungan.errors import UsageError
from anjungan.packet.verify import DEFAULT_WINDOW_S
from broker.queue import EntryState, PacketQueue
from provisioning.fleet import open_fleet
from provisioning.gateway_keys import destroy, destroyable, retired


def register_keys(bsub: argparse._SubParsersAction, db_args: Callable[[argparse.ArgumentParser], None],
                  open_db: Callable[[argparse.Namespace], PacketQueue]) -> None:
    r = bsub.add_parser("retire-gateway-keys", help="destroy retired gateway HPKE keys once no "
                        "queued or dead-lettered packet can need them")
    db_args(r)
    r.set_defaults(func=lambda args: run_retire(args, open_db))


def run_retire(args: argparse.Namespace, open_db: Callable[[argparse.Namespace], PacketQueue]) -> int:
    if args.fleet is None:
        raise UsageError("give --fleet DIR (the folder `broker run` uses)")
    fleet = open_fleet(args.fleet)
    queue = open_db(args)
    try:
        undelivered = [e.captured_at for state in (EntryState.PENDING, EntryState.DEAD)
                       for e in queue.entries(state=state)]
    finally:
        queue.close()
    now = time.time()
    gone = destroyable(fleet.root, now=now, kiosk_days=fleet.kiosk_days, window_s=DEFAULT_WINDOW_S,
                       oldest_undelivered=min(undelivered, default=None))
    destroy(fleet.root, gone, now=now)
    kept = sorted(k for k, v in retired(fleet.root).items() if v.get("state") == "kept")
    if args.json:
        print(json.dumps({"destroyed": gone, "kept": kept}))
    else:
        print(f"destroyed {len(gone)} retired gateway key(s) {gone}; still kept {kept}")
    return 0
