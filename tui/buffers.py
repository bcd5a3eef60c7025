"""The time kept clear around appointments: which slot starts lie in the buffer before or after a
held or booked appointment of a type that has one (no Textual here).

An appointment keeps the buffers it was booked with; its slots say so (`bufferBeforeMinutes`,
`bufferAfterMinutes`, shown to its provider). Buffer time need not be open time, and no other
appointment may fall in it, so an open slot inside a buffer cannot be booked."""

from __future__ import annotations

from dataclasses import dataclass

from shared.wire import TimeSlot
from tui.sync import SlotMirror, start_of


@dataclass(frozen=True)
class Buffer:
    """A slot start inside an appointment's buffer."""

    appointment: list[TimeSlot]
    """The appointment's slots in view, in time order."""
    after: bool
    """In the buffer after the appointment (else before it)."""
    minutes: int
    """How long that buffer is."""


def minutes(value: int | object) -> int:
    """A buffer's minutes as a slot carries them (left out when none)."""
    return value if isinstance(value, int) else 0


def buffers(mirror: SlotMirror, provider_id: str, slot_seconds: int) -> dict[int, Buffer]:
    """The starts (a grid of `slot_seconds`) within `bufferBeforeMinutes` before the first slot
    of each of the provider's held or booked appointments in view, and within
    `bufferAfterMinutes` after its last."""
    found: dict[int, Buffer] = {}
    for slot in mirror.slots():
        if slot.provider_id != provider_id or slot.status == "AVAILABLE":
            continue
        before = minutes(slot.buffer_before_minutes)
        after = minutes(slot.buffer_after_minutes)
        if not before and not after:
            continue
        run = mirror.appointment(slot)
        if run[0] is not slot:
            continue  # each appointment once, from its first slot in view
        first, end = start_of(run[0]), start_of(run[-1]) + round(run[-1].duration * 60)
        for start in range(first - before * 60, first, slot_seconds):
            found.setdefault(start, Buffer(run, after=False, minutes=before))
        for start in range(end, end + after * 60, slot_seconds):
            found.setdefault(start, Buffer(run, after=True, minutes=after))
    return found
