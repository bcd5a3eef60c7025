"""An appointment as a page shows it to its client: with whom, what, when in their zone, how
long, for whom (the manage link's page and the confirmation link's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from backend.live.mail.letters import when_in_words
from backend.pages.week_starts import length_in_words


class Appointment(Protocol):
    """What a stored appointment a link opens carries (ManagedAppointment, HoldLink)."""

    @property
    def provider_id(self) -> str: ...
    @property
    def provider_name(self) -> str | None: ...
    @property
    def client_name(self) -> str | None: ...
    @property
    def type_name(self) -> str | None: ...
    @property
    def start(self) -> int: ...
    @property
    def ends(self) -> int: ...
    @property
    def zone(self) -> str: ...


@dataclass(frozen=True)
class Shown:
    provider: str
    type_name: str | None
    when: str
    length: str
    client: str | None
    note: str | None = None


def shown(found: Appointment, *, note: str | None = None) -> Shown:
    return Shown(
        provider=found.provider_name or found.provider_id,
        type_name=found.type_name,
        when=when_in_words(found.start, found.ends, found.zone),
        length=length_in_words(found.ends - found.start),
        client=found.client_name,
        note=note,
    )
