"""What in a provider's calendar counts as busy: iCalendar documents (an iCalendar address gives
one, a CalDAV REPORT one per event resource) turned into the busy intervals of a window. Free of I/O
and of the clock: the fetchers hand the documents in, the store keeps what comes out.

Busy:
- every instance within the window of each VEVENT: RRULE, RDATE and EXDATE, and RECURRENCE-ID
  overrides, a moved instance at its new time (the expansion is `recurring-ical-events`'s);
- each time in its event's own zone (TZID, defined by a VTIMEZONE or known by name), exact across
  daylight-saving changes; a floating time (no zone, or a zone named nowhere) in the calendar's
  X-WR-TIMEZONE where it has one, else in the provider's zone;
- an event without DTEND lasts its DURATION, else as RFC 5545 says: a DATE start one day, a
  DATE-TIME start no time at all (so it is not busy);
- all-day events (DATE values) for their whole local days in that same zone, or not at all, as the
  source says;
- each FREEBUSY period of a VFREEBUSY (what a CalDAV free-busy query answers) but those of
  FBTYPE=FREE (RFC 5545 reads a type it does not know as BUSY).

Not busy: TRANSP:TRANSPARENT and STATUS:CANCELLED events (a cancelled instance of a series too), the
events slotbook wrote itself (a UID ending in "@slotbook", as its calendar feeds, e-mail invitations
and write-back give them), VTODO and VJOURNAL.

A calendar that cannot be read is refused whole, with a message that says what and where in words
(the source keeps its last good busy times and shows the message): better no new busy times than
some quietly missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component, Event, vPeriod

from shared.weeks import local_midnight
from shared.zones import is_zone_name, zone_hint

MAX_PIECE = 86_400
"""Seconds: no interval handed out is longer (longer ones are split at this length), so that a
store finds every interval over an instant among those starting less than a day before it."""

AllDay = Literal["busy", "ignore"]

_MARGIN = timedelta(days=2)
"""How much wider than the window the expansion is asked for: the library compares floating and
all-day times with the window as if they were UTC, which they are within a day of."""

_FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_READ = frozenset(
    {
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "RECURRENCE-ID",
        "STATUS",
        "TRANSP",
        "UID",
        "FREEBUSY",
    }
)
"""The properties whose values decide busy times: only a broken one of these refuses a calendar."""

_TIMED = {"VEVENT": "event", "VFREEBUSY": "free/busy block"}
"""The components busy times are read from, with what a message calls them."""

_EXPANSION_ERRORS = (ValueError, KeyError, TypeError, OverflowError)
"""What the expansion of a calendar's events raises on one it cannot read."""

_PHYSICAL_LINE = re.compile(r"\r\n|\n|\r")
_CONTENT_LINE = re.compile(r"([A-Za-z0-9-]+)[;:]")


@dataclass(frozen=True)
class BusyInterval:
    start: int
    """Epoch seconds, UTC."""
    ends: int
    """Epoch seconds, exclusive."""


@dataclass(frozen=True)
class BusyTimes:
    intervals: list[BusyInterval]
    """Merged (overlapping or touching ones joined), clipped to the window, sorted, then split into
    pieces of at most MAX_PIECE."""
    events: int
    """How many event instances (and free/busy periods) counted as busy within the window, before
    merging: what the source's status reports."""


class CalendarUnreadable(ValueError):
    """The calendar cannot be read; the message says what is wrong and where, in words."""


def busy_times(
    calendars: Sequence[bytes],
    *,
    window_start: int,
    window_end: int,
    provider_zone: str,
    all_day: AllDay,
    own_uid_domain: str = "slotbook",
) -> BusyTimes:
    """The busy times of `calendars` (iCalendar documents) within [window_start, window_end)."""
    reading = _Reading(
        window_start=window_start,
        window_end=window_end,
        zone=ZoneInfo(provider_zone),
        all_day=all_day,
        own_suffix="@" + own_uid_domain.casefold(),
    )
    spans: list[tuple[int, int]] = []
    for number, document in enumerate(calendars, 1):
        try:
            spans.extend(reading.spans(document))
        except CalendarUnreadable as unreadable:
            if len(calendars) == 1:
                raise
            where = f"calendar object {number} of {len(calendars)}"
            raise CalendarUnreadable(f"{where}: {unreadable}") from None
    return BusyTimes(intervals=list(_pieces(_merged(spans))), events=len(spans))


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, ends in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((start, ends))
    return merged


def _pieces(spans: Iterable[tuple[int, int]]) -> Iterator[BusyInterval]:
    for start, ends in spans:
        for piece in range(start, ends, MAX_PIECE):
            yield BusyInterval(piece, min(piece + MAX_PIECE, ends))


