"""The week as the terminal app draws it: days across, local wall-clock slot rows down.

Rows are the wall-clock times that occur in the week, in order. On the day clocks spring forward an
hour of rows has no slot (a 23-hour day); on the day they fall back the repeated hour gets rows of
its own, marked as the second pass (a 25-hour day). Every cell maps to one UTC slot start, or to
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.grid import align_up


@dataclass(frozen=True, order=True)
class Row:
    """One row of the grid: a local wall-clock time, `fold` 1 for the repeated hour."""

    minute_of_day: float
    fold: int

    @property
    def label(self) -> str:
        hours, minutes = divmod(int(self.minute_of_day), 60)
        seconds = round((self.minute_of_day - int(self.minute_of_day)) * 60)
        text = (
            f"{hours:02d}:{minutes:02d}"
            if not seconds
            else f"{hours:02d}:{minutes:02d}:{seconds:02d}"
        )
        return text + ("²" if self.fold else "")


@dataclass(frozen=True)
class WeekLayout:
    """A week in one time zone, cut into slot cells."""

    zone: ZoneInfo
    days: tuple[date, ...]
    rows: tuple[Row, ...]
    cells: tuple[tuple[int | None, ...], ...]
    """cells[row][day]: the UTC epoch start of that cell's slot, None where that time does not
    occur on that day."""

    def find(self, epoch: int) -> tuple[int, int] | None:
        """(row, day) of the cell holding this slot start, if it is in this week."""
        return self._index().get(epoch)

    def _index(self) -> dict[int, tuple[int, int]]:
        cached: dict[int, tuple[int, int]] | None = getattr(self, "_cached_index", None)
        if cached is None:
            cached = {
                start: (r, d)
                for r, row in enumerate(self.cells)
                for d, start in enumerate(row)
                if start is not None
            }
            object.__setattr__(self, "_cached_index", cached)
        return cached

    def _abbreviations(self) -> list[str]:
        names: list[str] = []
        for day in (self.days[0], self.days[-1]):
            name = datetime.combine(day, time(12), tzinfo=self.zone).tzname() or ""
            if name and name[0] not in "+-" and name not in names:
                names.append(name)
        return names

    @property
    def zone_abbreviation(self) -> str:
        """'CET', 'CET→CEST' in the week clocks change; the zone's name where it has no
        abbreviation ('America/Sao_Paulo')."""
        names = self._abbreviations()
        return "→".join(names) if names else str(self.zone)

    @property
    def zone_caption(self) -> str:
        """The zone as the week's caption names it: 'CET (Europe/Berlin)', 'CET → CEST
        (Europe/Berlin)' in the week clocks change, 'UTC'."""
        names, key = self._abbreviations(), str(self.zone)
        if not names or names == [key]:
            return key
        return f"{' → '.join(names)} ({key})"

    def month_label(self, *, short: bool = False) -> str:
        """'March 2030'; 'March – April 2030' or 'December 2030 – January 2031' across a turn;
        with `short`, 'Mar 2030', 'Mar – Apr 2030'."""
        first, last = self.days[0], self.days[-1]
        month = "%b" if short else "%B"
        if (first.year, first.month) == (last.year, last.month):
            return first.strftime(f"{month} %Y")
        if first.year == last.year:
            return f"{first.strftime(month)} – {last.strftime(f'{month} %Y')}"
        return f"{first.strftime(f'{month} %Y')} – {last.strftime(f'{month} %Y')}"

    @property
    def first_start(self) -> int:
        return min(s for row in self.cells for s in row if s is not None)

    @property
    def end(self) -> int:
        """The UTC epoch at which the week's last day ends."""
        return local_midnight(self.days[-1] + timedelta(days=1), self.zone)


def local_midnight(day: date, zone: ZoneInfo) -> int:
    """The UTC epoch of a day's start in a zone."""
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_slots(day: date, zone: ZoneInfo, slot_seconds: int) -> list[tuple[Row, int]]:
    """Every slot start of a local day, with the row it is drawn in."""
    start = align_up(local_midnight(day, zone), slot_seconds)
    end = local_midnight(day + timedelta(days=1), zone)
    found: list[tuple[Row, int]] = []
    for epoch in range(start, end, slot_seconds):
        local = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
        minute = local.hour * 60 + local.minute + local.second / 60
        found.append((Row(minute, local.fold), epoch))
    return found


def _in_clock_order(rows: set[Row]) -> tuple[Row, ...]:
    """Wall-clock order, with the repeated hour's second pass right after its first."""
    repeated = [r.minute_of_day for r in rows if r.fold]
    last_repeated = max(repeated, default=0.0)

    def key(row: Row) -> tuple[float, float]:
        if row.fold:
            return (last_repeated + 1e-6, row.minute_of_day)
        return (row.minute_of_day, 0.0)

    return tuple(sorted(rows, key=key))


def week_layout(first_day: date, zone: ZoneInfo, slot_seconds: int, days: int = 7) -> WeekLayout:
    """The layout of `days` days from `first_day` (usually a Monday)."""
    dates = tuple(first_day + timedelta(days=n) for n in range(days))
    per_day = [dict(day_slots(d, zone, slot_seconds)) for d in dates]
    rows = _in_clock_order({row for slots in per_day for row in slots})
    cells = tuple(tuple(slots.get(row) for slots in per_day) for row in rows)
    return WeekLayout(zone=zone, days=dates, rows=rows, cells=cells)
