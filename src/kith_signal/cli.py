"""``kith-signal``: run Kith's signaling server."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from kith_proto.server_core import ServerConfig
from kith_proto.wire import DEFAULT_SIGNAL_PORT
from kith_signal.gc_policy import GcPolicy, GcSettings
from kith_signal.logfmt import configure, log_event
from kith_signal.memory_broker import InProcessBroker
from kith_signal.metrics import Metrics
from kith_signal.server import ServerOptions, SignalServer

__all__ = ["main", "parse_args"]


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(prog="kith-signal", description="Kith's signaling server.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SIGNAL_PORT,
        help=f"port to bind (default {DEFAULT_SIGNAL_PORT}); 0 picks a free one",
    )
    p.add_argument("--public-url", help="URL clients sign for (default ws[s]://HOST:PORT)")
    p.add_argument("--tls-cert", help="PEM certificate chain (enables TLS)")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--max-connections", type=_positive_int, default=10000)
    p.add_argument("--max-frame-bytes", type=_positive_int, default=65536)
    p.add_argument(
        "--max-topics",
        type=_positive_int,
        default=4096,
        help="subscriptions per connection, and publications per connection (apart)",
    )
    p.add_argument(
        "--max-batch", type=int, default=256, help="items per publish_batch (0: no batches)"
    )
    p.add_argument("--rate", type=_positive_float, default=20.0, help="messages/s per connection")
    p.add_argument("--burst", type=_positive_int, help="token bucket size (default 2 x rate)")
    p.add_argument(
        "--intro-rate", type=_positive_float, default=0.2, help="intros/s per connection"
    )
    p.add_argument("--auth-timeout", type=_positive_float, default=15.0)
    p.add_argument("--challenge-ttl", type=_positive_float, default=10.0)
    p.add_argument("--heartbeat-interval", type=_positive_float, default=10.0)
    p.add_argument("--heartbeat-timeout", type=_positive_float, default=10.0)
    p.add_argument(
        "--gc",
        choices=("managed", "python"),
        default="managed",
        help="garbage collection: freeze the stable heap and sweep (default), or CPython's own",
    )
    p.add_argument(
        "--gc-interval", type=_positive_float, default=60.0, help="seconds between light sweeps"
    )
    p.add_argument(
        "--debug-snapshot",
        action="store_true",
        help="serve GET /debug/snapshot (broker state; for tests only)",
    )
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.heartbeat_timeout > 30:
        p.error("--heartbeat-timeout must be <= 30 s")
    if args.max_batch < 0:
        p.error("--max-batch must be >= 0")
    return args


def build(args: argparse.Namespace) -> SignalServer:
    """Wire the server's components from parsed arguments."""
    protocol = ServerConfig(
        public_url=args.public_url or "",
        max_frame_bytes=args.max_frame_bytes,
        max_topics=args.max_topics,
        max_batch=args.max_batch,
        rate=args.rate,
        burst=args.burst or max(1, int(args.rate * 2)),
        intro_rate=args.intro_rate,
        challenge_ttl=args.challenge_ttl,
        auth_timeout=args.auth_timeout,
        heartbeat_interval=args.heartbeat_interval,
    )
    options = ServerOptions(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        max_connections=args.max_connections,
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_timeout=args.heartbeat_timeout,
        debug_snapshot=args.debug_snapshot,
    )
    log = configure()
    gc_policy = None
    if args.gc == "managed":
        gc_policy = GcPolicy(GcSettings(interval=args.gc_interval), log, time.monotonic)
    return SignalServer(
        options,
        protocol,
        InProcessBroker(max_topics=args.max_topics),
        metrics=Metrics(),
        log=log,
        clock=time.monotonic,
        gc_policy=gc_policy,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kith-signal``."""
    args = parse_args(argv)
    server = build(args)
    try:
        asyncio.run(server.run())
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"kith-signal: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    log_event(configure(), "exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
