"""msgspec's complaints about a request, as the field errors a problem document lists: the field's
name, and what it must be in words (from the Struct's own types), never a regular expression."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import msgspec

from shared.patterns import (
    CLOCK_PATTERN,
    CURSOR_PATTERN,
    DATE_PATTERN,
    ID_PATTERN,
    ID_RULE,
    NOTE_PATTERN,
    TEXT_PATTERN,
    TEXT_RULE,
    URL_PATTERN,
    URL_RULE,
)
from shared.timefmt import TIME_PATTERN
from shared.wire import FieldError

_PATTERN_RULES = {ID_PATTERN: ID_RULE, TEXT_PATTERN: TEXT_RULE, URL_PATTERN: URL_RULE}
_SLOT_ID_RULE = "must be the id the server gave the slot: 32 lowercase hex digits"
TIME_RULE = (
    "must be a time of at most 64 characters: 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an"
    " offset, e.g. '2030-08-30T14:00:00+02:00'"
)
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED = re.compile(r"field `([^`]+)`")


@functools.cache
def field_types(kind: type[msgspec.Struct]) -> Mapping[str, msgspec.inspect.Type]:
    """A Struct's fields by wire name, each with its type (with its metadata, if it has any;
    msgspec leaves out UNSET already)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.encode_name: f.type for f in info.fields}


def rule_of(field: msgspec.inspect.Type) -> str | None:
    """What a field must be, in words, from its type: a hint clearer than msgspec's own."""
    extra = field.extra_json_schema if isinstance(field, msgspec.inspect.Metadata) else None
    if (extra or {}).get("pattern") == TIME_PATTERN:
        return TIME_RULE
    kind = field.type if isinstance(field, msgspec.inspect.Metadata) else field
    if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        what = "whole number" if isinstance(kind, msgspec.inspect.IntType) else "number"
        if kind.ge is not None and kind.le is not None:
            return f"must be a {what} from {kind.ge} to {kind.le}"
        return None  # pragma: no cover - every number in a request has both bounds
    if isinstance(kind, msgspec.inspect.BoolType):
        return "must be true or false"
    if isinstance(kind, msgspec.inspect.LiteralType):
        return "must be one of " + ", ".join(f"'{v}'" for v in kind.values)
    if isinstance(kind, msgspec.inspect.StrType) and kind.pattern is not None:
        if kind.pattern in _PATTERN_RULES:
            return f"must be {kind.min_length}-{kind.max_length} {_PATTERN_RULES[kind.pattern]}"
        if kind.pattern == NOTE_PATTERN:
            return (
                f"must be at most {kind.max_length} characters of plain text on one line:"
                f" {TEXT_RULE}; empty for no note"
            )
        if kind.pattern == CURSOR_PATTERN:
            return "must be the nextCursor of the previous page"
        if kind.pattern == CLOCK_PATTERN:
            return "must be a time of day, 'HH:MM' (24:00 only as an end)"
        if kind.pattern == DATE_PATTERN:
            return "must be a real date, 'YYYY-MM-DD', in the years 1970 to 9998"
        return _SLOT_ID_RULE if "[0-9a-f]{32}" in kind.pattern else None
    return None


_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")


def _field_at(kind: type[msgspec.Struct], path: str) -> msgspec.inspect.Type | None:
    """The type of the field at a path such as `weekly[2].start`, through nested Structs and
    lists."""
    current: msgspec.inspect.Type = msgspec.inspect.type_info(kind)
    for name, _index in _STEP.findall(path):
        if isinstance(current, msgspec.inspect.Metadata):
            current = current.type
        if isinstance(current, msgspec.inspect.ListType) and not name:
            current = current.item_type
            continue
        if not isinstance(current, msgspec.inspect.StructType) or not name:
            return None
        found = next((f.type for f in current.fields if f.encode_name == name), None)
        if found is None:
            return None
        current = found
    return current


def field_error(kind: type[msgspec.Struct], error: msgspec.ValidationError) -> FieldError:
    """The field a complaint is about, by its path (`startTime`, `weekly[2].start`), and what it
    must be in words."""
    text = str(error)
    where = _AT.search(text)
    message = _AT.sub("", text)
    named = _NAMED.search(message)
    path = where.group(1) if where else ""
    if named and message.startswith("Object"):  # missing or unknown: named in the message
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    name = path or "body"
    field = _field_at(kind, path) if path else None
    rule = rule_of(field) if field is not None else None
    if message.startswith("Object missing required field"):
        message = "is required"
    elif message.startswith("Object contains unknown field"):
        message = "is not a field of this request"
    elif rule is not None and message.startswith(("Expected `", "Invalid enum value")):
        message = rule
    return FieldError(field=name, message=message)
