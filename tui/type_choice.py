"""The appointment type a client books with: what each provider offers, the one chosen, and the
starts of the week in view where it fits, as the server lists them (GET /availability with
serviceId: its length, buffers, notice, booking window and daily limit). The client's week keeps
them current from the change feed (tui/screens/client.py). No Textual here, as in tui/sync.py.

Also the words a client reads of a type (`label`, `terms`) and of the server's refusal to hold one
(`refusal`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.grid import describe_length
from shared.service_wire import Service
from tui.errors import ApiError
from tui.session import Session
from tui.sync import Window, start_of
from tui.words import counted

TYPE_REFUSALS = frozenset(
    {"daily-limit-reached", "too-far-ahead", "notice-too-short", "slot-taken"}
)
"""The problems a hold of a type can meet that `refusal` puts in words."""

_BUFFER = re.compile(r"the provider keeps (?P<length>.+?) clear")
"""How the server names a buffer in the way (backend/rules/service_types.py)."""


@dataclass(frozen=True)
class Fitting:
    """Where one type fits in one window: the starts the server listed."""

    service_id: str
    window: Window
    starts: frozenset[int]


class TypeChoice:
    """The types of the providers the client has looked at, and the one chosen (None: any length,
    set with + and -)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.offered: dict[str, list[Service]] = {}
        """Each provider's types, as last loaded."""
        self.chosen: Service | None = None
        self.fitting: Fitting | None = None

    def offers(self, provider_id: str | None) -> list[Service]:
        return self.offered.get(provider_id or "", [])

    async def load(self, provider_id: str) -> list[Service]:
        """The provider's types, fresh from the server. The type chosen, if it is theirs, is
        kept as it is now (renamed, say), or dropped when it is no longer offered."""
        services = await self.session.client.services(provider_id)
        self.offered[provider_id] = services
        chosen = self.chosen
        if chosen is not None and chosen.provider_id == provider_id:
            self.chosen = next((s for s in services if s.service_id == chosen.service_id), None)
            if self.chosen is None:
                self.fitting = None
        return services

    def choose(self, service: Service | None, fitting: Fitting | None = None) -> None:
        self.chosen = service
        self.fitting = fitting

    async def where_it_fits(self, service: Service, window: Window) -> Fitting:
        """The starts in `window` from which an appointment of this type could be held now."""
        found = await self.session.client.open_slots(
            window.start, window.end, service.provider_id, service_id=service.service_id
        )
        return Fitting(service.service_id, window, frozenset(start_of(s) for s in found))

    def keep(self, fitting: Fitting, window: Window) -> bool:
        """Take what was found, if it is still for the type chosen and the window shown."""
        chosen = self.chosen
        if chosen is None or fitting.service_id != chosen.service_id or fitting.window != window:
            return False
        self.fitting = fitting
        return True

    def fits(self, start: int, window: Window) -> bool:
        """Did the server list this start for the type chosen, and is it still far enough ahead
        and not too far?"""
        service, fitting = self.chosen, self.fitting
        if service is None or fitting is None or fitting.service_id != service.service_id:
            return False
        if fitting.window != window or start not in fitting.starts:
            return False
        return not self.too_soon(start) and not self.too_far(start)

    def too_soon(self, start: float) -> bool:
        """Inside the chosen type's notice period?"""
        service = self.chosen
        return service is not None and start <= self.session.now() + service.notice_minutes * 60

    def too_far(self, start: float) -> bool:
        """Beyond how far ahead the chosen type may be booked?"""
        service = self.chosen
        if service is None or service.max_advance_days is None:
            return False
        return start > self.session.now() + service.max_advance_days * 86_400

    # --- words -----------------------------------------------------------------------------------

    def refusal(self, error: ApiError, start: int, provider: str) -> str | None:
        """The server's refusal to hold the type chosen from `start`, in a client's words; None
        for a problem that is not about the type (the caller says those as it always has)."""
        service = self.chosen
        if service is None or error.slug not in TYPE_REFUSALS:
            return None
        name, when = service.name, self.session.when
        if error.slug == "daily-limit-reached":
            limit = service.daily_limit or 0
            return (
                f"{when(start, '%a %d %b')} is full for {name}: {provider} takes at most {limit}"
                " a day. Pick another day (n finds the next start where it fits)."
            )
        if error.slug == "too-far-ahead":
            days = service.max_advance_days or 0
            latest = when(self.session.now() + days * 86_400)
            return (
                f"{name} can be booked at most {counted(days, 'day')} ahead: the latest start now"
                f" is {latest}. Pick an earlier one (n finds the next)."
            )
        if error.slug == "notice-too-short":
            notice = service.notice_minutes * 60
            earliest = when(self.session.now() + notice)
            return (
                f"Too soon for {name}: it needs {notice_words(notice)}. The earliest you can book"
                f" it now is after {earliest} (n finds the next start)."
            )
        buffer = _BUFFER.search(error.detail)
        at = when(start, "%H:%M")
        if buffer is not None:
            return (
                f"{provider} keeps {buffer['length']} clear between appointments, and another one"
                f" is too close: {name} cannot start at {at} any more. Pick another start (n finds"
                " the next one)."
            )
        return f"{name} from {at} is not free any more. Pick another start (n finds the next one)."


def label(service: Service) -> str:
    """'Follow-up, 30 min'."""
    return f"{service.name}, {service.minutes} min"


def notice_words(seconds: float) -> str:
    """'24 hours' notice', '1 hour's notice'."""
    length = describe_length(seconds)
    return f"{length}' notice" if length.endswith("s") else f"{length}'s notice"


def terms(service: Service) -> str:
    """When a client may book it, in short: 'book 24 hours to 28 days ahead · at most 6 a day'."""
    notice = describe_length(service.notice_minutes * 60) if service.notice_minutes else ""
    days = service.max_advance_days
    ahead = counted(days, "day") if days is not None else ""
    parts = []
    if notice and ahead:
        parts.append(f"book {notice} to {ahead} ahead")
    elif notice:
        parts.append(f"book at least {notice} ahead")
    elif ahead:
        parts.append(f"book up to {ahead} ahead")
    if service.daily_limit is not None:
        parts.append(f"at most {service.daily_limit} a day")
    return " · ".join(parts)
