"""Structured ``key=value`` log lines.

Callers pass only what is safe to log: event names, connection ids (random,
per connection), codes and counts. Never keys, IDs, topics or payloads.
"""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["LogfmtFormatter", "configure", "log_event"]

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/[]")


def _value(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text and set(text) <= _SAFE:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LogfmtFormatter(logging.Formatter):
    """``ts=... level=... event=... key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            fields["exc"] = record.exc_info[0].__name__
        return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


def configure(level: int = logging.INFO) -> logging.Logger:
    """Send the ``kith_signal`` logger to stderr as logfmt lines."""
    logger = logging.getLogger("kith_signal")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    logging.getLogger("kith_signal.websockets").setLevel(logging.WARNING)
    return logger


def log_event(
    logger: logging.Logger, event: str, level: int = logging.INFO, **fields: object
) -> None:
    """Log one structured line."""
    logger.log(level, event, extra={"fields": fields})
