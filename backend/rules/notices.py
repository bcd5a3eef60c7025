"""Who hears of a booked appointment's life by e-mail, and when: free of I/O.

A store asks this in the transaction of each write whose ledger write tells something
(backend/rules/calendar_ledger.py): the notices it plans are queued in that transaction, so a
change and the mail it causes commit together, and the mail sender (backend/live/mail/) delivers
them afterwards. The client hears of everything; the provider too, when they have an address. A
hold tells nobody but when it is a waitlist offer, which its client hears of (the provider sees
it in their calendar, as any hold). A booking also queues the client's reminders, each due its
offset before the start (those whose time has already passed are left out); a move or a cancel
drops the reminders still queued, and a move queues them again for the new time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from backend.rules.booking import SlotRow
from backend.rules.calendar_ledger import LedgerWrite, Tell

NoticeKind = Literal["confirmation", "update", "cancellation", "reminder", "hold", "offer"]
"""`hold`: the link that confirms a hold the booking page placed; `offer`: a hold made for the
next client in a waitlist's line, until when it is theirs and how to take it (both sent to the
client only)."""
PartyRole = Literal["client", "provider"]

NoticeStatus = Literal["queued", "sent", "failed"]
"""Queued (to be sent, or tried again), sent (the relay took it), failed (refused, or given up)."""


@dataclass(frozen=True)
class Addresses:
    """The e-mail addresses of the appointment's client and provider, None for one without."""

    client: str | None
    provider: str | None


@dataclass(frozen=True)
class Notice:
    """One message to queue: what it is, to whom, about which appointment as it stands."""

    kind: NoticeKind
    role: PartyRole
    party_id: str
    recipient: str
    uid: str
    """The invitation's UID: the appointment's for life, through every move."""
    sequence: int
    appointment_id: str
    provider_id: str
    client_id: str
    service_id: str | None
    start: int
    ends: int
    due_at: float
    reminder_before: int | None = None
    held_until: float | None = None
    """For a hold's link: when the hold lapses."""


@dataclass(frozen=True)
class Notices:
    """What one ledger write queues, and whether the reminders queued before for its invitation
    are dropped first."""

    queue: list[Notice]
    drop_reminders: bool


_TO_BOTH: dict[Tell, tuple[NoticeKind | None, NoticeKind | None]] = {
    # tell: (what the client gets, what the provider gets)
    "booked": ("confirmation", "confirmation"),
    "moved": ("update", "update"),
    "cancelled": ("cancellation", "cancellation"),
    "moved-away": (None, "cancellation"),
    "moved-here": ("update", "confirmation"),
    "offered": ("offer", None),
}


def plan_notices(
    write: LedgerWrite,
    *,
    uid: str,
    sequence: int,
    addresses: Addresses,
    now: float,
    reminders: Sequence[int],
) -> Notices:
    """The notices of one ledger write that tells something, its invitation at `uid` and
    `sequence` as the write leaves them."""
    tell = write.tells
    if tell is None:
        return Notices([], drop_reminders=False)

    def notice(
        kind: NoticeKind, role: PartyRole, recipient: str, due_at: float, before: int | None = None
    ) -> Notice:
        return Notice(
            kind=kind,
            role=role,
            party_id=write.client_id if role == "client" else write.provider_id,
            recipient=recipient,
            uid=uid,
            sequence=sequence,
            appointment_id=write.appointment_id,
            provider_id=write.provider_id,
            client_id=write.client_id,
            service_id=write.service_id,
            start=write.start,
            ends=write.ends,
            due_at=due_at,
            reminder_before=before,
            held_until=write.held_until if kind == "offer" else None,
        )

    to_client, to_provider = _TO_BOTH[tell]
    queue: list[Notice] = []
    if to_client is not None and addresses.client is not None:
        queue.append(notice(to_client, "client", addresses.client, now))
    if to_provider is not None and addresses.provider is not None:
        queue.append(notice(to_provider, "provider", addresses.provider, now))
    if tell in ("booked", "moved", "moved-here") and addresses.client is not None:
        for before in sorted(set(reminders), reverse=True):
            due = write.start - before
            if due > now:
                queue.append(notice("reminder", "client", addresses.client, due, before))
    return Notices(queue, drop_reminders=tell not in ("booked", "offered"))


def hold_notice(
    hold: Sequence[SlotRow], *, uid: str, sequence: int, recipient: str, now: float
) -> Notice:
    """The e-mail that carries the link confirming a hold the booking page placed (`hold`: its
    slots, in time order): to the client, due at once, saying until when the hold lasts."""
    first, last = hold[0], hold[-1]
    assert first.client_id is not None, "a hold has a client"
    assert first.held_until is not None, "a hold lasts until some time"
    return Notice(
        kind="hold",
        role="client",
        party_id=first.client_id,
        recipient=recipient,
        uid=uid,
        sequence=sequence,
        appointment_id=first.id,
        provider_id=first.provider_id,
        client_id=first.client_id,
        service_id=first.service_id,
        start=first.start,
        ends=last.start + last.duration,
        due_at=now,
        held_until=first.held_until,
    )
