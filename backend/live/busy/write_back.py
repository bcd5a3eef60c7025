"""Writing bookings back into providers' own calendars, in the background.

`calendar_write_queue` is the outbox: the transaction that books, moves or cancels an appointment
queues the write it asks of the provider's write-back calendar (backend/rules/calendar_writes.py),
so a change committed just before a crash is written after the restart. Each round the writer
leases the writes that are due (once across processes, over PostgreSQL; only the oldest queued
write of each event, so one event's writes are made in order) and makes each over CalDAV
(`caldav_write.py`), through the outbound guard:

- a `put` writes the event from the appointment as it stands now (`booked_event.py`): new with
  `If-None-Match: *`, else with `If-Match` and the ETag it was last written with. A 412 means the
  event was changed (or made, or removed) in the calendar meanwhile: the appointment is the truth,
  so its current ETag is read and it is written again. A put for an appointment that is no longer
  booked deletes the event instead.
- a `delete` removes it with `If-Match` (an event already gone is fine).

A failure (the calendar away, a wrong password, a refusal) is written down in words in the
calendar's status and tried again after the back-off the outboxes share (backend/live/retries.py,
from a minute), until a day of failures marks the write failed. The password is opened only for
the request and is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import aiohttp

from backend.live.busy.booked_event import booked_event, event_uid
from backend.live.busy.caldav_write import (
    FetchFailed,
    WriteConflict,
    current_etag,
    delete_event,
    event_url,
    put_event,
)
from backend.live.busy.calendar_http import calendar_session
from backend.live.retries import gives_up, retry_delay
from backend.runtime.background import Rounds
from backend.runtime.clock import Clock
from backend.runtime.secret_box import SecretBox, SecretKeyMismatch, opened
from backend.store.base import ChangeRow, Store
from backend.store.calendar_write_records import ClaimedWrite, WriteOutcome

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
"""A lease outlasts any one write (a few requests of at most 30 s each), so a write is made by
one process at a time; a process that dies leaves it to another after this."""
POLL_SECONDS = 5.0
"""The longest the writer goes without looking for due writes (retries come due with the clock;
commits wake it at once)."""
BATCH = 8
"""Writes leased at once, made side by side."""
BACKOFF_SECONDS = 60.0
"""The wait before a failed write is first tried again; doubled at each failure after it."""
CONFLICT_TRIES = 3
"""Puts of one event within one attempt, each after a 412 that said it changed meanwhile."""

WRITING_KINDS = frozenset({"confirmed", "moved", "cancelled", "noted"})
"""The kinds of change whose commit may have queued a write."""


def wakes_writer(changes: Sequence[ChangeRow]) -> bool:
    """Whether a commit's changes may have queued a write (a flood of holds does not)."""
    return any(change.kind in WRITING_KINDS for change in changes)


class WriteBack:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        *,
        box: SecretBox | None,
        allow_private: bool,
        mail_from: str,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._box = box
        self._allow_private = allow_private
        self._mail_from = mail_from
        self._backoff = backoff
        self._rounds = Rounds("slotbook-write-back", self._write, every=POLL_SECONDS, log=log)

    def start(self) -> None:
        self._rounds.start()

    def wake(self) -> None:
        """A write may have been queued, or a calendar set: look now."""
        self._rounds.wake()

    async def stop(self) -> None:
        await self._rounds.stop()

    async def write_due(self) -> int:
        """Make every write due now (by the injected clock), after the round under way if there
        is one; how many were attempted."""
        return await self._rounds.run()

    async def _write(self) -> int:
        attempted = 0
        while True:
            claimed = await self._store().claim_calendar_writes(
                self._clock.now(), BATCH, LEASE_SECONDS
            )
            if not claimed:
                return attempted
            async with calendar_session(allow_private=self._allow_private) as session:
                await asyncio.gather(*(self._attempt(session, write) for write in claimed))
            attempted += len(claimed)

    async def _attempt(self, session: aiohttp.ClientSession, write: ClaimedWrite) -> None:
        try:
            etag = await self._make(session, write, opened(self._box, write.password_sealed))
            outcome = WriteOutcome("done", etag=etag, url=write.url)
        except (FetchFailed, SecretKeyMismatch) as error:
            outcome = self._failed(write, str(error))
        except Exception as error:  # a bug must not stop the other writes
            log.exception("calendar write %s failed", write.write_id)
            outcome = self._failed(write, f"{type(error).__name__}: {error}")
        await self._store().record_calendar_write(write.write_id, outcome, self._clock.now())

    def _failed(self, write: ClaimedWrite, error: str) -> WriteOutcome:
        failures = write.attempts + 1
        if gives_up(failures, self._backoff):
            why = f"gave up after {failures} attempts over a day: {error}"
            log.warning("calendar %s of %s: %s", write.action, write.provider_id, why)
            return WriteOutcome("failed", why, url=write.url)
        retry_at = self._clock.now() + retry_delay(failures, self._backoff)
        log.warning("calendar %s of %s: %s", write.action, write.provider_id, error)
        return WriteOutcome("queued", error, retry_at, url=write.url)

    async def _make(
        self, session: aiohttp.ClientSession, write: ClaimedWrite, password: str | None
    ) -> str | None:
        """Make one write; the event's ETag after a put, None once it is gone (or, with no
        appointment left in the ledger to write it from, left as it is)."""
        booked = write.event
        if write.action == "put" and booked is None:
            return None
        uid = event_uid(write.uid)
        login = {"username": write.username, "password": password}
        if write.action == "delete" or booked is None or booked.status != "CONFIRMED":
            try:
                await delete_event(session, write.url, uid, etag=write.etag, **login)
            except WriteConflict:  # changed meanwhile: the appointment is gone all the same
                now = await current_etag(session, event_url(write.url, uid), **login)
                if now is not None:
                    await delete_event(session, write.url, uid, etag=now, **login)
            return None
        body = booked_event(
            write.uid,
            write.provider_id,
            booked,
            mail_from=self._mail_from,
            written_at=self._clock.now(),
        )
        etag = write.etag
        for _ in range(CONFLICT_TRIES):
            try:
                return await put_event(session, write.url, uid, body, etag=etag, **login)
            except WriteConflict:  # changed meanwhile: the appointment is the truth
                etag = await current_etag(session, event_url(write.url, uid), **login)
        raise FetchFailed("the event kept changing in the calendar while it was written")
