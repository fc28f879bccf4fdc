"""`anjungan siak-sim`: run the SIAK simulator as a real HTTP(S) server."""

from __future__ import annotations

import argparse
from pathlib import Path

from anjungan.commands import port_number
from anjungan.errors import UsageError
from broker.siak.access import read_token
from broker.siak.ledger import Ledger
from broker.siak.sim import SiakSimulator, SimConfig, tls_options
from broker.siak.simtls import sim_tls


def _window(text: str) -> tuple[float, float]:
    try:
        start, end = (float(x) for x in text.split(":", 1))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"outage window must be START:END seconds, got {text!r}") from exc
    if not 0 <= start < end:
        raise argparse.ArgumentTypeError("outage window needs 0 <= START < END")
    return start, end


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("siak-sim", help="run the SIAK simulator (HTTP; see broker/SIAK_API.md)",
                       description="A SIAK look-alike with capacity limits and fault injection.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=8900, help="TCP port (0: any)")
    p.add_argument("--capacity", type=float, default=50.0, help="requests per second (default 50)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    p.add_argument("--latency", type=float, default=0.02, help="seconds per request at 08-10")
    p.add_argument("--slow-factor", type=float, default=4.0, help="latency x this outside 08-10")
    p.add_argument("--clock-start", type=float, default=8.0, help="simulated hour at start")
    p.add_argument("--clock-speed", type=float, default=1.0, help="simulated s per real s")
    p.add_argument("--outage", type=_window, action="append", default=[], metavar="START:END",
                   help="503 between these seconds after start (repeatable)")
    p.add_argument("--rate-429", type=_rate, default=0.0)
    p.add_argument("--rate-5xx", type=_rate, default=0.0)
    p.add_argument("--rate-timeout", type=_rate, default=0.0, help="accept, then lose the answer")
    p.add_argument("--rate-slow", type=_rate, default=0.0)
    p.add_argument("--slow-s", type=float, default=2.0)
    p.add_argument("--bio-after", type=float, default=1.0, help="s until BIO_CAPTURED")
    p.add_argument("--print-after", type=float, default=2.0, help="s more until PRINT_READY")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tls-dir", type=Path, metavar="DIR",
                   help="serve https with DIR's certificates, made there on first use (ca.pem to "
                   "pin with --siak-ca; client.pem/.key for --siak-cert/--siak-key)")
    p.add_argument("--client-cert", action="store_true",
                   help="with --tls-dir: serve only clients with a certificate from DIR/ca.pem")
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="answer /v1 only to `Authorization: Bearer <the token in FILE>`")
    p.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    import uvicorn

    if args.capacity <= 0 or args.concurrency < 1:
        raise UsageError("--capacity must be > 0 and --concurrency >= 1")
    if args.client_cert and not args.tls_dir:
        raise UsageError("--client-cert needs --tls-dir")
    token = read_token(args.token_file) if args.token_file else ""
    tls = sim_tls(args.tls_dir) if args.tls_dir else None
    cfg = SimConfig(
        capacity_rps=args.capacity, concurrency=args.concurrency, latency_s=args.latency,
        slow_factor=args.slow_factor, clock_start_hour=args.clock_start,
        clock_speed=args.clock_speed, outages=list(args.outage), rate_429=args.rate_429,
        rate_5xx=args.rate_5xx, rate_timeout=args.rate_timeout, rate_slow=args.rate_slow,
        slow_s=args.slow_s, seed=args.seed,
    )
    sim = SiakSimulator(cfg, Ledger(bio_after_s=args.bio_after, print_after_s=args.print_after),
                        token=token)
    scheme = "https" if tls else "http"
    print(f"siak-sim: {scheme}://{args.host}:{args.port} capacity {args.capacity}/s x{args.concurrency}",
          flush=True)
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level="warning", access_log=False,
                **tls_options(tls, args.client_cert))
    return 0
