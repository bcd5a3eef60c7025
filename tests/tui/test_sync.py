"""The local mirror: a window of slots, kept current by applying the change feed."""

from __future__ import annotations

from msgspec import UNSET

from shared.timefmt import format_time, parse_time
from shared.wire import Change, ChangeKind, Reservation, SlotStatus, TimeSlot
from tui.sync import SlotMirror, Window, as_reservation, note_of, slots_of, start_of

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
    appointment: str | None = None,
    note: str | None = None,
    moved_from: tuple[str, float] | None = None,
    from_provider: str | None = None,
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
    if appointment is not None:
        made.appointment_id = appointment.ljust(32, "0")
    if note is not None:
        made.note = note
    if moved_from is not None:
        made.from_time_slot_id = moved_from[0].ljust(32, "0")
        made.from_timestamp = format_time(moved_from[1])
        made.from_provider_id = from_provider or provider
    return made


def states(mirror: SlotMirror) -> list[tuple[str, str, object]]:
    """Each slot in view: its id's first letter, its status and its appointment's first letter."""
    return [
        (
            s.time_slot_id[0],
            s.status,
            s.appointment_id[0] if isinstance(s.appointment_id, str) else None,
        )
        for s in mirror.slots()
    ]


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


# --- appointments of several slots, moves and notes --------------------------------------------

QUARTER = 900


def four_open() -> SlotMirror:
    """Slots a, b, c, d at Tuesday 10:00, 10:15, 10:30, 10:45, all open."""
    mirror = SlotMirror(WEEK)
    for index, name in enumerate("abcd"):
        mirror.put(slot(name, TUESDAY_10 + index * QUARTER))
    return mirror


def held(mirror: SlotMirror, names: str, seq: int = 1, note: str | None = None) -> int:
    """Apply a hold of these slots by sam, one `reserved` change a slot as the server sends."""
    for name in names:
        at = TUESDAY_10 + "abcd".index(name) * QUARTER
        mirror.apply(
            change(
                seq,
                "reserved",
                name,
                at,
                "RESERVED",
                client="sam",
                appointment=names[0],
                note=note,
                expires=TUESDAY_10 - 86_400,
            )
        )
        seq += 1
    return seq


def test_a_hold_of_several_slots_marks_each_with_its_appointment_and_note() -> None:
    mirror = four_open()
    held(mirror, "abc", note="Knee")
    assert states(mirror) == [
        ("a", "RESERVED", "a"),
        ("b", "RESERVED", "a"),
        ("c", "RESERVED", "a"),
        ("d", "AVAILABLE", None),
    ]
    middle = mirror.at("ada", int(TUESDAY_10 + QUARTER))
    assert middle is not None
    assert note_of(middle) == "Knee"
    assert [s.time_slot_id[0] for s in mirror.appointment(middle)] == ["a", "b", "c"]
    alone = mirror.at("ada", int(TUESDAY_10 + 3 * QUARTER))
    assert alone is not None
    assert mirror.appointment(alone) == [alone], "an open slot is no appointment"


def test_a_move_later_by_one_slot_applied_in_the_servers_order_leaves_the_new_place_taken() -> None:
    """a-b-c moved to b-c-d: the server sends (d from c), (c from b), (b from a)."""
    mirror = four_open()
    seq = held(mirror, "abc")
    for taken, released in (("d", "c"), ("c", "b"), ("b", "a")):
        at = TUESDAY_10 + "abcd".index(taken) * QUARTER
        was = TUESDAY_10 + "abcd".index(released) * QUARTER
        assert mirror.apply(
            change(
                seq,
                "moved",
                taken,
                at,
                "RESERVED",
                client="sam",
                appointment="b",
                moved_from=(released, was),
            )
        )
        seq += 1
    assert states(mirror) == [
        ("a", "AVAILABLE", None),
        ("b", "RESERVED", "b"),
        ("c", "RESERVED", "b"),
        ("d", "RESERVED", "b"),
    ]


def test_a_move_into_another_window_only_lets_go_of_the_old_place_here() -> None:
    mirror = four_open()
    held(mirror, "a")
    elsewhere = change(
        5, "moved", "z", NEXT_MONDAY + 3600, "CONFIRMED", client="sam", moved_from=("a", TUESDAY_10)
    )
    assert mirror.apply(elsewhere), "its old place was in view"
    assert states(mirror)[0] == ("a", "AVAILABLE", None)
    assert mirror.get("z".ljust(32, "0")) is None
    to_bob = change(
        6, "moved", "y", TUESDAY_10, "RESERVED", provider="bob", moved_from=("q", TUESDAY_10)
    )
    to_bob.from_provider_id = "bob"
    assert not mirror.apply(to_bob), "another provider's move is not in this window"


def test_a_move_from_elsewhere_into_view_takes_the_slot_without_an_old_one_to_let_go() -> None:
    mirror = four_open()
    moved_in = change(
        7,
        "moved",
        "b",
        TUESDAY_10 + QUARTER,
        "RESERVED",
        moved_from=("q", TUESDAY_10),
        from_provider="bob",
    )
    assert mirror.apply(moved_in)
    assert states(mirror)[:2] == [("a", "AVAILABLE", None), ("b", "RESERVED", None)]
    assert len(mirror) == 4


def test_a_noted_change_changes_only_the_note() -> None:
    mirror = four_open()
    held(mirror, "ab", note="Knee")
    first = mirror.at("ada", int(TUESDAY_10))
    assert first is not None
    for seq, note in ((8, "Knee and hip"), (9, "")):
        assert mirror.apply(
            change(
                seq, "noted", "a", TUESDAY_10, "RESERVED", client="sam", appointment="a", note=note
            )
        )
        now = mirror.at("ada", int(TUESDAY_10))
        assert now is not None
        assert note_of(now) == note
        assert (now.expires_at, now.client_id, now.appointment_id) == (
            first.expires_at,
            "sam",
            first.appointment_id,
        ), "the rest stays as it was"
    missed = change(10, "noted", "d", TUESDAY_10 + 3 * QUARTER, "CONFIRMED", note="Hip")
    assert mirror.apply(missed), "news of a booking the mirror had not heard of yet"
    last = mirror.at("ada", int(TUESDAY_10 + 3 * QUARTER))
    assert last is not None
    assert (last.status, note_of(last)) == ("CONFIRMED", "Hip")


def test_a_reservation_is_laid_out_as_its_slots_and_a_lone_slot_as_a_reservation() -> None:
    first = slot("a", TUESDAY_10, status="CONFIRMED")
    first.client_id = "sam"
    first.note = "Knee"
    reservation = Reservation(
        **{name: getattr(first, name) for name in TimeSlot.__struct_fields__},
        minutes=45,
        time_slot_ids=[n.ljust(32, "0") for n in "abc"],
    )
    laid_out = slots_of(reservation)
    assert [(start_of(s), s.time_slot_id[0], s.appointment_id, s.note) for s in laid_out] == [
        (TUESDAY_10 + index * QUARTER, name, "a".ljust(32, "0"), "Knee")
        for index, name in enumerate("abc")
    ]
    mirror = four_open()
    mirror.put_reservation(reservation)
    assert [s.status for s in mirror.slots()] == ["CONFIRMED"] * 3 + ["AVAILABLE"]
    lone = as_reservation(first)
    assert (lone.minutes, lone.time_slot_ids) == (15, [first.time_slot_id])
    assert as_reservation(reservation) is reservation
