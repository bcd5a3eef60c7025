"""What an id or a name may be made of, as regular expressions the API spec publishes.

Each pattern is written in the dialect that Python's `re` (which msgspec checks with), JSON
Schema's ECMA-262 and the Rust regex engines share: `\\uXXXX` escapes for the Basic Multilingual
Plane, the characters themselves beyond it.

Two things are refused beyond control characters:
- invisible and direction-changing characters (Unicode's format characters, such as U+202E RIGHT-
  TO-LEFT OVERRIDE or U+200B ZERO WIDTH SPACE, and the few letters that draw nothing): in a list
  of providers they would let one name pass for another;
- in ids only, what a URL path segment cannot carry to the router: braces (aiohttp's routes match
  no `{` or `}` in a segment) and the segments `.` and `..` (which clients remove from a path).
"""

from __future__ import annotations

import sys
import unicodedata

from shared.timefmt import date_pattern

END = r"$(?!\n)"
"""The end of the text, in both dialects these patterns are read in: Python's `$` (msgspec
checks patterns with Python's `re`) also matches before a final newline; JSON Schema's does not."""

BLANK_OR_CONTROL = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
r"""Control characters and every space, spelled out: `\s` means one set of spaces in Python and
another in JSON Schema."""

CONTROL = r"\x00-\x1f\x7f-\x9f"

_DRAW_NOTHING: tuple[int, ...] = (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D)
_DRAW_NOTHING += (0x180F, 0x2800, 0x3164, 0xFFA0)
"""Letters and marks that are not format characters but draw nothing: a combining grapheme joiner,
the Hangul fillers, Khmer's inherent vowels, Mongolian variation selectors, the blank braille
pattern."""


def _escaped(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _as_class_body(codes: list[int]) -> str:
    """Code points as the body of a character class, runs written as ranges."""
    parts: list[str] = []
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code == previous + 1:
            previous = code
            continue
        parts.append(
            _escaped(start) if start == previous else f"{_escaped(start)}-{_escaped(previous)}"
        )
        start = previous = code
    return "".join(parts)


def _invisible_codes() -> list[int]:
    formats = (c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    return sorted({*formats, *_DRAW_NOTHING})


INVISIBLE = _as_class_body(_invisible_codes())
"""Every format character (Unicode category Cf) and the letters that draw nothing."""

_EDGE = f"{BLANK_OR_CONTROL}{INVISIBLE}"
_MIDDLE = f"{CONTROL}{INVISIBLE}"

TEXT_PATTERN = rf"^[^{_EDGE}](?:[^{_MIDDLE}]*[^{_EDGE}])?{END}"
"""A name people read: visible characters, spaces only inside, nothing invisible."""

NOTE_PATTERN = rf"^(?:[^{_EDGE}](?:[^{_MIDDLE}]*[^{_EDGE}])?)?{END}"
"""A note on an appointment: as a name, or empty (no note)."""

ID_PATTERN = rf"^(?!\.\.?{END})[^{_EDGE}\{{\}}](?:[^{_MIDDLE}\{{\}}]*[^{_EDGE}\{{\}}])?{END}"
"""An id: as a name, and also usable as a path segment (no braces, not `.` or `..`)."""

URL_PATTERN = rf"^[^{_EDGE}]+{END}"
"""A URL: no space, control, invisible or direction-changing character anywhere (a URL carries
such characters percent-encoded)."""

WEBSITE_PATTERN = rf"^(?:https?://[^{_EDGE}/?#][^{_EDGE}]*)?{END}"
"""A website's address, or nothing: `http://` or `https://`, a host, and no space, control,
invisible or direction-changing character anywhere."""

CURSOR_PATTERN = rf"^[0-9]{{1,15}}:{ID_PATTERN.removeprefix('^')}"
"""A page's position: the start (epoch seconds) and the providerId of the last slot it gave."""

ID_RULE = (
    "visible characters: no space at either end, no braces, not '.' or '..', and no control,"
    " invisible or direction-changing characters"
)
"""ID_PATTERN in words, for error messages."""

TEXT_RULE = (
    "visible characters: no space at either end, and no control, invisible or direction-changing"
    " characters"
)
"""TEXT_PATTERN in words, for error messages."""

URL_RULE = (
    "characters with no space and no control, invisible or direction-changing character"
    " (percent-encode any such character in a path or query)"
)
"""URL_PATTERN in words, for error messages."""

WEBSITE_RULE = (
    "an http:// or https:// address with a host, such as https://example.com, with no space and"
    " no control, invisible or direction-changing character"
)
"""WEBSITE_PATTERN in words, for error messages."""

CLOCK_PATTERN = rf"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00){END}"
"""A local time of day, 'HH:MM'; '24:00' is midnight at the day's end."""

DATE_PATTERN = rf"^{date_pattern()}{END}"
"""A real calendar date of the years 1970 to 9998, 'YYYY-MM-DD'."""
