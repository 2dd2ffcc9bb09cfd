"""Where the signaling server's bytes go per user with everyone's presence retained.

Run: ``.venv/bin/python bench/signal_memory.py [--users N] [--contacts C]``.
In one process, without sockets: ``users`` connections attach to a real
:class:`~kith_signal.memory_broker.InProcessBroker`, each subscribes to its
``contacts`` presence topics and publishes one envelope-sized payload on each
of its own (as ``bench_signal.py``'s load generator does, ``publish_batch``).
``tracemalloc`` measures the bytes the broker holds per user after each
phase; the retained payloads alone (``ENVELOPE_SIZE`` raw bytes per topic)
are the anchor the broker's overhead is reported against. The envelope is
measured at the current ``ENVELOPE_SIZE`` and at the earlier 933 bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import os
import tracemalloc
from typing import Any

from benchlib import report
from kith_proto import wire
from kith_proto.pair import ENVELOPE_SIZE
from kith_signal.broker import Delivery
from kith_signal.memory_broker import InProcessBroker

EARLIER_ENVELOPE_SIZE = 933


def _topic(source: int, target: int) -> str:
    token = hashlib.sha256(b"%d>%d" % (source, target)).digest()
    return wire.encode_payload(wire.token_topic(token))


def _contacts(user: int, users: int, count: int) -> list[int]:
    half = count // 2
    return [(user + d) % users for d in range(-half, half + 1) if d]


def _sink(_: Delivery) -> None:
    """Deliveries are dropped: only the broker's own state is measured."""


async def _measure(users: int, contacts: int, envelope: int) -> dict[str, Any]:
    broker = InProcessBroker(max_retained_bytes=1 << 40)
    conn_ids = [f"c{i:08d}" for i in range(users)]  # built before tracing: the server's ids
    subscriptions = [[_topic(c, i) for c in _contacts(i, users, contacts)] for i in range(users)]
    payloads = [
        [
            (_topic(i, c), base64.urlsafe_b64encode(os.urandom(envelope)).decode().rstrip("="))
            for c in _contacts(i, users, contacts)
        ]
        for i in range(users)
    ]
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for i, conn in enumerate(conn_ids):
        await broker.attach(conn, _sink)
        await broker.login(conn, hashlib.sha256(b"%d" % i).digest())
    attached = tracemalloc.get_traced_memory()[0]
    for conn, topics in zip(conn_ids, subscriptions, strict=True):
        await broker.subscribe(conn, topics)
    subscribed = tracemalloc.get_traced_memory()[0]
    for conn, items in zip(conn_ids, payloads, strict=True):
        await broker.publish_batch(conn, items)
    del payloads
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_user = (retained - start) / users / 1024
    payload_kib = contacts * envelope / 1024
    return {
        "envelope_bytes": envelope,
        "users": users,
        "contacts": contacts,
        "attach_login_kib_per_user": round((attached - start) / users / 1024, 2),
        "subscriptions_kib_per_user": round((subscribed - attached) / users / 1024, 2),
        "retained_kib_per_user": round((retained - subscribed) / users / 1024, 2),
        "broker_total_kib_per_user": round(per_user, 2),
        "payload_anchor_kib_per_user": round(payload_kib, 2),
        "overhead_bytes_per_topic": round((per_user - payload_kib) * 1024 / contacts, 1),
        "retained_bytes_metric": broker.retained_bytes(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--contacts", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for envelope in dict.fromkeys((ENVELOPE_SIZE, EARLIER_ENVELOPE_SIZE)):
        rows.append(asyncio.run(_measure(args.users, args.contacts, envelope)))
    report("signal_memory", rows)


if __name__ == "__main__":
    main()
