"""Smoke test: ``bench/bench_signal.py --quick`` runs end to end (about 10 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_signal.py"


@pytest.mark.slow
def test_quick_signal_benchmark_runs_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "signal_quick.json").read_text())
    ramp = result["ramp"][1]
    assert ramp["connections"] == 1000
    assert ramp["failed"] == 0
    fan_out = result["fan_out"]
    assert fan_out["missing_events"] == 0
    assert fan_out["errors"] == {}
    assert fan_out["p99_ms"] is not None
