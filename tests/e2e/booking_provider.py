"""A provider whose booking page is on, made through the API of a real server process, for what
uses the page in a real browser (tests/e2e/test_booking_page_browser.py and the README's picture,
tests/e2e/booking_screenshot.py): a public profile, two appointment types, and opening hours on
the coming weekdays in the provider's own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from shared.timefmt import format_time

PROFILE = {
    "about": "A family practice for adults and children, in the old town since 1998.",
    "address": "12 Rua das Flores, 1200-195 Lisbon",
    "phone": "+351 21 000 0000",
    "website": "https://dr-ada.example.org",
}
TYPES = (
    {"name": "Consultation", "minutes": 30, "description": "A question or a check-up"},
    {
        "name": "Long consultation",
        "minutes": 60,
        "description": "Time for something new, or for several things",
    },
)
HOURS = ((time(9), time(12)), (time(13), time(17)))
"""The provider's opening hours on a weekday, in their zone."""
DAYS = 10
"""How many days of opening hours, from tomorrow: more than a week of weekdays."""


def opening_hours(zone: str, now: float) -> list[tuple[int, int]]:
    """The windows of HOURS on each weekday of the DAYS from tomorrow (in `zone`), as UTC epoch
    seconds."""
    where = ZoneInfo(zone)
    tomorrow = datetime.fromtimestamp(now, UTC).astimezone(where).date() + timedelta(days=1)
    days = [tomorrow + timedelta(days=n) for n in range(DAYS)]
    return [
        (_epoch(day, opens, where), _epoch(day, closes, where))
        for day in days
        if day.weekday() < 5
        for opens, closes in HOURS
    ]


def _epoch(day: date, at: time, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, at, tzinfo=zone).timestamp())


def open_booking_page(
    http: httpx.Client, token: str, provider_id: str, zone: str, now: float
) -> list[tuple[int, int]]:
    """The provider (whose token this is) sets their zone and profile, offers TYPES, opens their
    hours, and turns their booking page on. Returns the windows opened."""
    as_provider = {"Authorization": f"Bearer {token}"}

    def ok(answer: httpx.Response) -> None:
        assert answer.status_code in (200, 201), answer.text

    ok(http.patch("/me", json={"timeZone": zone}, headers=as_provider))
    for offered in TYPES:
        ok(http.post(f"/providers/{provider_id}/services", json=offered, headers=as_provider))
    windows = opening_hours(zone, now)
    for start, end in windows:
        window = {"startTime": format_time(start), "endTime": format_time(end)}
        ok(http.post("/availability", json=window, headers=as_provider))
    turned = {"profile": PROFILE, "bookingPage": True}
    ok(http.patch(f"/providers/{provider_id}", json=turned, headers=as_provider))
    return windows
