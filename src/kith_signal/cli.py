"""``kith-signal``: run Kith's signaling server."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import ipaddress
import re
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from kith_proto.event_loop import LOOP_CHOICES, LoopUnavailableError, choose_loop
from kith_proto.help_format import DefaultsHelpFormatter
from kith_proto.server_core import ServerConfig
from kith_proto.wire import DEFAULT_SIGNAL_PORT
from kith_signal.addresses import Address
from kith_signal.broker import DEFAULT_MAX_RETAINED_BYTES, Broker
from kith_signal.cluster.registry import DEFAULT_INTERVAL, DEFAULT_TTL
from kith_signal.cluster.secret import ClusterSecretError, read_secret, tag_key
from kith_signal.gc_policy import GcPolicy, GcSettings
from kith_signal.heap_trim import GlibcHeap, HeapTrim, TrimSettings
from kith_signal.logfmt import configure, log_event
from kith_signal.mailbox.backend import MailboxBackend, MailboxLimits
from kith_signal.mailbox.redis_store import RedisMailboxStore
from kith_signal.mailbox.service import Mailbox
from kith_signal.mailbox.sqlite_store import MailboxFile
from kith_signal.memory_broker import InProcessBroker
from kith_signal.metrics import Metrics
from kith_signal.public_url import is_wildcard, wildcard_message
from kith_signal.server import ServerOptions, SignalServer
from kith_signal.transport import TRANSPORTS
from kith_signal.turn import DEFAULT_TURN_TTL, TurnConfigError, issuer_from_flags, turn_url

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


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _byte_size(text: str) -> int:
    """``268435456``, ``256M``, ``256MiB``, ``1G``... (binary units)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError("expected bytes, e.g. 268435456, 256M or 1GiB")
    value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _ip_address(text: str) -> Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an IP address, e.g. 10.0.0.2") from None


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port, 0-65535 (0 picks a free one)")
    return value


def _add_exposure_flags(p: argparse.ArgumentParser) -> None:
    """Flags that bound what clients can take, and who can read metrics."""
    p.add_argument(
        "--max-retained-bytes",
        type=_byte_size,
        default=DEFAULT_MAX_RETAINED_BYTES,
        help="retained payload bytes the whole server holds (default 256MiB); K/M/G suffixes",
    )
    p.add_argument(
        "--reply-bytes-per-token",
        type=_byte_size,
        default=262144,
        help="retained bytes a subscribe reply carries per rate token (default 256KiB)",
    )
    p.add_argument(
        "--max-connections-per-address",
        type=_non_negative_int,
        default=64,
        help="open connections per client IP address (default 64; 0: no limit)",
    )
    p.add_argument(
        "--trusted-proxy",
        type=_ip_address,
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy's address, exempt from the per-address limit (repeatable)",
    )
    p.add_argument("--metrics-host", default="127.0.0.1", help="address of --metrics-port")
    p.add_argument(
        "--metrics-port",
        type=_port,
        help="serve /metrics on this port only (not on the WebSocket port)",
    )
    p.add_argument(
        "--metrics-token-file",
        help="file holding a token that /metrics requires as 'Authorization: Bearer TOKEN'",
    )


def _redis_url(text: str) -> str:
    """``redis://HOST:PORT/DB`` (or ``rediss://`` for TLS); checked, not dialled."""
    try:
        url = urllib.parse.urlsplit(text)
        port = url.port
    except ValueError:
        raise argparse.ArgumentTypeError("expected redis://HOST:PORT/DB") from None
    if url.scheme not in ("redis", "rediss") or not url.hostname:
        raise argparse.ArgumentTypeError("expected redis://HOST:PORT/DB (or rediss://)")
    if url.path not in ("", "/") and not url.path[1:].isdigit():
        raise argparse.ArgumentTypeError("the database is a number: redis://HOST:PORT/0")
    del port
    return text


