"""An offer from the waitlist, arriving while the app is open: time freed up in a window the client
waits for, held for them. The hold dialog (tui/screens/hold.py) with its countdown says so, and
its Confirm and Release are the hold's own (release passes the time to the next in line)."""

from __future__ import annotations

from msgspec import UnsetType

from shared.waitlist_wire import WaitlistEntry
from shared.wire import Reservation
from tui import waitlist_calls, waitlist_words
from tui.screens.hold import HoldDialog
from tui.session import Session


class OfferDialog(HoldDialog):
    """The hold an entry was offered, counting down until its offer lapses."""

    HEADLINE = "Offered to you from the waitlist"
    AUTO_FOCUS = "#close"
    """It comes unbidden, perhaps under a key meant for what was on screen: Enter keeps the hold
    for now; confirming or releasing it takes c or x (or their button)."""

    def __init__(
        self, session: Session, slot: Reservation, provider_name: str, entry: WaitlistEntry
    ) -> None:
        super().__init__(session, slot, provider_name)
        self.entry = entry

    def lead(self) -> str:
        window = waitlist_words.window(self.session, self.entry)
        return (
            f"Time in the window you wait for ({window}) is held for you: confirm it, or release"
            " it for the next in line."
        )

    @property
    def usual_minutes(self) -> float:
        return self.session.rules.offer_minutes

    def released(self) -> str:
        return "Released: it goes to the next in line, if anyone waits for it."


async def offer_of(session: Session, waitlist_id: str) -> tuple[WaitlistEntry, Reservation] | None:
    """The entry and the hold it was offered, as they stand now; None once the offer has gone
    (confirmed, released or lapsed meanwhile)."""
    entry = await waitlist_calls.entry(session.client, waitlist_id)
    offer = entry.offer
    if entry.status != "offered" or isinstance(offer, UnsetType):
        return None
    for reservation in await session.client.reservations():
        if offer.time_slot_id in reservation.time_slot_ids and reservation.status == "RESERVED":
            return entry, reservation
    return None
