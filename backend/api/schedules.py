"""A provider's weekly schedule: PUT sets it (and brings the slots in line), GET shows it, DELETE
drops it with the open slots it made."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from msgspec import UNSET

from backend.api.context import context
from backend.api.idempotency import perform
from backend.api.operation import Operation, answer, answered, read_body
from backend.api.presenters import present_slot
from backend.api.providers import provider_id_from_path
from backend.gate.access import Caller, caller_of, forbidden
from backend.gate.problems import ProblemError, shown
from backend.rules.schedule import (
    DAYS,
    Hours,
    Schedule,
    ScheduleProblem,
    check_day,
    clock_minutes,
    clock_text,
)
from backend.store.base import (
    Answer,
    RemoveResult,
    ScheduleNotFound,
    ScheduleResult,
    StoredSchedule,
)
from shared.schedule_wire import (
    DayName,
    ScheduleAnswer,
    ScheduleException,
    ScheduleRemoved,
    ScheduleRequest,
    ScheduleSet,
    WeeklyHours,
)
from shared.schedule_wire import Hours as HoursShown
from shared.schedule_wire import Schedule as ScheduleShown
from shared.wire import FieldError, PartyId
from shared.zones import is_zone_name, zone_hint

DAY_NAMES: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def may_manage_schedule(caller: Caller, provider_id: str) -> None:
    """As for availability: the provider itself, or an admin."""
    if caller.trusted or caller.role == "admin":
        return
    if caller.role == "provider" and caller.subject == provider_id:
        return
    raise forbidden(
        f"Only provider {provider_id} (or an admin) manages its schedule; {caller.describe()}"
        " may not"
    )


def schedule_from(request: ScheduleRequest, slot_seconds: int) -> Schedule:
    """The schedule a request asks for, checked beyond what its schema says (which msgspec has
    checked, a 400 when it fails): a 422 naming the field for a name that is not the zone of a
    place (shared.zones; the nearest one suggested), a
    date given twice, a time off the grid, an end not after its start, overlapping windows."""
    exceptions_in = [] if request.exceptions is UNSET else request.exceptions
    try:
        if not is_zone_name(request.time_zone):
            raise ScheduleProblem(
                "timeZone",
                f"'{shown(request.time_zone, 64)}' is not the IANA time zone of a place;"
                f" {zone_hint(request.time_zone)}",
            )
        seen: dict[date, str] = {}
        for index, exception in enumerate(exceptions_in):
            day, where = date.fromisoformat(exception.date), f"exceptions[{index}].date"
            if day in seen:
                raise ScheduleProblem(where, f"repeats {seen[day]}: one exception a date")
            seen[day] = where
        by_day: list[list[tuple[Hours, str]]] = [[] for _ in DAYS]
        for index, window in enumerate(request.weekly):
            where = f"weekly[{index}]"
            by_day[DAYS.index(window.day)].append((_hours(window.start, window.end, where), where))
        weekly = tuple(check_day(windows, slot_seconds) for windows in by_day)
        exceptions = {}
        for index, exception in enumerate(exceptions_in):
            windows = [
                (_hours(h.start, h.end, f"exceptions[{index}].hours[{n}]"),
                 f"exceptions[{index}].hours[{n}]")
                for n, h in enumerate(exception.hours)
            ]  # fmt: skip
            exceptions[date.fromisoformat(exception.date)] = check_day(windows, slot_seconds)
    except ScheduleProblem as problem:
        wrong = [FieldError(field=problem.field, message=str(problem))]
        raise ProblemError("rule-violation", f"{problem.field}: {problem}", errors=wrong) from None
    return Schedule(request.time_zone, weekly, exceptions, request.horizon_days)


def _hours(start: str, end: str, where: str) -> Hours:
    return Hours(
        clock_minutes(start, f"{where}.start"), clock_minutes(end, f"{where}.end", end=True)
    )


def presented(stored: StoredSchedule, today: date) -> ScheduleShown:
    """A stored schedule on the wire: the weekly hours in day order, exceptions from today on."""
    schedule = stored.schedule
    return ScheduleShown(
        provider_id=stored.provider_id,
        time_zone=schedule.zone,
        weekly=[
            WeeklyHours(day=DAY_NAMES[n], start=clock_text(h.start), end=clock_text(h.end))
            for n, day in enumerate(schedule.weekly)
            for h in day
        ],
        exceptions=[
            ScheduleException(
                date=day.isoformat(),
                hours=[HoursShown(start=clock_text(h.start), end=clock_text(h.end)) for h in hours],
            )
            for day, hours in sorted(schedule.exceptions.items())
            if day >= today
        ],
        horizon_days=schedule.horizon_days,
        filled_until=stored.filled_until.isoformat(),
    )


async def put_schedule(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_manage_schedule(caller, provider_id)
    body = await read_body(request, ScheduleRequest)
    schedule = schedule_from(body, ctx.rules.slot_seconds)
    now = ctx.now()

    def render(result: ScheduleResult) -> Answer:
        return answered(
            ScheduleSet(
                message=f"Schedule set: {result.created} slots opened, {result.deleted} removed"
                + (f", {len(result.kept)} held or booked kept" if result.kept else ""),
                schedule=presented(result.stored, result.stored.schedule.today(now)),
                created=result.created,
                deleted=result.deleted,
                kept=[present_slot(s, now, with_client=True) for s in result.kept],
            )
        )

    response = await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.set_schedule(
            provider_id, schedule, now, keep_exceptions=body.exceptions is UNSET, once=once
        ),
    )
    ctx.sweeper.schedules_changed()
    ctx.forget_listings(provider_id)
    return response


async def get_schedule(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_manage_schedule(caller, provider_id)
    found = await ctx.store.get_schedule(provider_id)
    if found is None:
        raise _not_found(provider_id)
    return answer(ScheduleAnswer(schedule=presented(found, found.schedule.today(ctx.now()))))


async def delete_schedule(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = provider_id_from_path(request)
    may_manage_schedule(caller, provider_id)
    now = ctx.now()

    def render(result: RemoveResult) -> Answer:
        return answered(
            ScheduleRemoved(
                message=f"Schedule removed, and the {result.deleted} open slots it made",
                deleted=result.deleted,
                kept=[present_slot(s, now, with_client=True) for s in result.kept],
            )
        )

    try:
        return await perform(
            request,
            caller,
            render,
            lambda once: ctx.store.remove_schedule(provider_id, now, once=once),
        )
    except ScheduleNotFound:
        raise _not_found(provider_id) from None


def _not_found(provider_id: str) -> ProblemError:
    return ProblemError(
        "schedule-not-found",
        f"Provider {provider_id} has no schedule; PUT one to this path to set it",
    )


_PATH = "/providers/{providerId}/schedule"
_MANAGE = "Only the provider itself (or an admin) manages its schedule"

OPERATIONS = [
    Operation(
        "PUT",
        _PATH,
        put_schedule,
        summary="Set a provider's weekly schedule; its slots are kept filled from now to the"
        " horizon",
        tag="schedules",
        body=ScheduleRequest,
        path_params={"providerId": PartyId},
        answers={200: (ScheduleSet, "The schedule in force, and what setting it changed")},
        problems={
            403: _MANAGE,
            422: "A time off the slot grid, an end not after its start, or windows that overlap"
            " on one day",
        },
        description="Hours are wall-clock times in `timeZone`, exact across daylight-saving"
        " changes. Only open slots are created or removed; held and booked ones outside the new"
        " hours are reported in `kept`. Leave `exceptions` out to keep those in force (including"
        " the dates that availability painted or erased by hand has made exceptions of). A PUT of"
        " the schedule already in force changes nothing.",
    ),
    Operation(
        "GET",
        _PATH,
        get_schedule,
        summary="A provider's weekly schedule, with its exceptions from today on",
        tag="schedules",
        path_params={"providerId": PartyId},
        answers={200: (ScheduleAnswer, "The schedule in force")},
        problems={403: _MANAGE, 404: "The provider has no schedule"},
    ),
    Operation(
        "DELETE",
        _PATH,
        delete_schedule,
        summary="Drop a provider's schedule and the future open slots it made",
        tag="schedules",
        path_params={"providerId": PartyId},
        answers={200: (ScheduleRemoved, "Removed; held and booked slots it made stay")},
        problems={403: _MANAGE, 404: "The provider has no schedule"},
    ),
]
