"""The layout of tests/ and bench/: shared helpers live in the ``kith_testkit``
package, so nothing edits ``sys.path`` and no test folder can shadow a module
of the standard library (a folder ``tests/signal`` would hide ``signal``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
BENCH = ROOT / "bench"
# spelled in two parts, so this file is checked like every other
PATH_EDITS = tuple(b"sys.path." + verb for verb in (b"insert", b"append"))


def test_no_test_folder_is_named_like_a_standard_library_module() -> None:
    folders = [p for p in TESTS.rglob("*") if p.is_dir() and not p.name.startswith((".", "_"))]
    clashes = sorted(str(p.relative_to(ROOT)) for p in folders if p.name in sys.stdlib_module_names)
    assert clashes == []


def test_nothing_under_tests_or_bench_edits_sys_path() -> None:
    files = [
        f
        for f in [*TESTS.rglob("*"), *BENCH.rglob("*")]
        if f.is_file() and "__pycache__" not in f.parts
    ]
    editing = sorted(
        str(f.relative_to(ROOT)) for f in files if any(e in f.read_bytes() for e in PATH_EDITS)
    )
    assert editing == []
