"""`slotbook-server secret-key`: a new key for --secret-key, printed."""

from __future__ import annotations

import sys

from backend.runtime.secret_box import new_key


def run_secret_key_command() -> int:
    """Print a new key alone on stdout (for `$(...)` or a file), and on stderr where it goes."""
    print(new_key())
    print(
        "slotbook-server: give the server this key as --secret-key or in SLOTBOOK_SECRET_KEY, and"
        " keep a copy: the calendar passwords it stores open with this key only",
        file=sys.stderr,
    )
    return 0
