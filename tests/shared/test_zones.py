"""The zone names slotbook takes: tzdata's zone tables and their old names, from the `tzdata`
package's list (the same on every machine), none that is the zone of no place; and the names
nearest to one it does not take."""

from __future__ import annotations

import zoneinfo
from importlib import resources

import pytest

from shared.zones import is_zone_name, nearest_zones, zone_hint, zone_names, zones_matching


def test_the_names_are_the_tzdata_packages_list_less_the_zone_of_no_place() -> None:
    listed = set(resources.files("tzdata").joinpath("zones").read_text().split())
    assert zone_names() == listed - {"Factory"}
    assert len(zone_names()) > 500
    for name in zone_names():
        assert zoneinfo.ZoneInfo(name) is not None  # each one loads


@pytest.mark.parametrize(
    "name",
    ["Europe/Berlin", "UTC", "EST5EDT", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/GMT-14"],
)
def test_zones_and_their_backward_links_are_taken(name: str) -> None:
    assert is_zone_name(name)


@pytest.mark.parametrize(
    "name",
    ["Factory", "localtime", "posixrules", "right/UTC", "posix/Europe/Berlin", "europe/berlin"],
)
def test_names_of_no_place_are_not_taken(name: str) -> None:
    assert not is_zone_name(name)


def test_no_system_copy_of_a_zone_is_in_the_list() -> None:
    assert not any(name.startswith(("posix/", "right/")) for name in zone_names())


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("right/UTC", ["UTC"]),
        ("posix/Europe/Berlin", ["Europe/Berlin"]),
        ("europe/berlin", ["Europe/Berlin"]),
        ("Europe/Berln", ["Europe/Berlin"]),
        ("Berln", ["Europe/Berlin"]),
        ("Tokio", ["Asia/Tokyo"]),
        ("new york", ["America/New_York"]),
        ("Mars/Olympus", []),
        ("Factory", []),
    ],
)
def test_the_nearest_real_zone_is_found(name: str, nearest: list[str]) -> None:
    assert nearest_zones(name, 1) == nearest
    assert zone_hint(name) == (
        f"did you mean '{nearest[0]}'?" if nearest else "e.g. 'Europe/Berlin'"
    )


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Berlin", ["Europe/Berlin"]),
        ("berlin", ["Europe/Berlin"]),
        ("  BERLIN ", ["Europe/Berlin"]),
        ("europe/berlin", ["Europe/Berlin"]),
        ("new york", ["America/New_York"]),
        ("Berl", ["Europe/Berlin"]),
        ("Eastern", ["Canada/Eastern", "US/Eastern"]),
        ("utc", ["UTC"]),
        ("Atlantis", []),
        ("", []),
    ],
)
def test_a_partly_typed_name_finds_the_zones_it_may_mean(typed: str, found: list[str]) -> None:
    assert zones_matching(typed) == found
