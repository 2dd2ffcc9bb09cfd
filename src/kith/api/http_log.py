"""The local API's HTTP-level log: malformed requests without their bytes.

aiohttp logs a request it cannot parse with a traceback whose message
quotes the start of the offending line (up to 100 bytes of a header an
unauthenticated client sent). :func:`http_logger` gives the server a logger
that reports such a request in one short line naming only the error type;
every other record passes unchanged.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["MalformedRequestFilter", "http_logger"]


class MalformedRequestFilter(logging.Filter):
    """Rewrites records about unparseable requests so they carry no request bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record; drop its traceback and arguments if a request was malformed."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = "refused a malformed HTTP request (%s)"
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def http_logger(parent: logging.Logger) -> logging.Logger:
    """A child of ``parent`` for aiohttp's request handler, with the filter."""
    logger = parent.getChild("http")
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
    return logger
