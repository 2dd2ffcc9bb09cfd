"""The data directory's lock: one running node per data directory.

``kith run`` takes an exclusive lock on ``node.lock`` in the data directory
and holds it for the node's life; the operating system releases it when the
process ends, however it ends. A second node on the same directory fails to
take it and says which process holds it (the holder writes its PID into the
file). POSIX uses ``fcntl.flock``, Windows ``msvcrt.locking``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Final

from kith.errors import KithError

__all__ = ["LOCK_FILE", "NodeLock"]

LOCK_FILE: Final = "node.lock"
_PID_BYTES: Final = 32
_PID_WAIT: Final = 0.5


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock without waiting; False if another process holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_pid(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return file.read(_PID_BYTES).decode("ascii", "replace").strip()
    except OSError:
        return ""


def _holder(path: Path) -> str:
    """``process N`` from the lock file, or a vaguer phrase when it cannot be read.

    The holder writes its PID just after taking the lock; a node that lost
    the race by microseconds may find the file still empty, so it reads
    again a few times (at most :data:`_PID_WAIT` seconds).
    """
    deadline = time.monotonic() + _PID_WAIT
    text = _read_pid(path)
    while not text and time.monotonic() < deadline:
        time.sleep(0.01)
        text = _read_pid(path)
    return f"process {text}" if text.isdigit() else "another process"


class NodeLock:
    """The held lock of one data directory; :meth:`release` (or exiting) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self._path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> NodeLock:
        """Lock ``data_dir`` for this process and write our PID into the lock file.

        Raises:
            KithError: ``already_running`` when another process holds the lock
                (the message names its PID), ``data_dir_unusable`` when the
                lock file cannot be opened.
        """
        path = data_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise KithError(f"cannot lock {data_dir}: {reason}", code="data_dir_unusable") from None
        if not _try_lock(fd):
            os.close(fd)
            raise KithError(
                f"a node is already running for {data_dir} ({_holder(path)} holds {path})",
                code="already_running",
            )
        cls._write_pid(fd)
        return cls(path, fd)

    @staticmethod
    def _write_pid(fd: int) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> NodeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
