"""Which time zone the terminal app shows times in.

Times travel between the app and the server as UTC; people read them in their own zone. Which zone
that is, first match wins:

1. the zone the user names: --tz, else SLOTBOOK_TZ, else `tz` in the config file (tui/config.py);
2. for a provider, the zone of their usual week (their schedule on the server, whose zone they
   choose in the app with `z`), so that the week they paint reads in the hours they keep;
3. the zone the machine is set to: the TZ variable, else /etc/localtime, else /etc/timezone;
4. UTC.

`starting_zone` settles 1, 3 and 4 at start (`local_zone`), and says whether the user named it;
`schedule_zone` is step 2, which the app applies when it learns a provider's schedule (at sign-in,
and whenever the schedule's zone changes) unless the user named one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.zones import VARIANT_FOLDERS, is_zone_name, zone_hint

LOCALTIME = Path("/etc/localtime")
"""The usual symlink into the zone database that says the machine's zone."""

TIMEZONE_FILE = Path("/etc/timezone")
"""Debian's file holding the machine's zone name."""

_ZONEINFO_MARKER = "zoneinfo/"


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone called `name`, or None when it is not the zone of a place (shared.zones:
    not 'localtime', 'Factory', 'posixrules' or a 'posix/' or 'right/' copy)."""
    return ZoneInfo(name) if is_zone_name(name) else None


def local_zone(
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    localtime: Path = LOCALTIME,
    timezone_file: Path = TIMEZONE_FILE,
) -> ZoneInfo:
    """The zone to show times in.

    `name`, when given, must be an IANA zone ("Europe/Berlin"); an unknown one is a ValueError
    whose message says what to give instead. Without it: the TZ variable of `environ` (default
    os.environ) if it names an IANA zone, else the zone /etc/localtime links to, else the name in
    /etc/timezone, else UTC.
    """
    if name is not None:
        return _required_zone(name)
    env = os.environ if environ is None else environ
    for candidate in (
        _zone_from_tz_variable(env.get("TZ", "")),
        _zone_from_symlink(localtime),
        _zone_from_file(timezone_file),
    ):
        if candidate is not None:
            return candidate
    return ZoneInfo("UTC")


def starting_zone(name: str | None, environ: Mapping[str, str]) -> tuple[ZoneInfo, bool]:
    """The zone the app starts in, as `local_zone` finds it, and whether the user named it
    (`name`: --tz, SLOTBOOK_TZ or the config file), so that a schedule's zone does not replace
    it."""
    return local_zone(name, environ), name is not None


def _required_zone(name: str) -> ZoneInfo:
    """The zone called `name`; a ValueError explaining what a zone name looks like if none is."""
    zone = zone_named(name.strip())
    if zone is None:
        raise ValueError(f"unknown time zone {name!r}: {zone_hint(name)}")
    return zone


def _zone_from_tz_variable(value: str) -> ZoneInfo | None:
    """The zone a TZ value names: 'Europe/Berlin', ':Europe/Berlin', or a path into zoneinfo.

    POSIX rule strings such as 'CET-1CEST' name no IANA zone and give None.
    """
    text = value.strip().removeprefix(":")
    if not text:
        return None
    key = _key_from_path(text) if text.startswith("/") else text
    return zone_named(key) if key else None


def _zone_from_symlink(link: Path) -> ZoneInfo | None:
    """The zone a symlink such as /etc/localtime -> /usr/share/zoneinfo/Europe/Berlin points at."""
    try:
        target = os.readlink(link)
    except OSError:  # missing, or a plain file copied from the zone database
        return None
    key = _key_from_path(target)
    return zone_named(key) if key else None


def _zone_from_file(path: Path) -> ZoneInfo | None:
    """The zone named on the first line of a file such as /etc/timezone."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    key = lines[0].strip() if lines else ""
    return zone_named(key) if key else None


def _key_from_path(path: str) -> str:
    """'Europe/Berlin' from '/usr/share/zoneinfo/Europe/Berlin' (or '.../zoneinfo/posix/...');
    '' when the path is not inside a zone database."""
    _, marker, key = path.rpartition(_ZONEINFO_MARKER)
    if not marker:
        return ""
    for prefix in VARIANT_FOLDERS:  # a copy of the zone that follows the folder's name
        key = key.removeprefix(prefix)
    return key


def schedule_zone(name: str, *, chosen: bool) -> ZoneInfo | None:
    """The zone a provider's schedule is in, to show their times in; None when the user chose
    the zone themselves (step 1 above wins over the schedule's) or the name is no zone here."""
    return None if chosen else zone_named(name)
