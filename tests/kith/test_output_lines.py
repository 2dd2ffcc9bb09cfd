"""OutputLines follows a real child process's output and waits on it."""

from __future__ import annotations

import subprocess
import sys
import time

from kith.output_lines import OutputLines

SCRIPT = "\n".join(
    ["import time", "print('starting', flush=True)", "time.sleep(0.2)", "print('ready at 7')"]
)


def _child(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_wait_returns_what_a_later_line_says_and_keeps_every_line() -> None:
    child = _child(SCRIPT)
    assert child.stdout is not None
    output = OutputLines(child.stdout)
    found = output.wait(
        lambda lines: next((x[9:] for x in lines if x.startswith("ready")), None), 10
    )
    assert found == "7"
    assert child.wait(10) == 0
    output.join(10)
    assert output.ended
    assert output.lines == ["starting", "ready at 7"]


def test_wait_gives_none_at_once_when_the_output_ends_without_it() -> None:
    child = _child("print('bye')")
    assert child.stdout is not None
    output = OutputLines(child.stdout)
    started = time.monotonic()
    assert output.wait(lambda lines: next((x for x in lines if "never" in x), None), 30) is None
    assert time.monotonic() - started < 10  # the end of the stream, not the timeout
    assert output.lines == ["bye"]
    child.wait(10)


def test_wait_gives_none_after_the_timeout_while_the_child_is_silent() -> None:
    child = _child("import time; time.sleep(30)")
    assert child.stdout is not None
    output = OutputLines(child.stdout)
    started = time.monotonic()
    assert output.wait(lambda lines: lines[0] if lines else None, 0.3) is None
    assert 0.3 <= time.monotonic() - started < 10
    assert not output.ended
    child.kill()
    child.wait(10)
    output.join(10)
    assert output.ended
