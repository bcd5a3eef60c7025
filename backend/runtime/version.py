"""The version of slotbook that is running, as installed."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def slotbook_version() -> str:
    try:
        return version("slotbook")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "0.0.0"
