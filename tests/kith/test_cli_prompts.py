"""Prompts and new passphrases: Ctrl-D / Ctrl-C end cleanly, weak passphrases are refused."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from kith.cli.main import build_parser
from kith.passphrase_strength import MIN_SCORE, estimate

STRONG = "cli test passphrase"
WEAK = "abc123"
WAIT = 30.0


def _command() -> list[str]:
    return [sys.executable, "-m", "kith.cli.main"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(KITH_ARGON2_PROFILE="test", **extra)
    return env


def _run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), "--data-dir", str(home), *args],
        capture_output=True,
        text=True,
        env=_env(HOME=str(home.parent), **env),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def _like_a_login_terminal() -> None:
    """In the child: the terminal becomes its controlling one, and Ctrl-C
    reaches it as from a user's shell. SIGINT is set back to its default and
    unblocked, since a child inherits an ignored or blocked SIGINT (whatever
    ran before in the test process), and Python, started with SIGINT
    ignored, never turns Ctrl-C into KeyboardInterrupt."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class Terminal:
    """A command on a pseudo-terminal of its own (getpass reads /dev/tty)."""

    def __init__(self, home: Path, *args: str) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [*_command(), "--data-dir", str(home), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=_env(HOME=str(home.parent)),
            start_new_session=True,
            preexec_fn=_like_a_login_terminal,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, needle: bytes) -> None:
        deadline = time.monotonic() + WAIT
        while needle not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, self.output
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                self.output += os.read(self.master, 4096)

    def finish(self) -> int:
        code = self.proc.wait(WAIT)
        while select.select([self.master], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk
        os.close(self.master)
        return code


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "kith"


def test_ctrl_d_at_the_passphrase_prompt_is_one_line_and_exit_1(home: Path) -> None:
    term = Terminal(home, "init", "--passphrase")
    term.read_until(b"passphrase: ")
    os.write(term.master, b"\x04")
    assert term.finish() == 1
    text = term.output.decode(errors="replace")
    assert "Traceback" not in text
    assert "kith: no passphrase given (input ended)" in text
    assert not home.exists()


def test_ctrl_c_at_the_passphrase_prompt_is_one_line_and_exit_130(home: Path) -> None:
    term = Terminal(home, "init", "--passphrase")
    term.read_until(b"passphrase: ")
    os.write(term.master, b"\x03")
    assert term.finish() == 130
    text = term.output.decode(errors="replace")
    assert "Traceback" not in text
    assert "kith: interrupted" in text


def test_a_closed_stdin_without_a_passphrase_is_a_clear_error(home: Path) -> None:
    done = _run(home, "init", "--passphrase")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "KITH_PASSPHRASE" in done.stderr


def test_a_weak_passphrase_is_refused_at_init(home: Path) -> None:
    done = _run(home, "init", "--passphrase", KITH_PASSPHRASE=WEAK)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "too easy to guess" in done.stderr
    assert "--allow-weak" in done.stderr
    assert WEAK not in done.stderr
    assert not home.exists()


def test_allow_weak_accepts_it_at_init(home: Path) -> None:
    done = _run(home, "init", "--passphrase", "--allow-weak", KITH_PASSPHRASE=WEAK)
    assert done.returncode == 0, done.stderr
    assert _run(home, "id", KITH_PASSPHRASE=WEAK).returncode == 0


def test_a_weak_new_passphrase_is_refused_at_change_unless_allowed(home: Path) -> None:
    assert _run(home, "init", "--passphrase", KITH_PASSPHRASE=STRONG).returncode == 0
    refused = _run(home, "passphrase", "change", KITH_PASSPHRASE=STRONG, KITH_NEW_PASSPHRASE=WEAK)
    assert refused.returncode == 1
    assert "too easy to guess" in refused.stderr
    assert _run(home, "id", KITH_PASSPHRASE=STRONG).returncode == 0
    allowed = _run(
        home,
        "passphrase",
        "change",
        "--allow-weak",
        KITH_PASSPHRASE=STRONG,
        KITH_NEW_PASSPHRASE=WEAK,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert _run(home, "id", KITH_PASSPHRASE=WEAK).returncode == 0


@pytest.mark.parametrize("weak", ["abc", "password1", "qwertyuiop", "alice2024"])
def test_common_patterns_score_below_the_bar(weak: str) -> None:
    assert estimate(weak, ("alice",)).score < MIN_SCORE


def test_several_uncommon_words_pass() -> None:
    assert estimate("lantern orbit quietly marmalade").strong_enough


def test_kith_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["init", "--help"])
    assert "(default: )" not in capsys.readouterr().out
