"""Refreshing providers' calendars in the background: each source whose refresh is due is leased
(once across processes, over PostgreSQL), fetched (`fetch.py`), read for busy times
(backend/rules/busy_times.py) and written down (`Store.record_busy_refresh`), one at a time per
source. A refresh that fails keeps the last good busy times in force, says why in words in the
source's status, and is tried again after a back-off (the outboxes' doubling, from a minute),
never later than the source's own refresh period; a source with three periods without success is
failing (`BusySource.failing`). A success that changes the busy times drops the provider's
cached listings."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from backend.live.busy.calendar_http import FetchFailed, calendar_session
from backend.live.busy.fetch import Fetched, fetch_caldav, fetch_ics
from backend.live.retries import retry_delay
from backend.rules.busy_times import CalendarUnreadable, busy_times
from backend.runtime.background import Rounds
from backend.runtime.clock import Clock
from backend.runtime.secret_box import SecretBox, SecretKeyMismatch
from backend.store.base import Store
from backend.store.busy_records import BusySource, Refreshed, read_by

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
"""The longest the refresher goes without looking for due sources."""
BATCH = 8
"""Sources leased at once; refreshed side by side, each source by one refresh at a time."""
LEASE_SECONDS = 300.0
"""A lease outlasts any one refresh (a fetch gives up after 30 s), so a source is refreshed by
one process at a time; a process that dies leaves it to another after this."""
PAST_SECONDS = 86_400
"""How far back busy times are read: the day before now."""
HORIZON_SECONDS = 400 * 86_400
"""How far ahead busy times are read: past any slot a schedule opens (a year ahead)."""
BACKOFF_SECONDS = 60.0
"""The wait before a failed refresh is first tried again; doubled at each failure after it."""
WAIT_SECONDS = 40.0
"""How long a refresh asked for now waits for one already under way (a fetch gives up after
30 s) before it says the calendar is still being read."""
WAIT_STEP = 0.1
"""How often that wait looks again."""


class StillRefreshing(Exception):
    """Another refresh of the source is still under way."""


class BusyRefresher:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        *,
        box: SecretBox | None,
        allow_private: bool,
        changed: Callable[[str], None],
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._box = box
        self._allow_private = allow_private
        self._backoff = backoff
        self._changed = changed
        self.waiting = 0
        """Requests waiting now for a refresh under way to finish (refresh_now)."""
        self._rounds = Rounds(
            "slotbook-busy-refresher", self._refresh_all_due, every=POLL_SECONDS, log=log
        )

    def start(self) -> None:
        self._rounds.start()

    def wake(self) -> None:
        """A source was added or changed: look now."""
        self._rounds.wake()

    async def stop(self) -> None:
        await self._rounds.stop()

    async def refresh_due(self) -> int:
        """Refresh every source due now (by the injected clock); how many were refreshed."""
        return await self._rounds.run()

    async def _refresh_all_due(self) -> int:
        done = 0
        while True:
            now = self._clock.now()
            claimed = await self._store().claim_busy_sources(now, BATCH, LEASE_SECONDS)
            if not claimed:
                return done
            await asyncio.gather(*(self.refresh(source) for source in claimed))
            done += len(claimed)

    async def refresh_now(self, source_id: str) -> BusySource | None:
        """Refresh the source now, whether due or not, and answer it as the refresh left it: the
        outcome of a refresh already under way (here or in another process) when there is one,
        since it is as fresh as another would be. None when the source is gone; StillRefreshing
        when one under way outlasts WAIT_SECONDS."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WAIT_SECONDS
        store = self._store()
        seen: BusySource | None = None
        while True:
            claimed = await store.claim_busy_sources(
                self._clock.now(), 1, LEASE_SECONDS, only=source_id
            )
            if claimed:
                return await self.refresh(claimed[0])
            if seen is None:
                seen = await store.find_busy_source(source_id)
                if seen is None:
                    return None
            if loop.time() >= give_up:
                raise StillRefreshing(source_id)
            self.waiting += 1
            try:
                await asyncio.sleep(WAIT_STEP)
            finally:
                self.waiting -= 1
            now = await store.find_busy_source(source_id)
            if now is None or now.last_sync_at != seen.last_sync_at:
                return now  # the refresh under way has written down what it found

    async def refresh(self, source: BusySource) -> BusySource | None:
        """Fetch and read one source now and write down what came of it."""
        now = self._clock.now()
        period = source.refresh_minutes * 60
        try:
            refreshed = await self._read(source, now)
        except (FetchFailed, CalendarUnreadable, SecretKeyMismatch) as error:
            wait = min(period, retry_delay(source.failures + 1, self._backoff))
            refreshed = Refreshed(
                None, None, str(error), None, None, now + wait, read_by=read_by(source)
            )
            log.warning("calendar %s of %s: %s", source.source_id, source.provider_id, error)
        recorded = await self._store().record_busy_refresh(source.source_id, refreshed, now)
        if refreshed.intervals is not None:
            self._changed(source.provider_id)
        return recorded

    async def _read(self, source: BusySource, now: float) -> Refreshed:
        password = None
        if source.password_sealed is not None:
            if self._box is None:
                raise SecretKeyMismatch(
                    "the server has no --secret-key, so the calendar's password cannot be read"
                )
            password = self._box.open(source.password_sealed)
        start, end = int(now) - PAST_SECONDS, int(now) + HORIZON_SECONDS
        async with calendar_session(allow_private=self._allow_private) as session:
            fetched: Fetched
            if source.kind == "ics":
                fetched = await fetch_ics(
                    session, source.url, username=source.username, password=password,
                    etag=source.etag, last_modified=source.last_modified,
                )  # fmt: skip
            else:
                fetched = await fetch_caldav(
                    session, source.url, username=source.username, password=password,
                    start=start, end=end,
                )  # fmt: skip
        next_due = now + source.refresh_minutes * 60
        if fetched.calendars is None:  # not modified: the busy times stand
            return Refreshed(
                None, None, None, fetched.etag, fetched.last_modified, next_due,
                read_by=read_by(source),
            )  # fmt: skip
        zone = await self._provider_zone(source.provider_id)
        found = await asyncio.to_thread(  # pure CPU: a big calendar takes a while to read
            functools.partial(
                busy_times, fetched.calendars, window_start=start, window_end=end,
                provider_zone=zone, all_day=source.all_day_events,
            )
        )  # fmt: skip
        intervals = [(interval.start, interval.ends) for interval in found.intervals]
        return Refreshed(
            intervals, found.events, None, fetched.etag, fetched.last_modified, next_due,
            read_by=read_by(source),
        )  # fmt: skip

    async def _provider_zone(self, provider_id: str) -> str:
        """The zone a floating time is read in: the provider's schedule's, else theirs, else UTC."""
        store = self._store()
        schedule = await store.get_schedule(provider_id)
        if schedule is not None:
            return schedule.schedule.zone
        details = await store.party_details("provider", provider_id)
        return (details.time_zone if details is not None else None) or "UTC"
