"""The time-zone names slotbook takes, and the nearest of them to a name it does not.

The names are those of the `tzdata` package's `zones` file, which its documentation describes as
listing every IANA key of the zone files it ships: the zones of tzdata's zone tables and the
links of its `backward` file (old names such as 'US/Eastern', 'Asia/Calcutta' and 'EST5EDT'). So
the list is the same on every machine, whatever zone files the system has; the zone's rules are
still read by `zoneinfo`. Of those names, 'Factory' (tzdata's zone for a machine not yet set up,
'-00') is the zone of no place and is refused; 'localtime', 'posixrules' and the 'posix/' and
'right/' copies that system zone folders keep are not in the list at all.
"""

from __future__ import annotations

import difflib
import functools
from importlib import resources

NOT_PLACES = frozenset({"Factory"})
"""Names in tzdata's list that are the zone of no place."""

VARIANT_FOLDERS = ("posix/", "right/")
"""Folders in which system zone databases keep copies of the zones (`right/` with leap seconds)."""

EXAMPLE = "Europe/Berlin"


@functools.cache
def zone_names() -> frozenset[str]:
    """Every zone name slotbook takes."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listed.split()) - NOT_PLACES


def is_zone_name(name: str) -> bool:
    """Whether `name` is a zone slotbook takes, exactly as written."""
    return name in zone_names()


@functools.cache
def _by_folded() -> dict[str, str]:
    """Each zone name under its case-folded form."""
    return {name.casefold(): name for name in zone_names()}


@functools.cache
def _by_place() -> dict[str, tuple[str, ...]]:
    """The zone names under each case-folded part of a name ('berlin', 'europe', 'indiana')."""
    found: dict[str, list[str]] = {}
    for name in sorted(zone_names()):
        for part in name.casefold().split("/"):
            found.setdefault(part, []).append(name)
    return {part: tuple(names) for part, names in found.items()}


def _key(text: str) -> str:
    """A typed name as the names are compared: case-folded, spaces as underscores."""
    return text.strip().casefold().replace(" ", "_")


def zones_matching(text: str) -> list[str]:
    """The zones a partly typed name may mean, in order: the zone itself, in any capitalisation
    ('europe/berlin'); else those with a part that is `text` ('Berlin', 'new york'); else those
    whose name contains it ('Berl'). Empty when none does."""
    key = _key(text)
    if not key:
        return []
    exact = _by_folded().get(key)
    if exact is not None:
        return [exact]
    by_part = _by_place().get(key)
    if by_part:
        return list(by_part)
    return sorted(name for folded, name in _by_folded().items() if key in folded)


def nearest_zones(name: str, count: int = 3) -> list[str]:
    """The zone names nearest to `name`, nearest first (at most `count`; none when nothing is
    alike): the zone a 'posix/' or 'right/' copy or another capitalisation names, else the names
    spelt most alike (difflib), whole ('Europe/Berln') or by their place ('Berln')."""
    key = _key(name)
    for folder in VARIANT_FOLDERS:
        key = key.removeprefix(folder)
    exact = _by_folded().get(key)
    if exact is not None:
        return [exact]
    whole = difflib.get_close_matches(key, _by_folded(), n=count, cutoff=0.6)
    places = difflib.get_close_matches(key.rpartition("/")[2], _by_place(), n=count, cutoff=0.75)
    found = [_by_folded()[folded] for folded in whole]
    found += [zone for place in places for zone in _by_place()[place]]
    return list(dict.fromkeys(found))[:count]


def zone_hint(name: str) -> str:
    """What to say after refusing `name`: the nearest real zone, or an example of one."""
    nearest = nearest_zones(name, 1)
    return f"did you mean '{nearest[0]}'?" if nearest else f"e.g. '{EXAMPLE}'"
