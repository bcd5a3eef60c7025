"""Which zone the app shows times in: a named one, else the machine's (TZ, /etc/localtime,
/etc/timezone), else UTC. The machine's files are stand-ins in tmp_path."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tui.timezone import local_zone


@pytest.fixture
def nowhere(tmp_path: Path) -> dict[str, Path]:
    """Paths for /etc/localtime and /etc/timezone that do not exist."""
    return {"localtime": tmp_path / "no-localtime", "timezone_file": tmp_path / "no-timezone"}


def link(tmp_path: Path, target: str) -> Path:
    """A stand-in /etc/localtime: a symlink to `target` (which need not exist)."""
    path = tmp_path / "localtime"
    path.symlink_to(target)
    return path


def test_a_named_zone_wins_over_everything(tmp_path: Path) -> None:
    localtime = link(tmp_path, "/usr/share/zoneinfo/Asia/Tokyo")
    zone = local_zone("Europe/Berlin", {"TZ": "America/New_York"}, localtime=localtime)
    assert zone == ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "Europe", "", "  ", "../etc/passwd", "CET-1"]
)
def test_an_unknown_named_zone_is_a_value_error_that_says_what_to_give(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone") as raised:
        local_zone(name, {})
    assert repr(name) in str(raised.value)
    said = str(raised.value).split(": ", 1)[1]
    if said.startswith("did you mean"):  # a real zone near the name, e.g. 'CET' for 'CET-1'
        assert local_zone(said.split("'")[1], {}) is not None
    else:
        assert said == "e.g. 'Europe/Berlin'"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("localtime", "e.g. 'Europe/Berlin'"),
        ("Factory", "e.g. 'Europe/Berlin'"),
        ("posixrules", "e.g. 'Europe/Berlin'"),
        ("right/UTC", "did you mean 'UTC'?"),
        ("posix/Asia/Tokyo", "did you mean 'Asia/Tokyo'?"),
        ("europe/lisbon", "did you mean 'Europe/Lisbon'?"),
    ],
)
def test_a_name_that_is_no_places_zone_is_refused_with_the_nearest_real_one(
    name: str, hint: str
) -> None:
    with pytest.raises(ValueError, match="unknown time zone") as raised:
        local_zone(name, {})
    assert str(raised.value) == f"unknown time zone {name!r}: {hint}"


@pytest.mark.parametrize("name", ["EST5EDT", "US/Eastern", "Asia/Calcutta", "UTC", "Etc/GMT+5"])
def test_zones_of_the_zone_tables_and_their_old_names_are_taken(name: str) -> None:
    assert str(local_zone(name, {})) == name


def test_a_machine_set_to_a_zone_of_no_place_is_passed_over(
    tmp_path: Path, nowhere: dict[str, Path]
) -> None:
    localtime = link(tmp_path, "/usr/share/zoneinfo/Factory")
    timezone_file = tmp_path / "timezone"
    timezone_file.write_text("posixrules\n")
    for tz, names in (("Factory", nowhere["timezone_file"]), (":localtime", timezone_file)):
        zone = local_zone(environ={"TZ": tz}, localtime=localtime, timezone_file=names)
        assert zone == ZoneInfo("UTC")


@pytest.mark.parametrize(
    "tz",
    ["America/New_York", ":America/New_York", "/usr/share/zoneinfo/America/New_York"],
)
def test_the_tz_variable_comes_next(tmp_path: Path, tz: str) -> None:
    localtime = link(tmp_path, "/usr/share/zoneinfo/Asia/Tokyo")
    assert local_zone(environ={"TZ": tz}, localtime=localtime) == ZoneInfo("America/New_York")


@pytest.mark.parametrize("tz", ["CET-1CEST,M3.5.0,M10.5.0/3", "Nowhere/Special", "", ":"])
def test_a_tz_that_names_no_iana_zone_is_passed_over(tmp_path: Path, tz: str) -> None:
    localtime = link(tmp_path, "/usr/share/zoneinfo/Asia/Tokyo")
    assert local_zone(environ={"TZ": tz}, localtime=localtime) == ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    "target",
    [
        "/usr/share/zoneinfo/Europe/Lisbon",
        "../usr/share/zoneinfo/Europe/Lisbon",
        "/var/db/timezone/zoneinfo/Europe/Lisbon",
        "/usr/share/zoneinfo/posix/Europe/Lisbon",
    ],
)
def test_the_localtime_symlink_names_the_zone(
    tmp_path: Path, nowhere: dict[str, Path], target: str
) -> None:
    zone = local_zone(
        environ={}, localtime=link(tmp_path, target), timezone_file=nowhere["timezone_file"]
    )
    assert zone == ZoneInfo("Europe/Lisbon")
    assert str(zone) == "Europe/Lisbon"


def test_etc_timezone_is_read_when_localtime_says_nothing(tmp_path: Path) -> None:
    copied = tmp_path / "localtime"
    copied.write_bytes(b"TZif not a link")  # some systems copy the zone file instead of linking
    timezone_file = tmp_path / "timezone"
    timezone_file.write_text("Australia/Adelaide\n")
    zone = local_zone(environ={}, localtime=copied, timezone_file=timezone_file)
    assert zone == ZoneInfo("Australia/Adelaide")


def test_a_symlink_outside_a_zone_database_falls_through_to_etc_timezone(tmp_path: Path) -> None:
    timezone_file = tmp_path / "timezone"
    timezone_file.write_text("Africa/Nairobi")
    localtime = link(tmp_path, "/opt/somewhere/else")
    zone = local_zone(environ={}, localtime=localtime, timezone_file=timezone_file)
    assert zone == ZoneInfo("Africa/Nairobi")


@pytest.mark.parametrize("content", ["", "\n", "Not/AZone\n"])
def test_utc_when_nothing_names_a_zone(
    tmp_path: Path, nowhere: dict[str, Path], content: str
) -> None:
    timezone_file = tmp_path / "timezone"
    timezone_file.write_text(content)
    missing = nowhere["localtime"]
    assert local_zone(environ={}, localtime=missing, timezone_file=timezone_file) == ZoneInfo("UTC")
    assert local_zone(environ={}, localtime=missing, timezone_file=nowhere["timezone_file"]) == (
        ZoneInfo("UTC")
    )


def test_without_environ_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, nowhere: dict[str, Path]
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    zone = local_zone(localtime=nowhere["localtime"], timezone_file=nowhere["timezone_file"])
    assert zone == ZoneInfo("Pacific/Auckland")