@dataclass(frozen=True)
class _Reading:
    """What one call reads every document with."""

    window_start: int
    window_end: int
    zone: ZoneInfo
    all_day: AllDay
    own_suffix: str

    def spans(self, document: bytes) -> list[tuple[int, int]]:
        """The busy spans of one document within the window, one an event instance or period."""
        scan = _scan(document.decode("utf-8", errors="replace").removeprefix("\ufeff"))
        try:
            parsed: list[Calendar] = Calendar.from_ical("\r\n".join(scan.kept), multiple=True)
        except ValueError as error:
            raise scan.located(error) from None
        spans: list[tuple[int, int]] = []
        blocks = iter(scan.events)
        for calendar in parsed:
            scan.refuse_broken(calendar)
            zone = self._floating_zone(calendar, scan)
            events = [(event, next(blocks, None)) for event in calendar.walk("VEVENT")]
            spans += self._event_spans(calendar, zone, events)
            spans += self._free_busy_spans(calendar, zone)
        return spans

    def _floating_zone(self, calendar: Calendar, scan: _Scan) -> ZoneInfo:
        named = calendar.get("X-WR-TIMEZONE")
        if named is None:
            return self.zone
        if not is_zone_name(str(named)):
            line = next((line for line in scan.lines if line.name == "X-WR-TIMEZONE"), None)
            where = f"line {line.number}: " if line else ""
            raise CalendarUnreadable(
                f'{where}X-WR-TIMEZONE "{_cut(str(named))}" is not the time zone of a place;'
                f" {zone_hint(str(named))}"
            )
        return ZoneInfo(str(named))

    def _event_spans(
        self, calendar: Calendar, zone: ZoneInfo, events: list[tuple[Component, _Block | None]]
    ) -> Iterator[tuple[int, int]]:
        try:
            instances = self._instances(calendar)
        except _EXPANSION_ERRORS as error:
            raise self._failing_event(calendar, events, error) from None
        for event in instances:
            if not isinstance(event, Event) or not self._counts(event):
                continue
            if not isinstance(event.start, datetime) and self.all_day == "ignore":
                continue
            span = self._clipped(_epoch(event.start, zone), _epoch(event.end, zone))
            if span is not None:
                yield span

    def _instances(self, calendar: Calendar) -> list[Component]:
        """Every instance of the calendar's events that may touch the window."""
        after = datetime.fromtimestamp(self.window_start, UTC) - _MARGIN
        before = datetime.fromtimestamp(self.window_end, UTC) + _MARGIN
        instances: list[Component] = recurring_ical_events.of(
            calendar, components=("VEVENT",)
        ).between(after, before)
        return instances

    def _failing_event(
        self,
        calendar: Calendar,
        events: list[tuple[Component, _Block | None]],
        error: Exception,
    ) -> CalendarUnreadable:
        """The first event whose instances cannot be worked out alone, and why."""
        for event, block in events:
            alone = Calendar()
            alone.add_component(event)  # its times already carry their zones
            try:
                self._instances(alone)
            except _EXPANSION_ERRORS as own:
                if block is None:
                    break
                return CalendarUnreadable(
                    f"line {block.line}: the times of the event{block.title()} that begins here"
                    f" cannot be worked out: {_why(own)}"
                )
        return CalendarUnreadable(
            f"the times of the calendar's events cannot be worked out: {_why(error)}"
        )

    def _counts(self, event: Component) -> bool:
        if str(event.get("UID", "")).casefold().endswith(self.own_suffix):
            return False
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            return False
        return str(event.get("STATUS", "")).upper() != "CANCELLED"

    def _free_busy_spans(self, calendar: Calendar, zone: ZoneInfo) -> Iterator[tuple[int, int]]:
        for block in calendar.walk("VFREEBUSY"):
            periods = block.get("FREEBUSY", [])
            for period in periods if isinstance(periods, list) else [periods]:
                if not isinstance(period, vPeriod):
                    continue
                if str(period.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                    continue
                span = self._clipped(_epoch(period.start, zone), _epoch(period.end, zone))
                if span is not None:
                    yield span

    def _clipped(self, start: int, ends: int) -> tuple[int, int] | None:
        start, ends = max(start, self.window_start), min(ends, self.window_end)
        return (start, ends) if start < ends else None


def _epoch(moment: date | datetime, zone: ZoneInfo) -> int:
    """Epoch seconds of a time as the calendar gave it: a DATE is its midnight in `zone`, and so is
    a floating DATE-TIME read."""
    if not isinstance(moment, datetime):
        return local_midnight(moment, zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp())


# The scan: every line read once before the parser, for what it would pass over quietly and for
# line numbers in words; and what the parser needs of the document, the rest left out.

_KEPT_COMPONENTS = {
    None: {"VCALENDAR"},
    "VCALENDAR": {"VEVENT", "VFREEBUSY", "VTIMEZONE"},
    "VTIMEZONE": {"STANDARD", "DAYLIGHT"},
}
"""Which components the parser is given, under which: an event's alarms, to-dos and journal
entries never make a calendar busy."""

_ZONE_PARTS = frozenset({"VTIMEZONE", "STANDARD", "DAYLIGHT"})

_MOST_A_DAY = 96
"""An RRULE that may repeat more often than every quarter of an hour is refused: no calendar
program makes one, and following one over years would take the server minutes."""


@dataclass
class _Block:
    """A component as the lines begin and end it."""

    name: str
    line: int
    kept: bool
    summary: str | None = None
    starts: bool = False

    def title(self) -> str:
        return f' "{_cut(_unescaped(self.summary), 40)}"' if self.summary else ""

    def described(self) -> str:
        kind = _TIMED.get(self.name)
        return f" (in the {kind}{self.title()} that begins on line {self.line})" if kind else ""

    def keeps(self, name: str) -> bool:
        """Whether the parser is given this property of the component."""
        if not self.kept:
            return False
        if self.name in _TIMED:
            return name in _READ
        return self.name in _ZONE_PARTS or name == "X-WR-TIMEZONE"


@dataclass(frozen=True)
class _Line:
    """A content line the parser is given, unfolded, with the number of its first line."""

    number: int
    text: str
    name: str
    block: _Block


@dataclass
class _Scan:
    """A document's lines as the scan found them."""

    lines: list[_Line] = field(default_factory=list)
    """The property lines the parser is given."""
    events: list[_Block] = field(default_factory=list)
    """The document's events, in the order they begin (the parser's order)."""
    kept: list[str] = field(default_factory=list)
    """What the parser is given."""

    def refuse_broken(self, calendar: Calendar) -> None:
        """Refuses the calendar if the parser passed over a line, or a value busy times read."""
        for component in calendar.walk():
            for name, message in component.errors:
                if name is None or (component.name in _TIMED and name.upper() in _READ):
                    raise self.located(ValueError(message))

    def located(self, error: BaseException) -> CalendarUnreadable:
        """What is wrong, at the first line that shows it, else in the parser's words."""
        for line in self.lines:
            for name, problem in _problems(line.block.name, line.text):
                if name is None:
                    return CalendarUnreadable(
                        f'line {line.number} is not iCalendar: "{_cut(line.text)}"'
                    )
                if line.block.name in _TIMED and name.upper() in _READ:
                    return CalendarUnreadable(
                        f'line {line.number}: {name.upper()} "{_cut(_value(line.text))}" cannot'
                        f" be read ({problem}){line.block.described()}"
                    )
        return CalendarUnreadable(f"the calendar cannot be read: {_cut(str(error), 200)}")


def _scan(text: str) -> _Scan:
    """The document read line by line; refuses one that is not iCalendar, whose components do not
    nest, an event without a start, or an RRULE the parser would pass over or should not follow."""
    scan = _Scan()
    stack: list[_Block] = []
    for number, line in _unfolded(text):
        found = _CONTENT_LINE.match(line)
        if found is None or ":" not in line or (not stack and found[1].upper() != "BEGIN"):
            hint = "" if stack else " (a calendar begins with BEGIN:VCALENDAR)"
            raise CalendarUnreadable(f'line {number} is not iCalendar: "{_cut(line)}"{hint}')
        name = found[1].upper()
        if name == "BEGIN":
            block = _begun(stack, _value(line).strip().upper(), number, line)
            stack.append(block)
            if block.kept and block.name == "VEVENT":
                scan.events.append(block)
            kept = block.kept
        elif name == "END":
            kept = _closed(stack, _value(line).strip().upper(), number).kept
        else:
            _note(stack[-1], name, line, number)
            kept = stack[-1].keeps(name)
            if kept:
                scan.lines.append(_Line(number, line, name, stack[-1]))
        if kept:
            scan.kept.append(line)
    if stack:
        raise CalendarUnreadable(
            f"the calendar ends before the {stack[-1].name} that begins on line {stack[-1].line}"
            f" is closed (END:{stack[-1].name} is missing)"
        )
    if not scan.kept:
        raise CalendarUnreadable("the calendar is empty: it has not even a BEGIN:VCALENDAR line")
    return scan


def _unfolded(text: str) -> Iterator[tuple[int, str]]:
    """Content lines with the number of each one's first line: a line that begins with a space or a
    tab continues the one before (RFC 5545 folding); empty lines are passed over."""
    pending: tuple[int, list[str]] | None = None
    for index, line in enumerate(_PHYSICAL_LINE.split(text), 1):
        if line[:1] in (" ", "\t") and pending is not None:
            pending[1].append(line[1:])
            continue
        if pending is not None:
            yield pending[0], "".join(pending[1])
            pending = None
        if line:
            pending = (index, [line])
    if pending is not None:
        yield pending[0], "".join(pending[1])


def _begun(stack: list[_Block], kind: str, number: int, line: str) -> _Block:
    parent = stack[-1] if stack else None
    if parent is None and kind != "VCALENDAR":
        raise CalendarUnreadable(
            f'line {number} is not iCalendar: "{_cut(line)}"'
            " (a calendar begins with BEGIN:VCALENDAR)"
        )
    kept = (parent is None or parent.kept) and kind in _KEPT_COMPONENTS.get(
        parent.name if parent else None, set()
    )
    return _Block(kind, number, kept)


def _closed(stack: list[_Block], kind: str, number: int) -> _Block:
    if not stack or stack[-1].name != kind:
        still = f", but the {stack[-1].name} that begins on line {stack[-1].line} is still open"
        raise CalendarUnreadable(f"line {number} ends a {kind}{still if stack else ''}")
    block = stack.pop()
    if block.name == "VEVENT" and not block.starts:
        raise CalendarUnreadable(
            f"line {block.line}: the event{block.title()} that begins here has no DTSTART,"
            " so when it happens cannot be known"
        )
    return block


def _note(block: _Block, name: str, line: str, number: int) -> None:
    """What the scan keeps of a property: the event's title and whether it starts; and refuses an
    RRULE the parser would pass over quietly (no FREQ) or follow with a wrong message, or one that
    repeats too often to follow."""
    if name == "DTSTART":
        block.starts = True
    elif name == "SUMMARY":
        block.summary = _value(line)
    elif name == "RRULE" and block.name == "VEVENT":
        rule = _value(line)
        said = _rule_problem(dict(part.partition("=")[::2] for part in rule.upper().split(";")))
        if said is not None:
            raise CalendarUnreadable(
                f'line {number}: the RRULE "{_cut(rule)}" {said}{block.described()}'
            )


def _rule_problem(parts: dict[str, str]) -> str | None:
    frequency = parts.get("FREQ")
    if frequency not in _FREQUENCIES:
        said = f'"{_cut(frequency, 20)}" is no FREQ' if frequency else "it has no FREQ"
        return f"cannot be read: {said} (one of {', '.join(_FREQUENCIES)})"
    for counted in ("INTERVAL", "COUNT"):
        given = parts.get(counted)
        if given is not None and not (given.isdigit() and int(given) > 0):
            return f"cannot be read: its {counted} must be a whole number above 0"
    a_day = {"SECONDLY": 86_400, "MINUTELY": 1440, "HOURLY": 24}.get(frequency, 1)
    a_day = max(1, a_day // int(parts.get("INTERVAL", "1")))
    for expanding in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if expanding in parts:
            a_day *= len(parts[expanding].split(","))
    if a_day > _MOST_A_DAY:
        return "repeats more often than every quarter of an hour, which slotbook does not follow"
    return None


def _value(line: str) -> str:
    """A content line's value: all after the first colon outside a quoted parameter."""
    quoted = False
    for index, character in enumerate(line):
        if character == '"':
            quoted = not quoted
        elif character == ":" and not quoted:
            return line[index + 1 :]
    return ""


def _problems(kind: str, line: str) -> list[tuple[str | None, str]]:
    """What the parser finds wrong with this one line in a `kind` component: the property each
    complaint is about (None: the line is not a property at all), and the complaint."""
    try:
        alone = Component.from_ical(f"BEGIN:{kind}\r\n{line}\r\nEND:{kind}\r\n")
    except ValueError as error:
        found = _CONTENT_LINE.match(line)
        return [(found[1] if found else None, str(error))]
    return list(alone.errors)


def _why(error: Exception) -> str:
    if isinstance(error, recurring_ical_events.BadRuleStringFormat):
        return f'its RRULE "{_cut(error.rule)}" cannot be followed'
    return _cut(str(error), 200)


def _unescaped(text: str | None) -> str:
    return re.sub(r"\\([\\;,nN])", lambda found: " " if found[1] in "nN" else found[1], text or "")


def _cut(text: str | None, most: int = 60) -> str:
    text = text or ""
    return text if len(text) <= most else text[: most - 1] + "…"
