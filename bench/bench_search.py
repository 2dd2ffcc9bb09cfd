"""Search latency over 100,000 messages: the FTS5 index inside the encrypted database.

Run: ``.venv/bin/python bench/bench_search.py`` (or ``make bench``).
A real SQLCipher file in a temporary directory holds 100,000 messages spread
over 50 conversations (a vocabulary of 2,000 words, Zipf-like, so common words
match tens of thousands of messages and rare ones a handful). Each query runs
through :meth:`SearchRepository.search` exactly as ``GET /api/search`` does
(50 newest results), repeated ``RUNS`` times; so does a search right after a
burst, with 255 new messages waiting for the index (the most that can wait);
the migration that indexes existing history is timed too.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import report, summary_ms
from kith.chat import Message, MessageState, Party
from kith.store import Store, migrate
from kith.store.connection import connect, create
from kith_proto.keys import IdentityKeys

MESSAGES = 100_000
CONTACTS = 50
WORDS = 2000
RUNS = 50
WAITING = 255
KEY = os.urandom(32)


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(WORDS)]


def _text(rng: random.Random, words: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(words, weights, k=rng.randint(3, 25)))


def _fill(store: Store, rng: random.Random, words: list[str]) -> None:
    weights = [1 / (rank + 1) for rank in range(len(words))]
    contacts = [IdentityKeys(bytes([i + 1]) * 32).kith_id for i in range(CONTACTS)]
    start = 1_700_000_000_000
    with store.transaction():
        for n in range(MESSAGES):
            who = Party.ME if n % 2 else Party.PEER
            text = _text(rng, words, weights)
            message = Message(f"{n:032x}", who, text, start + n, MessageState.SENT, n + 1)
            store.messages.put(contacts[n % CONTACTS], message)


def _time_queries(store: Store, queries: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for label, text in queries.items():
        samples, found = [], 0
        for _ in range(RUNS):
            started = time.perf_counter()
            found = len(store.search.search(text, limit=50))
            samples.append(time.perf_counter() - started)
        rows.append({"query": label, "text": text, "results": found, **summary_ms(samples)})
    return rows


def _time_after_burst(store: Store, rng: random.Random, words: list[str]) -> dict[str, Any]:
    """A search right after a burst: 255 new messages wait for the index (the
    most that can: the 256th indexes them all), and the search indexes them first."""
    weights = [1 / (rank + 1) for rank in range(len(words))]
    contact = IdentityKeys(bytes([1]) * 32).kith_id
    samples, found, n = [], 0, MESSAGES
    for _ in range(RUNS):
        with store.transaction():
            while store.search.waiting() < WAITING:
                n += 1
                message = Message(f"b{n:031x}", Party.PEER, _text(rng, words, weights),
                                  1_800_000_000_000 + n, MessageState.RECEIVED, n)  # fmt: skip
                store.messages.put(contact, message)
        started = time.perf_counter()
        found = len(store.search.search(words[0], limit=50))
        samples.append(time.perf_counter() - started)
    return {"query": f"common word, {WAITING} waiting", "text": words[0], "results": found,
            **summary_ms(samples)}  # fmt: skip


def _migration_seconds(root: Path, rng: random.Random, words: list[str]) -> float:
    """Index an existing history of MESSAGES messages (the upgrade to version 8)."""
    path = root / "old.db"
    conn = create(path, KEY)
    migrate(conn, target=7, allow_empty=True)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq) "
        "VALUES ('c', ?, 'peer', ?, 1, 'sent', ?)",
        ((f"{n:032x}", _text(rng, words, weights), n) for n in range(MESSAGES)),
    )
    conn.execute("COMMIT")
    conn.close()
    conn = connect(path, KEY)
    started = time.perf_counter()
    migrate(conn)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    rng = random.Random(16)
    words = _vocabulary(rng)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store.create(root / "k.db", KEY)
        started = time.perf_counter()
        _fill(store, rng, words)
        fill_s = time.perf_counter() - started
        queries = {
            "common word": words[0],
            "rare word": words[-1],
            "two words": f"{words[1]} {words[5]}",
            "prefix": words[10][:3],
            "no match": "zzzzqqqq",
            "three rare words": " ".join(words[-3:]),
        }
        rows = _time_queries(store, queries)
        rows.append(_time_after_burst(store, rng, words))
        store.close()
        size_mb = (root / "k.db").stat().st_size / 2**20
        migration_s = _migration_seconds(root, rng, words)
    extra = {
        "messages": MESSAGES,
        "contacts": CONTACTS,
        "insert_with_index_s": fill_s,
        "database_mib": size_mb,
        "migration_index_100k_s": migration_s,
    }
    report("search", rows, extra)
    print(
        f"{MESSAGES:,} messages inserted (index kept by triggers) in {fill_s:.1f} s; "
        f"database {size_mb:.0f} MiB; indexing an existing history of that size "
        f"(the schema 8 upgrade) took {migration_s:.1f} s"
    )


if __name__ == "__main__":
    main()
