"""Foundation benchmarks: ``kith init``, a cold ``contacts list``, settings throughput.

Run: ``.venv/bin/python bench/bench_foundation.py`` (or ``make bench``).
Everything uses the production Argon2id parameters (no test profile) and real
SQLCipher files in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import report, summary_ms
from kith.account import create_account, open_async_store, open_store
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.keyprotect.passphrase import DEFAULT_PARAMS, derive, new_params
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys

PASSPHRASE = "benchmark passphrase"
RUNS = 10
CONTACTS = 1000
SETTING_OPS = 2000


def _kith(data_dir: Path, *args: str) -> float:
    script = Path(sys.executable).parent / "kith"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env["KITH_PASSPHRASE"] = PASSPHRASE
    start = time.perf_counter()
    subprocess.run(
        [str(script), "--data-dir", str(data_dir), *args],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def bench_init(root: Path) -> dict[str, Any]:
    samples = [_kith(root / f"init-{i}", "init", "--name", "bench") for i in range(RUNS)]
    return {"case": "kith init (passphrase, Argon2id default)", **summary_ms(samples)}


def _populate(root: Path) -> Path:
    data_dir = DataDir(root / "many")
    secret = FixedPassphrase(PASSPHRASE)
    create_account(data_dir, name="bench", protection=Protection.PASSPHRASE, passphrases=secret)
    with open_store(data_dir, secret) as store, store.transaction():
        for i in range(CONTACTS):
            keys = IdentityKeys(i.to_bytes(32, "big"))
            store.contacts.add(keys.kith_id, keys.public_key, f"contact {i}", float(i))
    return data_dir.path


def bench_contacts_list(root: Path) -> dict[str, Any]:
    path = _populate(root)
    samples = [_kith(path, "contacts", "list", "--json") for _ in range(RUNS)]
    return {"case": f"kith contacts list --json ({CONTACTS} contacts, cold)", **summary_ms(samples)}


def _rate(label: str, op: Callable[[int], object]) -> dict[str, Any]:
    start = time.perf_counter()
    for i in range(SETTING_OPS):
        op(i)
    elapsed = time.perf_counter() - start
    return {"case": label, "ops_per_s": SETTING_OPS / elapsed, "n": SETTING_OPS}


def bench_settings(root: Path) -> list[dict[str, Any]]:
    data_dir = DataDir(root / "many")
    with open_store(data_dir, FixedPassphrase(PASSPHRASE)) as store:
        rows = [
            _rate("settings get (Store, sync)", lambda i: store.settings.get("auto_away_minutes")),
            _rate(
                "settings set (Store, sync, one commit each)",
                lambda i: store.settings.set("auto_away_minutes", i, time.time()),
            ),
        ]
    rows.append(asyncio.run(_async_rate(data_dir)))
    return rows


async def _async_rate(data_dir: DataDir) -> dict[str, Any]:
    store = await open_async_store(data_dir, FixedPassphrase(PASSPHRASE))
    try:
        start = time.perf_counter()
        for _ in range(SETTING_OPS):
            await store.run(lambda s: s.settings.get("user_status"))
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    return {"case": "settings get (AsyncStore)", "ops_per_s": SETTING_OPS / elapsed}


def bench_argon2() -> list[dict[str, Any]]:
    rows = []
    for memory_mib, time_cost in [(64, 3), (128, 3), (256, 2)]:
        params = new_params(memory_kib=memory_mib * 1024, time_cost=time_cost)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            derive(PASSPHRASE, params)
            samples.append(time.perf_counter() - start)
        label = f"argon2id m={memory_mib}MiB t={time_cost} p={params.parallelism}"
        rows.append({"case": label, **summary_ms(samples)})
    return rows


def main() -> None:
    os.environ.pop("KITH_ARGON2_PROFILE", None)
    with tempfile.TemporaryDirectory(prefix="kith-bench-") as tmp:
        root = Path(tmp)
        rows = [bench_init(root), bench_contacts_list(root), *bench_settings(root)]
    rows.extend(bench_argon2())
    report("foundation", rows, {"argon2_default": DEFAULT_PARAMS, "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
