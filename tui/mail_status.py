"""Whether a client's bookings were announced by mail: for each appointment, how the sending of
its latest invitation (the confirmation, or the update a move sent) went, as GET /notifications
tells it. No Textual here; My reservations shows it in its Mail column."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.mail_wire import NotificationKind, NotificationShown
from shared.wire import Reservation
from tui.client import SlotbookClient

HEADING = "Mail"
NONE = "—"
"""A hold (nothing is sent for one), or a booking no invitation was queued for (no address)."""

INVITATIONS: tuple[NotificationKind, ...] = ("confirmation", "update")
"""The kinds that carry a booking's invitation: a booking moved is announced by an update, under
the appointment's new first slot."""

LOOKED_AT = 1000
"""The most of each kind read (the newest): older ones are of appointments long past."""


@dataclass(frozen=True)
class MailStatus:
    """The client's address (None: none) and, by appointment, the status of its latest
    invitation ("queued", "sent" or "failed")."""

    email: str | None = None
    by_appointment: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        """Whether a Mail column tells anything: the client has an address, or once had mail."""
        return self.email is not None or bool(self.by_appointment)

    def cell(self, reservation: Reservation) -> str:
        """What the Mail column says of this hold or booking."""
        if reservation.status != "CONFIRMED":
            return NONE
        return self.by_appointment.get(reservation.time_slot_id, NONE)


async def mail_status(client: SlotbookClient) -> MailStatus:
    """The client's address and how each booking's invitation went, asked of the server now."""
    details = await client.my_details()
    found: list[NotificationShown] = []
    for kind in INVITATIONS:
        found += await client.notifications(kind=kind, limit=LOOKED_AT)
    latest: dict[str, NotificationShown] = {}
    for notification in found:
        known = latest.get(notification.appointment_id)
        if known is None or notification.sequence > known.sequence:
            latest[notification.appointment_id] = notification
    return MailStatus(details.email, {key: n.status for key, n in latest.items()})
