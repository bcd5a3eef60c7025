"""A change of the log as the one who is sent it may see it: the wire form both the change feed
(GET /changes, GET /events) and webhook deliveries present, since who sees a client's name and note
is the same rule whichever way a change travels."""

from __future__ import annotations

from backend.gate.access import Caller, sees_client
from backend.rules.booking import Rules, SlotStatus
from backend.store.base import ChangeRow, is_slot_change
from shared.timefmt import format_time
from shared.wire import Change


def present_change(change: ChangeRow, caller: Caller, rules: Rules) -> Change:
    """`change` as `caller` may see it: its client, their name, the appointment, the note and
    the waitlist entry a hold was offered to only to that client, the slot's provider and
    admins. (An event's row is no change to a slot: the feed passes it by, and the webhooks
    send it as its own envelope.)"""
    kind = change.kind
    if not is_slot_change(kind):
        raise ValueError(f"seq {change.seq} is a {kind} event, not a change to a slot")
    shown = Change(
        seq=change.seq,
        kind=kind,
        time_slot_id=change.slot_id,
        provider_id=change.provider_id,
        timestamp=format_time(change.start),
        status=_status(change.status),
    )
    if change.client_id is not None and sees_client(caller, change.provider_id, change.client_id):
        shown.client_id = change.client_id
        if change.client_name is not None:
            shown.client_name = change.client_name
        if change.appointment_id is not None:
            shown.appointment_id = change.appointment_id
        if change.note is not None:
            shown.note = change.note
        if change.service_id is not None:
            shown.service_id = change.service_id
            if change.service_name is not None:
                shown.service_name = change.service_name
        if change.waitlist_id is not None:
            shown.waitlist_id = change.waitlist_id
    if change.held_until is not None:
        shown.expires_at = format_time(change.held_until)
    elif change.kind == "reserved":  # a change logged before holds' ends were kept with them
        shown.expires_at = format_time(rules.hold_expiry(change.at, change.start))
    if change.from_slot_id is not None:
        shown.from_time_slot_id = change.from_slot_id
    if change.from_provider_id is not None:
        shown.from_provider_id = change.from_provider_id
    if change.from_start is not None:
        shown.from_timestamp = format_time(change.from_start)
    return shown


def _status(text: str) -> SlotStatus:
    return "RESERVED" if text == "RESERVED" else "CONFIRMED" if text == "CONFIRMED" else "AVAILABLE"
