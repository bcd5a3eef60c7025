"""What the week grid's two header lines say: the caption above the days, and each day's title.

A dated week names its month, its zone and its dates, and can mark dates (those that differ from a
provider's usual week); the usual week names weekdays and the schedule's zone. The grid asks its
headings for the caption's forms, longest first, and draws the first that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from rich.cells import cell_len

from shared.weeks import WeekLayout

DATE_MARK = "*"
"""After a date's title: the date is marked (ASCII, so it is one cell wide in every terminal)."""


class Headings(Protocol):
    """The words above the grid's columns."""

    def caption_forms(self, week: WeekLayout) -> list[str]:
        """The caption, in forms from the longest to the shortest."""
        ...

    def day_title(self, day: date, width: int) -> str:
        """A day's title for a column `width` cells wide (the title gets one fewer)."""
        ...


@dataclass(frozen=True)
class DatedHeadings:
    """A dated week: month, year and zone above; 'Tue 05 Mar' over each day; marked dates end in
    DATE_MARK, and the caption then says what the mark means (`note`)."""

    marked: frozenset[date] = field(default_factory=frozenset)
    note: str = ""

    def caption_forms(self, week: WeekLayout) -> list[str]:
        forms = [
            f" {week.month_label()}  ·  times in {week.zone_caption}",
            f" {week.month_label()} · {week.zone_caption}",
            f" {week.month_label(short=True)} · {week.zone_caption}",
            f" {week.month_label(short=True)} · {week.zone_abbreviation}",
            f" {week.zone_abbreviation}",
        ]
        if self.note and self.marked & set(week.days):
            legend = f"{DATE_MARK} {self.note}"
            forms = [f"{form}  ·  {legend}" for form in forms[1:4]] + forms
        return forms

    def day_title(self, day: date, width: int) -> str:
        title = dated_title(day, width)
        if day not in self.marked:
            return title
        # The grid centres titles: a leading space where the room left is even keeps a marked
        # title where it would stand unmarked, in line with the other days'.
        even = (width - cell_len(title)) % 2 == 0
        compact = title.replace(" ", "")
        forms = [f"{title}{DATE_MARK}", f"{compact}{DATE_MARK}"]
        if even:
            forms.insert(0, f" {title}{DATE_MARK}")
        for form in forms:
            if cell_len(form) < width:  # the grid keeps a column's last cell free
                return form
        return forms[-1]


@dataclass(frozen=True)
class WeekdayHeadings:
    """The usual week: weekdays over the columns, the schedule's zone in the caption."""

    zone: str

    def caption_forms(self, week: WeekLayout) -> list[str]:
        return [
            f" Your usual week, every week  ·  hours in {self.zone}  ·  z changes the zone",
            f" Your usual week  ·  hours in {self.zone}",
            f" Usual week · {self.zone}",
            f" {self.zone}",
        ]

    def day_title(self, day: date, width: int) -> str:
        return day.strftime("%A") if width >= 10 else day.strftime("%a")


def dated_title(day: date, width: int) -> str:
    """The day's title as wide as the column allows; the date's digits are never cut."""
    if width >= 12:
        return day.strftime("%a %d %b")
    if width >= 7:
        return day.strftime("%a %d")
    return day.strftime("%a")[:2] + day.strftime(" %d")
