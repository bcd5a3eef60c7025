"""The Store protocol: every method is one whole business operation, atomic on its own.

No caller reads and then writes across two calls; a second store (PostgreSQL) implements the same
protocol and passes the same contract tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from backend.booking import SlotRow


class OpenSlotsCursor(NamedTuple):
    """Where a page of open slots ended: the last slot's (start, providerId)."""

    start: int
    provider_id: str


@dataclass(frozen=True)
class SubmitResult:
    created: int
    slots: list[SlotRow]


@dataclass(frozen=True)
class RemoveResult:
    deleted: int
    kept: list[SlotRow]


@dataclass(frozen=True)
class ReserveResult:
    slot: SlotRow
    repeated: bool
    """True when the client already held this slot: nothing changed."""


@dataclass(frozen=True)
class ConfirmResult:
    slot: SlotRow
    repeated: bool
    """True when the booking had already been confirmed: nothing changed."""


@dataclass(frozen=True)
class CancelResult:
    slot: SlotRow
    former_client_id: str | None


@dataclass(frozen=True)
class ProviderSummary:
    provider_id: str
    name: str | None
    next_available: int | None


class Store(Protocol):
    """Atomic booking operations over some database. Times are epoch seconds."""

    async def submit_availability(
        self, provider_id: str, start: int, end: int, now: float
    ) -> SubmitResult: ...

    async def remove_availability(
        self, provider_id: str, start: int, end: int, now: float
    ) -> RemoveResult: ...

    async def list_open(
        self,
        start: float,
        end: float,
        provider_id: str | None,
        after: OpenSlotsCursor | None,
        limit: int,
        now: float,
    ) -> list[SlotRow]: ...

    async def reserve(
        self, slot_id: str, time_slot: float, client_id: str, now: float
    ) -> ReserveResult: ...

    async def confirm(
        self, slot_id: str, time_slot: float, client_id: str | None, now: float
    ) -> ConfirmResult: ...

    async def cancel(
        self,
        slot_id: str,
        client_id: str | None,
        provider_id: str | None,
        now: float,
        *,
        admin: bool = False,
    ) -> CancelResult: ...

    async def provider_slots(self, provider_id: str, start: float, end: float) -> list[SlotRow]: ...

    async def client_reservations(self, client_id: str, now: float) -> list[SlotRow]: ...

    async def providers(self, now: float) -> list[ProviderSummary]: ...

    async def expire_lapsed(self, now: float) -> int: ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...
