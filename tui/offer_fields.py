"""The fields of an appointment type as a provider fills them in: what each is
called, what it takes, what typed text means, and the request that saving sends.

Numbers are read here, so that text that is no number is said next to its field before anything
is sent; what a number may be (whole slots, ranges) is the server's to say, and the form shows its
answer next to the field it names. The notice is typed in hours, as the rest of the app says it
(`bookings need 24 hours' notice`), and sent in minutes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from msgspec import UNSET

from shared.grid import describe_length
from shared.service_wire import Service, ServicePatch, ServiceRequest
from shared.wire import RulesInForce
from tui.screens.note import cleaned
from tui.words import hours


class Kind(Enum):
    """What a field takes, and what blank means."""

    TEXT = "text"
    LENGTH = "length"
    """Whole minutes, required."""
    BUFFER = "buffer"
    """Whole minutes; blank: none."""
    NOTICE = "notice"
    """Hours (a fraction that makes whole minutes); blank: the server's notice."""
    OPTIONAL = "optional"
    """A whole number; blank: no limit (null)."""


@dataclass(frozen=True)
class Field:
    key: str
    """The field's name on the wire (camelCase), as a refusal's `errors` name it."""
    attr: str
    """Its name in the wire Structs."""
    label: str
    kind: Kind
    hint: str
    """Said next to the field until there is something wrong with it."""
    example: str
    """The input's placeholder."""
    takes: str = ""
    """What a number field takes, in words, for text that is none ("a whole number of days")."""


Values = dict[str, object]
"""What the fields say, by attribute: a number, a text, or None (blank: the default, or none)."""


def fields(rules: RulesInForce) -> list[Field]:
    slot = round(rules.slot_minutes)
    longest = describe_length(max(slot, rules.max_appointment_minutes) * 60)
    usual = hours(rules.notice_hours)
    return [
        Field("name", "name", "Name", Kind.TEXT, "what clients choose", "e.g. Follow-up"),
        Field(
            "minutes",
            "minutes",
            "Length (minutes)",
            Kind.LENGTH,
            f"whole slots of {slot} min, up to {longest}",
            f"e.g. {2 * slot}",
            f"a whole number of minutes, like {2 * slot}",
        ),
        Field(
            "bufferBeforeMinutes",
            "buffer_before_minutes",
            "Buffer before (min)",
            Kind.BUFFER,
            "kept free before it, to get ready; 0: none",
            "0",
            f"a whole number of minutes, like {slot}, or 0",
        ),
        Field(
            "bufferAfterMinutes",
            "buffer_after_minutes",
            "Buffer after (min)",
            Kind.BUFFER,
            "kept free after it, to write up; 0: none",
            "0",
            f"a whole number of minutes, like {slot}, or 0",
        ),
        Field(
            "noticeMinutes",
            "notice_minutes",
            "Notice (hours)",
            Kind.NOTICE,
            f"booked at least this long before; blank: the usual {usual}",
            f"{rules.notice_hours:g}",
            "a number of hours, like 24 or 1.5",
        ),
        Field(
            "maxAdvanceDays",
            "max_advance_days",
            "Bookable ahead (days)",
            Kind.OPTIONAL,
            "at most this many days ahead; blank: as far as you are open",
            "no limit",
            "a whole number of days, like 28, or nothing for no limit",
        ),
        Field(
            "dailyLimit",
            "daily_limit",
            "Daily limit",
            Kind.OPTIONAL,
            "at most this many a day; blank: no limit",
            "no limit",
            "a whole number, like 6, or nothing for no limit",
        ),
        Field(
            "description",
            "description",
            "Description",
            Kind.TEXT,
            "what clients read about it, one line",
            "e.g. A shorter session to check progress",
        ),
    ]


TOO_LARGE = 10**9
"""Past any field's range (the server says what the range is), and far short of what JSON's
numbers can carry."""


class Unreadable(Exception):
    """Typed text that is not what the field takes: the message says what to type instead."""


def read(field: Field, text: str) -> object:
    """What the text typed in a field means (None: blank, where blank is allowed)."""
    typed = text.strip()
    if field.kind is Kind.TEXT:
        return cleaned(text)
    if not typed:
        if field.kind is Kind.LENGTH:
            raise Unreadable("say how long it is, in minutes")
        return 0 if field.kind is Kind.BUFFER else None
    try:
        value = _notice_minutes(typed) if field.kind is Kind.NOTICE else int(typed)
    except ValueError:
        raise Unreadable(f"'{typed}' is not {field.takes}") from None
    if abs(value) >= TOO_LARGE:
        raise Unreadable(f"{typed} is far too many")
    return value


def _notice_minutes(typed: str) -> int:
    minutes = float(typed) * 60
    if not math.isfinite(minutes):
        raise ValueError(typed)
    if abs(minutes - round(minutes)) > 1e-6:
        raise Unreadable(
            f"{typed} hours is {minutes:g} minutes: give hours that make whole minutes, like 1.5"
        )
    return round(minutes)


def read_all(form: list[Field], texts: Mapping[str, str]) -> tuple[Values, dict[str, str]]:
    """Every field's value by attribute, and what cannot be read, by wire name."""
    values: Values = {}
    problems: dict[str, str] = {}
    for field in form:
        try:
            values[field.attr] = read(field, texts.get(field.key, ""))
        except Unreadable as error:
            problems[field.key] = str(error)
    return values, problems


def texts_of(form: list[Field], service: Service | None) -> dict[str, str]:
    """What each field shows at first: a new type's defaults, or the type as it is."""
    if service is None:
        return {f.key: "0" if f.kind is Kind.BUFFER else "" for f in form}
    shown: dict[str, str] = {}
    for field in form:
        value = getattr(service, field.attr)
        if field.kind is Kind.NOTICE:
            shown[field.key] = f"{value / 60:g}"
        else:
            shown[field.key] = "" if value is None else str(value)
    return shown


def request(values: Values) -> ServiceRequest:
    """POST's body: a new type (the notice, when blank, left to the server)."""
    notice = values["notice_minutes"]
    return ServiceRequest(
        name=str(values["name"]),
        minutes=_whole(values["minutes"]),
        buffer_before_minutes=_whole(values["buffer_before_minutes"]),
        buffer_after_minutes=_whole(values["buffer_after_minutes"]),
        notice_minutes=UNSET if notice is None else _whole(notice),
        max_advance_days=_optional(values["max_advance_days"]),
        daily_limit=_optional(values["daily_limit"]),
        description=str(values["description"]),
    )


def patch(service: Service, values: Values, usual_notice_minutes: int) -> ServicePatch | None:
    """PATCH's body: only the fields that differ from the type as it is (a blank notice is the
    usual one); None when nothing does."""
    if values.get("notice_minutes") is None:
        values = {**values, "notice_minutes": usual_notice_minutes}
    changed = {
        attr: value
        for attr, value in values.items()
        if attr in ServicePatch.__struct_fields__ and getattr(service, attr) != value
    }
    return ServicePatch(**changed) if changed else None  # type: ignore[arg-type]


def _whole(value: object) -> int:
    assert isinstance(value, int)
    return value


def _optional(value: object) -> int | None:
    return None if value is None else _whole(value)
