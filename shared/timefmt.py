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

_BLANK = " \t\r\n"
"""What may surround a request time (and nothing else: the spec's pattern says the same)."""

_ACCEPTED = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|z|[+-](?P<hours>[0-9]{2}):?(?P<minutes>[0-9]{2}))?"
)
"""The shape of a request time; `datetime.fromisoformat` then checks that it is a real one."""

_PLUS_AS_SPACE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)? [0-9]{2}:?[0-9]{2}"
)
"""A time whose offset's '+' arrived as a space: what an unencoded '+' in a query string becomes."""

FIRST_YEAR, LAST_YEAR = 1970, 9998
"""The years a request time may be written in."""


def date_pattern() -> str:
    """A regular expression (unanchored) for the real dates of the years 1970 to 9998,
    'YYYY-MM-DD', leap years included, in the dialect JSON Schema and Python share."""
    year = r"(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])"
    month_day = (
        r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    )
    leap_year = (
        r"(?:19(?:7[26]|8[048]|9[26])"
        r"|(?:[2-8][0-9]|9[0-9])(?:0[48]|[2468][048]|[13579][26])"
        r"|(?:[2468][048]|[3579][26])00)"
    )
    return f"(?:{year}-{month_day}|{leap_year}-02-29)"


def _request_time_pattern() -> str:
    """TIME_PATTERN's text: exactly the request times parse_time reads (in years 1970 to 9998),
    in the dialect JSON Schema and Python share, so the API spec can publish it."""
    clock = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    zone = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?"
    blank = r"[ \t\r\n]*"
    return f"^{blank}{date_pattern()}[T ]{clock}{zone}{blank}$"


TIME_PATTERN = _request_time_pattern()
"""A regular expression for the request times parse_time accepts: a string it matches is read
(unless its offset carries it out of the years 1970 to 9998, which TimeOutOfRange reports), a
string it does not match is refused as malformed."""


class TimeFormatError(ValueError):
    """A text that is not a time slotbook understands; the message says what to send instead."""


class TimeOutOfRange(TimeFormatError):
    """A well-formed time that its offset carries outside the years slotbook handles."""


def parse_time(text: str) -> float:
    """Read a request time as UTC epoch seconds.

    >>> parse_time("2030-01-02 03:04:05")
    1893553445.0
    >>> parse_time("2030-01-02T05:04:05+02:00")
    1893553445.0
    """
    candidate = text.strip(_BLANK)
    shape = _ACCEPTED.fullmatch(candidate)
    if not shape:
        if _PLUS_AS_SPACE.fullmatch(candidate):
            raise TimeFormatError(
                f"'{text}' has a space where its offset's '+' should be: a '+' in a URL's query"
                " string means a space, so write it as %2B"
            )
        raise TimeFormatError(
            f"'{text}' is not a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an offset,"
            " e.g. '2030-08-30 12:00:00' or '2030-08-30T14:00:00+02:00'"
        )
    if shape["hours"] is not None and (int(shape["hours"]) > 23 or int(shape["minutes"]) > 59):
        # datetime.fromisoformat would carry the excess over (+05:60 read as +06:00).
        raise TimeFormatError(
            f"'{text}' has an offset that is not a real one: its hours must be 00-23 and its"
            " minutes 00-59, e.g. '+05:30'"
        )
    if candidate[-1] in "zZ":
        candidate = candidate[:-1] + "+00:00"
    # Python 3.11's fromisoformat takes at most 6 fractional digits.
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError as error:
        raise TimeFormatError(f"'{text}' is not a real date and time: {error}") from None
    outside = f"'{text}' is outside the years 1970 to 9998 that slotbook handles"
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise TimeFormatError(outside)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    epoch = moment.timestamp()
    if not EARLIEST <= epoch < LATEST:
        raise TimeOutOfRange(outside)
    return epoch


def format_time(epoch: float) -> str:
    """Write epoch seconds as the wire's `YYYY-MM-DD HH:MM:SS` in UTC (fractions dropped)."""
    return _format_whole_second(int(epoch // 1))


def format_moment(epoch: float | None) -> str | None:
    """`format_time` of a moment that may not have come yet (None stays None): when something
    was last done, revoked or sent."""
    return None if epoch is None else format_time(epoch)


@lru_cache(maxsize=1 << 16)
def _format_whole_second(epoch: int) -> str:
    # Slot starts repeat across requests: formatting each once is a measurable saving.
    return datetime.fromtimestamp(epoch, UTC).strftime(WIRE_FORMAT)


def to_datetime(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)
