"""What `slotbook-server check` asks of a SQLite database: SQLite's own integrity check, then the
rules slotbook keeps on every write, read back from the tables.

Each rule is one query that returns the rows breaking it (at most a few, as examples), so a
healthy database costs one pass over each table and a broken one says where it is broken.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

EXAMPLES = 3
"""How many offending rows a finding names."""


@dataclass(frozen=True)
class Finding:
    """One rule the database breaks, with a few of the rows that break it."""

    rule: str
    examples: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule}: {'; '.join(self.examples)}"


@dataclass(frozen=True)
class Rule:
    """An invariant: its name as a report says it, and a query for the rows that break it (each
    row a few columns, shown joined)."""

    name: str
    breaking: str


RULES = (
    Rule(
        "no slot with two holders (a provider's slots never overlap)",
        """
        SELECT provider_id, id, previous_id, start FROM (
            SELECT provider_id, id, start,
                   LAG(id) OVER mine AS previous_id,
                   LAG(start + duration) OVER mine AS previous_end
              FROM slots WINDOW mine AS (PARTITION BY provider_id ORDER BY start)
        ) WHERE start < previous_end
        """,
    ),
    Rule(
        "every held or booked slot has its holder, and only those",
        """
        SELECT id, status, client_id FROM slots
         WHERE (status IN ('RESERVED', 'CONFIRMED')
                AND (client_id IS NULL OR reserved_at IS NULL OR appointment_id IS NULL))
            OR (status = 'AVAILABLE' AND (client_id IS NOT NULL OR appointment_id IS NOT NULL))
            OR status NOT IN ('AVAILABLE', 'RESERVED', 'CONFIRMED')
        """,
    ),
    Rule(
        "every hold's expiry is consistent (set on a hold only, after it was made, before the"
        " slot starts)",
        """
        SELECT id, status, reserved_at, held_until FROM slots
         WHERE (status = 'RESERVED'
                AND (held_until IS NULL OR held_until < reserved_at OR held_until > start))
            OR (status != 'RESERVED' AND held_until IS NOT NULL)
        """,
    ),
    Rule(
        "the slots of one appointment share its holder, status, expiry, type and buffers",
        """
        SELECT appointment_id, COUNT(*) FROM slots
         WHERE appointment_id IS NOT NULL
         GROUP BY appointment_id
        HAVING COUNT(DISTINCT client_id) > 1 OR COUNT(DISTINCT status) > 1
            OR COUNT(DISTINCT COALESCE(held_until, -1)) > 1
            OR COUNT(DISTINCT COALESCE(service_id, '')) > 1
            OR COUNT(DISTINCT buffer_before) > 1 OR COUNT(DISTINCT buffer_after) > 1
        """,
    ),
    Rule(
        "no appointment lies in another's buffer (each keeps the larger of the earlier one's"
        " buffer after and the later one's buffer before clear between them)",
        """
        WITH live AS (
            SELECT provider_id, appointment_id, MIN(start) AS first, MAX(start + duration) AS ends,
                   MAX(buffer_before) AS before, MAX(buffer_after) AS after
              FROM slots
             WHERE appointment_id IS NOT NULL
               AND (status = 'CONFIRMED' OR (status = 'RESERVED'
                    AND held_until > (julianday('now') - 2440587.5) * 86400.0))
             GROUP BY provider_id, appointment_id
        ), paired AS (
            SELECT provider_id, appointment_id, first, before,
                   LAG(appointment_id) OVER mine AS earlier, LAG(ends) OVER mine AS earlier_ends,
                   LAG(after) OVER mine AS earlier_after
              FROM live WINDOW mine AS (PARTITION BY provider_id ORDER BY first)
        )
        SELECT provider_id, earlier, appointment_id FROM paired
         WHERE earlier IS NOT NULL AND first >= earlier_ends
           AND first - earlier_ends < MAX(earlier_after, before)
        """,
    ),
    Rule(
        "the change log has no gaps",
        """
        SELECT seq, next_seq FROM (
            SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next_seq FROM changes
        ) WHERE next_seq != seq + 1
        """,
    ),
    Rule(
        "no webhook's cursor is past the end of the change log",
        """
        SELECT id, cursor FROM webhooks
         WHERE cursor > (SELECT COALESCE(MAX(seq), 0) FROM changes)
        """,
    ),
)


@dataclass(frozen=True)
class Report:
    """What a check found, and the counts it read on the way."""

    integrity: tuple[str, ...]
    """What PRAGMA integrity_check said: ("ok",) for a sound file."""
    findings: tuple[Finding, ...]
    slots: int
    reservations: int
    changes: tuple[int, int]
    """The first and last seq in the change log ((0, 0): none)."""

    @property
    def ok(self) -> bool:
        return self.integrity == ("ok",) and not self.findings


def counts(conn: sqlite3.Connection) -> tuple[int, int, tuple[int, int]]:
    """Slots, reservations (held or booked appointments) and the change log's first and last seq."""
    slots, reservations = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT appointment_id) FROM slots"
    ).fetchone()
    first, last = conn.execute(
        "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM changes"
    ).fetchone()
    return int(slots), int(reservations), (int(first), int(last))


def check(conn: sqlite3.Connection) -> Report:
    """Run SQLite's integrity check and every rule; the database is only read."""
    integrity = tuple(str(row[0]) for row in conn.execute("PRAGMA integrity_check(20)"))
    findings = []
    for rule in RULES:
        rows = conn.execute(f"{rule.breaking} LIMIT {EXAMPLES}").fetchall()
        if rows:
            shown = tuple(" ".join(str(column) for column in row) for row in rows)
            findings.append(Finding(rule.name, shown))
    slots, reservations, changes = counts(conn)
    return Report(integrity, tuple(findings), slots, reservations, changes)
