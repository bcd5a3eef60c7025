"""The rules on their own: no database, no HTTP, time passed in."""

from __future__ import annotations

import pytest

from backend.rules.booking import (
    HoldLapsed,
    NotHeld,
    NothingToCancel,
    NoticeTooShort,
    NotYourReservation,
    Rules,
    RuleViolation,
    SlotRow,
    SlotTaken,
    SlotTimeMismatch,
    TooManyHolds,
    effective_status,
)
from shared.timefmt import parse_time

NOW = parse_time("2030-03-04 09:00:00")
DAY = 86_400
RULES = Rules()


def slot(
    start: float, status: str = "AVAILABLE", client: str | None = None, **kw: float
) -> SlotRow:
    return SlotRow(
        id="a" * 32,
        provider_id="p",
        start=int(start),
        duration=900,
        status=status,  # type: ignore[arg-type]
        client_id=client,
        reserved_at=kw.get("reserved_at"),
        held_until=kw.get("held_until"),
        confirmed_at=kw.get("confirmed_at"),
    )


def test_a_hold_lasts_thirty_minutes_when_the_slot_is_far_away() -> None:
    assert RULES.hold_expiry(NOW, int(NOW + 3 * DAY)) == NOW + 1800


def test_a_hold_ends_when_the_notice_period_begins_if_that_is_sooner() -> None:
    start = int(NOW + DAY + 600)  # 24 h 10 min away: notice begins in 10 minutes
    assert RULES.hold_expiry(NOW, start) == NOW + 600


def test_a_lapsed_hold_counts_as_open_before_any_sweeper_runs() -> None:
    held = slot(NOW + 3 * DAY, "RESERVED", "c1", reserved_at=NOW - 1800, held_until=NOW)
    assert effective_status(held, NOW) == "AVAILABLE"
    assert effective_status(held, NOW - 1) == "RESERVED"


def test_windows_must_sit_on_the_grid_be_ordered_in_the_future_and_capped() -> None:
    start = NOW + DAY
    assert RULES.check_window(start, start + 3600, NOW) == (int(start), int(start + 3600))
    with pytest.raises(RuleViolation) as unaligned:
        RULES.check_window(start + 60, start + 3600 + 60, NOW)
    assert [p.field for p in unaligned.value.problems] == ["startTime", "endTime"]
    assert "15-minute grid, e.g. 11:00, 11:15, 11:30" in unaligned.value.detail
    with pytest.raises(RuleViolation, match="endTime must be after startTime"):
        RULES.check_window(start, start, NOW)
    with pytest.raises(RuleViolation, match="startTime is in the past"):
        RULES.check_window(NOW - 900, NOW + 900, NOW)
    with pytest.raises(RuleViolation, match="more than 31 days after startTime"):
        RULES.check_window(start, start + 31 * DAY + 900, NOW)
    RULES.check_window(start, start + 31 * DAY, NOW)


def test_listing_ranges_need_order_and_a_cap_but_no_grid() -> None:
    RULES.check_range(NOW + 7, NOW + 3600)
    with pytest.raises(RuleViolation):
        RULES.check_range(NOW, NOW - 1)
    with pytest.raises(RuleViolation):
        RULES.check_range(NOW, NOW + 32 * DAY)


class TestWhyAReserveFailed:
    start = NOW + 3 * DAY

    def test_the_same_client_repeating_is_not_a_failure(self) -> None:
        held = slot(self.start, "RESERVED", "c1", reserved_at=NOW, held_until=NOW + 1800)
        assert RULES.why_not_reserved(held, "c1", self.start, 1, NOW) is None

    def test_someone_elses_live_hold_or_booking_is_taken(self) -> None:
        held = slot(self.start, "RESERVED", "c1", reserved_at=NOW, held_until=NOW + 1800)
        assert isinstance(RULES.why_not_reserved(held, "c2", self.start, 0, NOW), SlotTaken)
        booked = slot(self.start, "CONFIRMED", "c1", confirmed_at=NOW)
        assert isinstance(RULES.why_not_reserved(booked, "c2", self.start, 0, NOW), SlotTaken)
        mine = RULES.why_not_reserved(booked, "c1", self.start, 0, NOW)
        assert isinstance(mine, SlotTaken)
        assert "already booked it" in mine.detail

    def test_a_wrong_time_is_a_mismatch_before_anything_else(self) -> None:
        with pytest.raises(SlotTimeMismatch, match="does not match the slot's time"):
            RULES.why_not_reserved(slot(self.start), "c1", self.start + 900, 0, NOW)

    def test_too_little_notice_uses_the_seed_message(self) -> None:
        soon = slot(NOW + DAY - 900)
        refusal = RULES.why_not_reserved(soon, "c1", soon.start, 0, NOW)
        assert isinstance(refusal, NoticeTooShort)
        assert refusal.detail == "Time slot must be at least 24 hours in the future"

    def test_the_hold_limit_says_what_to_do(self) -> None:
        refusal = RULES.why_not_reserved(slot(self.start), "c1", self.start, 5, NOW)
        assert isinstance(refusal, TooManyHolds)
        assert "confirm or cancel" in refusal.detail


