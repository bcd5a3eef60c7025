"""The connection-level log: what aiohttp says about connections, as one line where one will do.

aiohttp logs a request its parser refuses (an unknown method, a bad Content-Length, an HTTP/2
preface, a NUL in a header) at ERROR with a full traceback. Anyone can send one without a token,
so that would let anyone flood the log; and it is not the server's fault. Such a request is
answered 400 by aiohttp as before, and logged here as one INFO line naming the sender and the
parser's reason. Anything else aiohttp logs passes unchanged.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

HTTP_LOG = logging.getLogger("slotbook.http")
"""The logger the server's connections log to (given to aiohttp's request handler)."""

MAX_REASON_CHARS = 120


class OneLineForMalformedRequests(logging.Filter):
    """Turns aiohttp's record of a request its parser refused into one short INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        sender = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg = "refused a malformed request from %s: %s"
        record.args = (sender, reason(error))
        record.exc_info = None
        record.exc_text = None
        record.levelno = min(record.levelno, logging.INFO)
        record.levelname = logging.getLevelName(record.levelno)
        return HTTP_LOG.isEnabledFor(record.levelno)


def reason(error: HttpProcessingError) -> str:
    """The parser's complaint in a few words: its first line, without the echoed bytes."""
    first = next((line.strip() for line in error.message.splitlines() if line.strip()), "")
    text = first.rstrip(":") or type(error).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


HTTP_LOG.addFilter(OneLineForMalformedRequests())
