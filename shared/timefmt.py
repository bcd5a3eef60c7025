"""Times on the wire.

Requests may give `YYYY-MM-DD HH:MM:SS` (read as UTC, as the original API did) or ISO 8601 /
RFC 3339 with `Z` or an offset (converted to UTC). Responses always use `YYYY-MM-DD HH:MM:SS`
in UTC.
Inside the programs a time is UTC epoch seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
"""The one format responses use: UTC, to the second."""

EARLIEST = 0.0
LATEST = datetime(9999, 1, 1, tzinfo=UTC).timestamp()
"""Times are accepted from the epoch up to the start of 9999, so any window or range that
starts inside (at most a month long) still formats as a four-digit year."""

_ACCEPTED = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:?\d{2})?$"
)


class TimeFormatError(ValueError):
    """A text that is not a time slotbook understands; the message says what to send instead."""


def parse_time(text: str) -> float:
    """Read a request time as UTC epoch seconds.

    >>> parse_time("2030-01-02 03:04:05")
    1893553445.0
    >>> parse_time("2030-01-02T05:04:05+02:00")
    1893553445.0
    """
    candidate = text.strip()
    if not _ACCEPTED.match(candidate):
        raise TimeFormatError(
            f"'{text}' is not a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an offset,"
            " e.g. '2030-08-30 12:00:00' or '2030-08-30T14:00:00+02:00'"
        )
    if candidate[-1] in "zZ":
        candidate = candidate[:-1] + "+00:00"
    # Python 3.11's fromisoformat takes at most 6 fractional digits.
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError as error:
        raise TimeFormatError(f"'{text}' is not a real date and time: {error}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = moment.timestamp()
    if not EARLIEST <= epoch < LATEST:
        raise TimeFormatError(f"'{text}' is outside the years 1970 to 9998 that slotbook handles")
    return epoch


def format_time(epoch: float) -> str:
    """Write epoch seconds as the wire's `YYYY-MM-DD HH:MM:SS` in UTC (fractions dropped)."""
    return _format_whole_second(int(epoch // 1))


@lru_cache(maxsize=1 << 16)
def _format_whole_second(epoch: int) -> str:
    # Slot starts repeat across requests: formatting each once is a measurable saving.
    return datetime.fromtimestamp(epoch, UTC).strftime(WIRE_FORMAT)


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)