class TestWhyAConfirmFailed:
    start = NOW + 3 * DAY

    def test_confirming_twice_is_already_confirmed(self) -> None:
        booked = slot(self.start, "CONFIRMED", "c1", confirmed_at=NOW)
        assert RULES.why_not_confirmed(booked, "c1", self.start, False, NOW) == "already confirmed"
        assert RULES.why_not_confirmed(booked, None, self.start, False, NOW) == "already confirmed"

    def test_another_clients_hold_or_booking_is_forbidden(self) -> None:
        held = slot(self.start, "RESERVED", "c1", reserved_at=NOW, held_until=NOW + 1800)
        assert isinstance(
            RULES.why_not_confirmed(held, "c2", self.start, False, NOW), NotYourReservation
        )
        booked = slot(self.start, "CONFIRMED", "c1", confirmed_at=NOW)
        assert isinstance(
            RULES.why_not_confirmed(booked, "c2", self.start, False, NOW), NotYourReservation
        )

    def test_the_callers_own_lapsed_hold_is_gone_even_if_someone_took_the_slot(self) -> None:
        taken = slot(self.start, "RESERVED", "c2", reserved_at=NOW, held_until=NOW + 1800)
        assert isinstance(RULES.why_not_confirmed(taken, "c1", self.start, True, NOW), HoldLapsed)
        booked = slot(self.start, "CONFIRMED", "c2", confirmed_at=NOW)
        assert isinstance(RULES.why_not_confirmed(booked, "c1", self.start, True, NOW), HoldLapsed)
        reopened = slot(self.start)
        assert isinstance(
            RULES.why_not_confirmed(reopened, "c1", self.start, True, NOW), HoldLapsed
        )

    def test_a_lapsed_hold_not_yet_swept_is_lapsed(self) -> None:
        stale = slot(self.start, "RESERVED", "c1", reserved_at=NOW - 1800, held_until=NOW)
        assert isinstance(RULES.why_not_confirmed(stale, "c1", self.start, False, NOW), HoldLapsed)
        assert isinstance(RULES.why_not_confirmed(stale, None, self.start, False, NOW), HoldLapsed)

    def test_an_open_slot_is_not_held(self) -> None:
        assert isinstance(
            RULES.why_not_confirmed(slot(self.start), "c1", self.start, False, NOW), NotHeld
        )


class TestWhyACancelFailed:
    start = NOW + 3 * DAY

    def test_an_open_slot_has_nothing_to_cancel(self) -> None:
        assert isinstance(
            RULES.why_not_cancelled(slot(self.start), "c1", None, NOW), NothingToCancel
        )

    def test_strangers_may_not_cancel(self) -> None:
        booked = slot(self.start, "CONFIRMED", "c1", confirmed_at=NOW)
        assert isinstance(RULES.why_not_cancelled(booked, "c2", None, NOW), NotYourReservation)
        assert isinstance(RULES.why_not_cancelled(booked, None, "other", NOW), NotYourReservation)

    def test_a_booking_that_has_started_cannot_be_cancelled(self) -> None:
        past = slot(NOW - 900, "CONFIRMED", "c1", confirmed_at=NOW - DAY * 2)
        refusal = RULES.why_not_cancelled(past, "c1", None, NOW)
        assert isinstance(refusal, NothingToCancel)
        assert "already started" in refusal.detail

    def test_an_admin_is_told_a_started_booking_has_started_not_that_it_is_not_theirs(
        self,
    ) -> None:
        past = slot(NOW - 900, "CONFIRMED", "c1", confirmed_at=NOW - DAY * 2)
        refusal = RULES.why_not_cancelled(past, None, None, NOW, admin=True)
        assert isinstance(refusal, NothingToCancel)
        assert "already started" in refusal.detail
