"""The local mirror: a window of slots, kept current by applying the change feed."""

from __future__ import annotations

from msgspec import UNSET

from shared.timefmt import format_time, parse_time
from shared.wire import Change, ChangeKind, SlotStatus, TimeSlot
from tui.sync import SlotMirror, Window, start_of

MONDAY = parse_time("2030-03-04 00:00:00")
NEXT_MONDAY = MONDAY + 7 * 86_400
WEEK = Window(MONDAY, NEXT_MONDAY, "ada")


def slot(
    slot_id: str,
    at: float,
    provider: str = "ada",
    status: SlotStatus = "AVAILABLE",
    duration: float = 15,
) -> TimeSlot:
    return TimeSlot(
        time_slot_id=slot_id.ljust(32, "0"),
        provider_id=provider,
        timestamp=format_time(at),
        duration=duration,
        status=status,
    )


def change(
    seq: int,
    kind: ChangeKind,
    slot_id: str,
    at: float,
    status: SlotStatus,
    *,
    provider: str = "ada",
    client: str | None = None,
    expires: float | None = None,
) -> Change:
    made = Change(
        seq=seq,
        kind=kind,
        time_slot_id=slot_id.ljust(32, "0"),
        provider_id=provider,
        timestamp=format_time(at),
        status=status,
    )
    if client is not None:
        made.client_id = client
    if expires is not None:
        made.expires_at = format_time(expires)
    return made


TUESDAY_10 = MONDAY + 86_400 + 10 * 3600


def test_a_window_holds_slots_of_its_provider_starting_inside_it() -> None:
    assert WEEK.holds("ada", MONDAY)
    assert WEEK.holds("ada", NEXT_MONDAY - 1)
    assert not WEEK.holds("ada", NEXT_MONDAY)
    assert not WEEK.holds("ada", MONDAY - 1)
    assert not WEEK.holds("bob", TUESDAY_10)
    assert Window(MONDAY, NEXT_MONDAY).holds("bob", TUESDAY_10), "no provider: any provider"


def test_replace_loads_a_window_and_leaves_out_slots_outside_it() -> None:
    mirror = SlotMirror(WEEK)
    mirror.put(slot("old", TUESDAY_10 + 900))
    mirror.replace(
        WEEK,
        [
            slot("b", TUESDAY_10 + 900),
            slot("a", TUESDAY_10),
            slot("late", NEXT_MONDAY + 3600),
            slot("bob", TUESDAY_10, provider="bob"),
        ],
    )
    assert len(mirror) == 2
    assert [s.time_slot_id[0] for s in mirror.slots()] == ["a", "b"]
    assert mirror.get("old".ljust(32, "0")) is None
    found = mirror.at("ada", int(TUESDAY_10))
    assert found is not None
    assert found.time_slot_id == "a".ljust(32, "0")
    assert mirror.at("bob", int(TUESDAY_10)) is None
    assert start_of(found) == TUESDAY_10


def test_replace_with_another_window_moves_the_mirror_there() -> None:
    mirror = SlotMirror(WEEK)
    mirror.replace(WEEK, [slot("a", TUESDAY_10)])
    later = Window(NEXT_MONDAY, NEXT_MONDAY + 7 * 86_400, "ada")
    mirror.replace(later, [slot("n", NEXT_MONDAY + 3600)])
    assert mirror.window == later
    assert [s.time_slot_id[0] for s in mirror.slots()] == ["n"]
    assert mirror.at("ada", int(TUESDAY_10)) is None


def test_drop_forgets_a_slot_by_id_and_by_start() -> None:
    mirror = SlotMirror(WEEK)
    mirror.put(slot("a", TUESDAY_10))
    mirror.drop("a".ljust(32, "0"))
    mirror.drop("never".ljust(32, "0"))  # unknown: nothing happens
    assert len(mirror) == 0
    assert mirror.at("ada", int(TUESDAY_10)) is None


