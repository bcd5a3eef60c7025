"""The colour themes slotbook offers, and the one the user last chose.

Every Textual theme but those that take their colours from the terminal's own palette (ansi-dark,
ansi-light): slotbook cannot know those colours, so it cannot promise they read well. A theme picked
in the command palette is remembered in `preferences.json` in the data folder and used at the
next start, unless `--theme` or the config file names one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

DEFAULT_THEME = "textual-dark"
PREFERENCES = "preferences.json"


def offered_themes() -> list[str]:
    """The names of the themes slotbook offers, sorted."""
    from textual.theme import BUILTIN_THEMES  # only when asked: the command line starts fast

    return sorted(name for name in BUILTIN_THEMES if not name.startswith("ansi-"))


class Preferences(msgspec.Struct, kw_only=True):
    """What the app remembers of the user's choices between runs."""

    theme: str | None = None


def load_preferences(folder: Path) -> Preferences:
    """The remembered choices; none when the file is missing or cannot be read."""
    try:
        return msgspec.json.decode((folder / PREFERENCES).read_bytes(), type=Preferences)
    except (OSError, msgspec.MsgspecError):
        return Preferences()


def save_preferences(folder: Path, preferences: Preferences) -> None:
    """Write the choices whole (a new file moved into place), so a crash leaves the old one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PREFERENCES
    partial = path.with_suffix(".tmp")
    partial.write_bytes(msgspec.json.encode(preferences))
    os.replace(partial, path)
    with contextlib.suppress(OSError):
        path.chmod(0o600)
