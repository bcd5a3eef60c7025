"""The version of slotbook that is running, as installed."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version


@functools.cache
def slotbook_version() -> str:
    """Looked up once per process (the lookup reads the installed packages' metadata, a few
    milliseconds; every calendar feed names the version)."""
    try:
        return version("slotbook")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "0.0.0"
