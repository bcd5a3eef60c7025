"""A migrated SQLite database to start a test from: made once per test process and copied (a
copy takes a millisecond; the thirteen migrations, with their fsyncs, thirty), as the PostgreSQL
tests copy a migrated template database."""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from sqlite_utils import Database

from backend.store.sqlite.schema import apply_migrations


@functools.cache
def _template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="slotbook-template-")) / "template.db"
    db = Database(path)
    try:
        apply_migrations(db)
    finally:
        db.close()
    return path


def migrated_copy(path: Path) -> Path:
    """`path` made a database with every migration applied, as a new server would leave it."""
    shutil.copyfile(_template(), path)
    return path
