"""What every screen needs to know: the API client, who we are, the rules, the zone and the time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.timefmt import parse_time
from shared.wire import Me, RulesInForce, TimeSlot
from tui.client import SlotbookClient
from tui.timezone import schedule_zone
from tui.words import hours

Clock = Callable[[], float]


@dataclass
class Session:
    client: SlotbookClient
    me: Me
    rules: RulesInForce
    zone: ZoneInfo
    clock: Clock
    server_label: str
    first_hour: int = 8
    zone_chosen: bool = False
    """The user named `zone` (--tz, SLOTBOOK_TZ, the config file): a schedule's zone does not
    replace it."""
    own_cancels: set[str] = field(default_factory=set)
    """Reservations this app cancelled: their `cancelled` changes are no news to its user."""

    @property
    def slot_seconds(self) -> int:
        return round(self.rules.slot_minutes * 60)

    @property
    def notice_seconds(self) -> float:
        return self.rules.notice_hours * 3600

    def follow_schedule(self, time_zone: str) -> bool:
        """Show times in the zone of the provider's schedule, unless the user chose the zone
        (the order is in tui/timezone.py); True when that changed the zone."""
        zone = schedule_zone(time_zone, chosen=self.zone_chosen)
        if zone is None or zone.key == self.zone.key:
            return False
        self.zone = zone
        return True

    def now(self) -> float:
        return self.clock()

    def upcoming_start(self) -> int:
        """The start of the first slot that has not begun: now's, when now is on its start,
        else the next one (the one now is in has begun: it is past)."""
        slot = self.slot_seconds
        return -(-int(self.now()) // slot) * slot

    def today(self) -> date:
        return self.local(self.now()).date()

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC).astimezone(self.zone)

    def when(self, epoch: float, pattern: str = "%a %d %b %H:%M") -> str:
        """A moment as the user reads it: in their zone."""
        return self.local(epoch).strftime(pattern)

    def when_text(self, wire_time: str, pattern: str = "%a %d %b %H:%M") -> str:
        return self.when(parse_time(wire_time), pattern)

    @property
    def notice_text(self) -> str:
        """'bookings need 24 hours' notice'."""
        return f"bookings need {hours(self.rules.notice_hours)}' notice"

    def bookable(self, start: float) -> bool:
        """Could a client still reserve a slot starting then?"""
        return start > self.now() + self.notice_seconds

    @property
    def who(self) -> str:
        return f"{self.me.name} ({self.me.role})"

    def cancelling(self, *slot_ids: str) -> None:
        """We are cancelling this reservation (these slots of it) ourselves: their `cancelled`
        changes are no news."""
        self.own_cancels.update(slot_ids)

    def span(self, start: float, minutes: float, pattern: str = "%a %d %b %H:%M") -> str:
        """An appointment's time as the user reads it: 'Tue 05 Mar 10:00-10:45' (its start in
        `pattern`, then when it ends); a single slot's, its start alone."""
        if minutes <= self.rules.slot_minutes:
            return self.when(start, pattern)
        return f"{self.when(start, pattern)}–{self.when(start + minutes * 60, '%H:%M')}"

    @property
    def longest_minutes(self) -> int:
        """The longest appointment the server takes, in minutes (at least one slot)."""
        return max(round(self.rules.slot_minutes), self.rules.max_appointment_minutes)


def client_label(slot: TimeSlot) -> str:
    """Who holds a slot, as a provider reads it: the client's name, else its id."""
    if isinstance(slot.client_name, str):
        return slot.client_name
    return slot.client_id if isinstance(slot.client_id, str) else "a client"


def countdown(seconds: float) -> str:
    """'29:41 left', '1:02:03 left', or 'lapsed'."""
    if seconds <= 0:
        return "lapsed"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}") + " left"
