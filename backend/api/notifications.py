"""GET /notifications: the mail the server queued, and how sending it went. A provider or client
sees what was sent to them; an admin sees everyone's."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from backend.api.context import context
from backend.api.operation import Operation, answer, read_query
from backend.gate.access import caller_of
from backend.gate.problems import ProblemError
from backend.store.mail_records import NotificationFilter, StoredNotification
from shared.mail_wire import Notifications, NotificationShown, NotificationsQuery
from shared.timefmt import format_moment, format_time


async def list_notifications(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    query = read_query(request, NotificationsQuery)
    party = None if query.party_id is UNSET else query.party_id
    role = None
    if caller.role != "admin":
        if party is not None and party != caller.subject:
            raise ProblemError(
                "forbidden",
                f"{caller.describe()} sees only its own notifications; leave partyId out",
            )
        party, role = caller.subject, caller.role
    found = await ctx.store.notifications(
        NotificationFilter(
            party_id=party,
            role=role,
            status=None if query.status is UNSET else query.status,
            kind=None if query.kind is UNSET else query.kind,
            appointment_id=None if query.appointment_id is UNSET else query.appointment_id,
            limit=query.limit,
        )
    )
    return answer(Notifications(notifications=[shown(n) for n in found]))


def shown(n: StoredNotification) -> NotificationShown:
    return NotificationShown(
        notification_id=n.notification_id,
        kind=n.kind,
        recipient=n.recipient,
        role=n.role,
        party_id=n.party_id,
        appointment_id=n.appointment_id,
        sequence=n.sequence,
        status=n.status,
        attempts=n.attempts,
        last_error=n.last_error,
        created_at=format_time(n.created_at),
        due_at=format_time(n.due_at),
        sent_at=format_moment(n.sent_at),
    )


OPERATIONS = [
    Operation(
        "GET",
        "/notifications",
        list_notifications,
        summary="The mail queued for you (an admin: for anyone), newest first, and how sending"
        " it went",
        tag="mail",
        query=NotificationsQuery,
        answers={200: (Notifications, "The notifications")},
        problems={403: "A provider or client asked for someone else's"},
    ),
]