def test_a_created_change_adds_an_open_slot_of_the_mirrors_slot_length() -> None:
    mirror = SlotMirror(WEEK, duration_minutes=30)
    assert mirror.apply(change(1, "created", "a", TUESDAY_10, "AVAILABLE"))
    added = mirror.at("ada", int(TUESDAY_10))
    assert added is not None
    assert (added.status, added.duration, added.client_id) == ("AVAILABLE", 30, UNSET)


def test_a_reserved_change_carries_the_holder_and_when_the_hold_lapses() -> None:
    mirror = SlotMirror(WEEK)
    mirror.put(slot("a", TUESDAY_10, duration=20))
    expires = TUESDAY_10 - 86_400
    assert mirror.apply(
        change(2, "reserved", "a", TUESDAY_10, "RESERVED", client="sam", expires=expires)
    )
    held = mirror.at("ada", int(TUESDAY_10))
    assert held is not None
    assert held.status == "RESERVED"
    assert held.client_id == "sam"
    assert held.expires_at == format_time(expires)
    assert held.duration == 20, "a known slot keeps its length"


def test_a_reserved_change_without_a_client_id_hides_who_holds_it() -> None:
    mirror = SlotMirror(WEEK)
    mirror.apply(change(2, "reserved", "a", TUESDAY_10, "RESERVED"))
    held = mirror.at("ada", int(TUESDAY_10))
    assert held is not None
    assert (held.status, held.client_id, held.expires_at) == ("RESERVED", UNSET, UNSET)


def test_a_confirmed_change_books_the_slot_and_drops_the_expiry() -> None:
    mirror = SlotMirror(WEEK)
    mirror.apply(change(2, "reserved", "a", TUESDAY_10, "RESERVED", client="sam", expires=1.0))
    mirror.apply(change(3, "confirmed", "a", TUESDAY_10, "CONFIRMED", client="sam", expires=1.0))
    booked = mirror.at("ada", int(TUESDAY_10))
    assert booked is not None
    assert (booked.status, booked.client_id, booked.expires_at) == ("CONFIRMED", "sam", UNSET)


def test_cancelled_and_expired_changes_open_the_slot_again() -> None:
    mirror = SlotMirror(WEEK)
    for kind in ("cancelled", "expired"):
        mirror.apply(change(2, "reserved", "a", TUESDAY_10, "RESERVED", client="sam"))
        assert mirror.apply(change(3, kind, "a", TUESDAY_10, "AVAILABLE", client="sam"))
        reopened = mirror.at("ada", int(TUESDAY_10))
        assert reopened is not None
        assert (reopened.status, reopened.client_id) == ("AVAILABLE", UNSET), kind


def test_a_deleted_change_removes_the_slot() -> None:
    mirror = SlotMirror(WEEK)
    mirror.put(slot("a", TUESDAY_10))
    assert mirror.apply(change(4, "deleted", "a", TUESDAY_10, "AVAILABLE"))
    assert len(mirror) == 0


def test_changes_outside_the_window_are_ignored_and_say_so() -> None:
    mirror = SlotMirror(WEEK)
    assert not mirror.apply(change(1, "created", "x", NEXT_MONDAY, "AVAILABLE"))
    assert not mirror.apply(change(2, "created", "y", TUESDAY_10, "AVAILABLE", provider="bob"))
    assert not mirror.apply(change(3, "deleted", "z", MONDAY - 900, "AVAILABLE"))
    assert len(mirror) == 0


def test_a_window_of_every_provider_follows_them_all() -> None:
    mirror = SlotMirror(Window(MONDAY, NEXT_MONDAY))
    assert mirror.apply(change(1, "created", "a", TUESDAY_10, "AVAILABLE"))
    assert mirror.apply(change(2, "created", "b", TUESDAY_10, "AVAILABLE", provider="bob"))
    assert [s.provider_id for s in mirror.slots()] == ["ada", "bob"]