def _add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """Flags that join several processes into one cluster through Redis."""
    p.add_argument(
        "--redis",
        type=_redis_url,
        action="append",
        default=[],
        metavar="URL",
        help="a Redis instance, redis://HOST:PORT/DB (repeatable: topics are sharded over "
        "them); without it the process routes alone, in memory",
    )
    p.add_argument(
        "--cluster-secret-file",
        help="file holding the secret the cluster's processes share (needed with --redis; "
        "at least 32 bytes, e.g. openssl rand -hex 32)",
    )
    p.add_argument(
        "--cluster-ttl",
        type=_positive_float,
        default=DEFAULT_TTL,
        help="seconds a process's liveness key lives unrefreshed; its users are announced "
        "gone within this plus --cluster-beat after it dies",
    )
    p.add_argument(
        "--cluster-beat",
        type=_positive_float,
        default=DEFAULT_INTERVAL,
        help="seconds between refreshes of the liveness key (and checks of the others)",
    )


def _check_cluster(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    args.cluster_secret = None
    if not args.redis:
        if args.cluster_secret_file:
            p.error("--cluster-secret-file goes with --redis")
        return
    if len(set(args.redis)) != len(args.redis):
        p.error("--redis: the same instance is given twice")
    if not args.cluster_secret_file:
        p.error("--redis needs --cluster-secret-file (the secret the cluster shares)")
    try:
        args.cluster_secret = read_secret(args.cluster_secret_file)
    except ClusterSecretError as exc:
        p.error(f"--cluster-secret-file {args.cluster_secret_file}: {exc}")
    if args.cluster_beat >= args.cluster_ttl:
        p.error("--cluster-beat must be shorter than --cluster-ttl")


def _turn_url(text: str) -> str:
    try:
        return turn_url(text)
    except TurnConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_turn_flags(p: argparse.ArgumentParser) -> None:
    """Flags that hand nodes TURN credentials (coturn's use-auth-secret)."""
    p.add_argument(
        "--turn-url",
        type=_turn_url,
        action="append",
        default=[],
        metavar="URL",
        help="a TURN relay, turn:HOST:PORT[?transport=udp|tcp] (repeatable)",
    )
    p.add_argument(
        "--turn-secret-file",
        help="file holding coturn's static-auth-secret (needed with --turn-url)",
    )
    p.add_argument(
        "--turn-ttl",
        type=_positive_int,
        default=DEFAULT_TURN_TTL,
        help=f"seconds a TURN credential stays valid (default {DEFAULT_TURN_TTL})",
    )


def _add_mailbox_flags(p: argparse.ArgumentParser) -> None:
    """Flags of the offline mailbox (kept with ``--data-dir``, or in Redis with ``--redis``)."""
    p.add_argument(
        "--data-dir",
        help="directory of the offline mailbox's SQLite file (without it or --redis: no "
        "mailbox; with --redis the mailbox is in the first Redis instead)",
    )
    p.add_argument(
        "--mailbox-ttl",
        type=_positive_float,
        default=14.0,
        metavar="DAYS",
        help="days an unfetched mailbox item is kept (default 14; fractions allowed)",
    )
    p.add_argument(
        "--mailbox-topic-items",
        type=_positive_int,
        default=10_000,
        help="items one mailbox holds (default 10000)",
    )
    p.add_argument(
        "--mailbox-topic-bytes",
        type=_byte_size,
        default=64 * 1024 * 1024,
        help="bytes one mailbox holds (default 64MiB); K/M/G suffixes",
    )
    p.add_argument(
        "--mailbox-bytes",
        type=_byte_size,
        default=1024**3,
        help="bytes all mailboxes hold together (default 1GiB); K/M/G suffixes",
    )


def _mailbox(args: argparse.Namespace, metrics: Metrics) -> Mailbox | None:
    """The mailbox: in Redis with ``--redis`` (the first instance, shared by the
    cluster), else in ``--data-dir``'s SQLite file, else none."""
    if not args.redis and args.data_dir is None:
        return None
    limits = MailboxLimits(
        ttl=args.mailbox_ttl * 86400.0,
        topic_items=args.mailbox_topic_items,
        topic_bytes=args.mailbox_topic_bytes,
        total_bytes=args.mailbox_bytes,
    )
    store: MailboxBackend
    if args.redis:
        store = RedisMailboxStore.from_url(args.redis[0], limits)
    else:
        store = MailboxFile(Path(args.data_dir), limits)
    return Mailbox(store, metrics=metrics, clock=time.time)


def _read_token(p: argparse.ArgumentParser, path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        p.error(f"--metrics-token-file {path}: {getattr(exc, 'strerror', None) or exc}")
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        p.error(f"--metrics-token-file {path}: expected one token of printable characters")
    return token


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        prog="kith-signal",
        description="Kith's signaling server.",
        formatter_class=DefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SIGNAL_PORT,
        help=f"port to bind (default {DEFAULT_SIGNAL_PORT}); 0 picks a free one",
    )
    p.add_argument(
        "--public-url",
        help="the URL clients dial, exactly (they sign it; default ws[s]://HOST:PORT); "
        "needed with a wildcard --host such as 0.0.0.0 (see docs/deploy.md)",
    )
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
        "--loop",
        choices=LOOP_CHOICES,
        default="auto",
        help="event loop: uvloop when it can be imported (auto), or the one asked for",
    )
    p.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="websockets",
        help="WebSocket implementation: websockets (default), or picows (optional package;"
        " faster per frame, no /debug/snapshot)",
    )
    p.add_argument(
        "--gc-interval", type=_positive_float, default=60.0, help="seconds between light sweeps"
    )
    p.add_argument(
        "--heap-trim",
        choices=("auto", "off"),
        default="auto",
        help="give freed C heap back to the system once a burst settled (glibc, --gc managed)",
    )
    p.add_argument(
        "--debug-snapshot",
        action="store_true",
        help="serve GET /debug/snapshot (broker state; for tests only)",
    )
    _add_exposure_flags(p)
    _add_mailbox_flags(p)
    _add_turn_flags(p)
    _add_cluster_flags(p)
    args = p.parse_args(argv)
    _check_cluster(p, args)
    try:
        args.turn = issuer_from_flags(args.turn_url, args.turn_secret_file, args.turn_ttl)
    except TurnConfigError as exc:
        p.error(str(exc))
    args.metrics_token = _read_token(p, args.metrics_token_file)
    try:
        args.event_loop = choose_loop(args.loop)
    except LoopUnavailableError as exc:
        p.error(str(exc))
    if args.transport == "picows" and importlib.util.find_spec("picows") is None:
        p.error("--transport picows needs the picows package (pip install picows)")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.heartbeat_timeout > 30:
        p.error("--heartbeat-timeout must be <= 30 s")
    if args.max_batch < 0:
        p.error("--max-batch must be >= 0")
    if is_wildcard(args.host) and not args.public_url:
        p.error(wildcard_message(args.host, args.port))
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
        reply_bytes_per_token=args.reply_bytes_per_token,
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
        max_connections_per_address=args.max_connections_per_address,
        trusted_proxies=frozenset(args.trusted_proxy),
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        metrics_token=args.metrics_token,
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_timeout=args.heartbeat_timeout,
        debug_snapshot=args.debug_snapshot,
        transport=args.transport,
    )
    log = configure()
    metrics = Metrics()
    gc_policy = None
    if args.gc == "managed":
        heap = GlibcHeap.load() if args.heap_trim == "auto" else None
        trim = HeapTrim(heap, TrimSettings(), log) if heap is not None else None
        gc_policy = GcPolicy(GcSettings(interval=args.gc_interval), log, time.monotonic, trim)
    broker: Broker
    cluster = None
    if args.redis:
        from kith_signal.cluster.redis_broker import RedisBroker

        broker = cluster = RedisBroker(
            args.redis,
            metrics=metrics,
            log=log,
            max_topics=args.max_topics,
            max_retained_bytes=args.max_retained_bytes,
            process_ttl=args.cluster_ttl,
            beat_interval=args.cluster_beat,
        )
    else:
        broker = InProcessBroker(
            max_topics=args.max_topics, max_retained_bytes=args.max_retained_bytes
        )
    return SignalServer(
        options,
        protocol,
        broker,
        cluster=cluster,
        tag_key=tag_key(args.cluster_secret) if args.cluster_secret is not None else None,
        metrics=metrics,
        mailbox=_mailbox(args, metrics),
        log=log,
        clock=time.monotonic,
        gc_policy=gc_policy,
        turn=args.turn,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kith-signal``."""
    args = parse_args(argv)
    server = build(args)
    log_event(configure(), "event_loop", name=args.event_loop.name)
    try:
        with asyncio.Runner(loop_factory=args.event_loop.factory) as runner:
            runner.run(server.run())
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
