"""The sender: delivers the change log to webhook endpoints, in the background, at least once.

The change log is the outbox: the transaction that makes a change logs it, and each endpoint keeps
a cursor in the log, moved on only after a delivery succeeded (or when a change is not for it). So
a change committed just before a crash is delivered after the restart, and nothing is lost.

Each round the sender asks which endpoints are due and leases some (over PostgreSQL with several
processes, an endpoint is leased by one process at a time), and runs one task per endpoint, which
sends its changes in seq order (backend/live/webhooks/batches.py: up to 100 a delivery, or one) and
waits for each answer before the next: a slow or failing receiver holds up only itself.

It is fair across owners (a provider, or the admins together), as a scheduler is across
processes: no more than OWNER_SHARE of one owner's endpoints are delivered to at once, by this
process, out of PARALLEL in all; when more are due than it can take, it takes them in rounds over
the owners, those with the fewest running first (backend/live/webhooks/fair_share.py), so one
owner's slow endpoints fill that owner's share and leave the rest of the sender to everyone else.
Within an owner's share, each task gives its place up after TURN_SECONDS of sending (its endpoint
is due again at once, behind those that waited longer), so the owner's endpoints take turns too.
And --max-webhooks-per-owner caps how many endpoints an owner may have at all.

A delivery that fails (no answer within 10 s, or not 2xx) is tried again, with the same changes,
after the back-off, doubled at each failure, until a day of failures disables the endpoint, saying
why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from backend.live.outbound.guard import AddressRefused
from backend.live.outbound.sessions import guarded_session
from backend.live.retries import gives_up, retry_delay, waited
from backend.live.webhooks.batches import Batch, delivery_body, delivery_id, next_batch
from backend.live.webhooks.fair_share import Owner, pick
from backend.live.webhooks.signing import signed_headers
from backend.rules.booking import Rules
from backend.runtime.background import cancel_and_wait, wait_at_most
from backend.runtime.clock import Clock
from backend.store.base import Attempted, DeliveryRecord, Store, StoredWebhook
from shared.grid import describe_length

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
"""How long a receiver has to answer."""

LEASE_SECONDS = 60.0
"""How long a process holds an endpoint without renewing (longer than any one delivery)."""

POLL_SECONDS = 1.0
"""The longest the sender goes without looking for due endpoints (retries, other processes)."""

REFRESH_SECONDS = 10.0
"""How often the sender asks whether any endpoint exists (other processes may add one)."""

PARALLEL = 100
"""Endpoints delivered to at once, per process."""

OWNER_SHARE = 10
"""Endpoints of one owner delivered to at once, per process."""

TURN_SECONDS = 2.0
"""How long a task sends before its endpoint goes to the back of its owner's queue."""


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    latency_ms: float

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookSender:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        rules: Rules,
        *,
        backoff: float,
        allow_private: bool,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rules = rules
        self._backoff = backoff
        self._allow_private = allow_private
        self._timeout = timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._owners: dict[str, Owner] = {}
        """The owner of each endpoint in `_running`."""
        self._behind = False
        """Whether due endpoints were left waiting for a place (so a task's end starts a round)."""
        self._session: aiohttp.ClientSession | None = None
        self._any = False
        """Whether some endpoint exists (checked every REFRESH_SECONDS, set when one is made
        here): while none does, commits do not wake the sender."""
        self._made = 0
        """Endpoints made or replayed here: a check that began before one of them cannot say
        that there is none."""
        self._refreshed = -REFRESH_SECONDS
        self._round = asyncio.Lock()
        """Held by a round, from asking which endpoints are due to starting their tasks."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotbook-webhooks")

    def wake(self) -> None:
        """Something was committed, or an endpoint was made or replayed: look now."""
        if self._any:
            self._wake.set()

    def endpoint_made(self) -> None:
        self._made += 1
        self._any = True
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        for task in list(self._running.values()):
            await cancel_and_wait(task)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            await wait_at_most(self._wake, POLL_SECONDS)
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # the next round tries again
                log.exception("webhook round failed")

    async def deliver_due(self) -> None:
        """Lease the endpoints that are due and start delivering to each."""
        async with self._round:
            await self._deliver_due()

    async def _deliver_due(self) -> None:
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_SECONDS:
            self._refreshed, made = now, self._made
            found = bool(await self._store().list_webhooks(None))
            self._any = found or self._made != made
        room = PARALLEL - len(self._running)
        if not self._any:
            return
        if room <= 0:
            self._behind = True  # whatever is due waits for a place
            return
        at = self._clock.now()
        running = Counter(self._owners[webhook_id] for webhook_id in self._running)
        # Enough candidates that those of the owners at their share cannot crowd the rest out.
        due = await self._store().due_webhooks(at, OWNER_SHARE, room + OWNER_SHARE * len(running))
        chosen = pick(due, running, share=OWNER_SHARE, room=room)
        self._behind = len(chosen) < len(due)
        if not chosen:
            return
        leased = {
            hook.webhook_id: hook
            for hook in await self._store().claim_webhooks(chosen, at, at + LEASE_SECONDS)
        }
        for hook in (leased[webhook_id] for webhook_id in chosen if webhook_id in leased):
            # A task of this endpoint may still be finishing: it gave up the lease in its last
            # write, so this claim saw that write; the new task starts once the old one ends.
            before = self._running.get(hook.webhook_id)
            task = asyncio.create_task(
                self._deliver(hook, before), name=f"webhook-{hook.webhook_id}"
            )
            self._running[hook.webhook_id] = task
            self._owners[hook.webhook_id] = hook.provider_id
            task.add_done_callback(functools.partial(self._finished, hook.webhook_id))

    def _finished(self, webhook_id: str, task: asyncio.Task[None]) -> None:
        if self._running.get(webhook_id) is task:
            del self._running[webhook_id]
            del self._owners[webhook_id]
            if self._behind:
                self._wake.set()  # its place is free, and an endpoint is waiting for one

    async def idle(self) -> None:
        """Wait until no round is under way, every delivery task has finished and no endpoint
        left waiting for a place is due (for tests): the rounds those waited for run here."""
        while True:
            async with self._round:
                tasks, behind = list(self._running.values()), self._behind
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            elif behind:
                await self.deliver_due()
            else:
                return

    async def _deliver(self, hook: StoredWebhook, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self._deliver_from(hook)
        except Exception:  # the lease lapses and a later round tries again
            log.exception("delivery to webhook %s failed", hook.webhook_id)

    async def _deliver_from(self, hook: StoredWebhook) -> None:
        """Send the endpoint what it is owed, one delivery after another, until nothing is left
        or its turn is over; every way out writes the endpoint's state and gives up the lease."""
        store, cursor, failures = self._store(), hook.cursor, hook.failures
        until, turn_ends = hook.batch_through, self._clock.now() + TURN_SECONDS
        while True:
            batch = await next_batch(store, hook, cursor, until)
            record = None
            if batch.changes:
                outcome = await self._send(hook, batch, failures + 1)
                now = self._clock.now()
                record = DeliveryRecord(
                    batch.last_seq, failures + 1, now, outcome.status_code, outcome.error,
                    outcome.latency_ms, batch.first_seq,
                )  # fmt: skip
                if not outcome.delivered:
                    failures += 1
                    reason = self._reason(failures, batch, outcome) if gives_up(
                        failures, self._backoff
                    ) else None  # fmt: skip
                    state = Attempted(
                        cursor, batch.first_seq - 1, failures,
                        now + retry_delay(failures, self._backoff), reason, None, record,
                        batch_through=batch.last_seq, replays=hook.replays,
                    )  # fmt: skip
                    await store.record_attempt(hook.webhook_id, state, now)
                    if reason is not None:
                        log.warning("webhook %s disabled: %s", hook.webhook_id, reason)
                    return
                failures, until = 0, None
            now = self._clock.now()
            turn_over = now >= turn_ends
            lease = now + LEASE_SECONDS if batch.more and not turn_over else None
            state = Attempted(
                cursor, batch.through, failures, now, None, lease, record, replays=hook.replays
            )
            if not await store.record_attempt(hook.webhook_id, state, now) or not batch.more:
                return  # removed or replayed meanwhile, or all sent
            if turn_over:
                self._behind = True  # due again at once, behind those that waited longer
                return
            cursor = batch.through

    def _reason(self, failures: int, batch: Batch, outcome: Outcome) -> str:
        span = describe_length(waited(failures, self._backoff))
        what = (
            f"change {batch.first_seq}"
            if batch.first_seq == batch.last_seq
            else f"changes {batch.first_seq}-{batch.last_seq}"
        )
        return (
            f"{failures} attempts to deliver {what} failed over {span}; the last:"
            f" {outcome.error}. Fix the receiver, then POST /webhooks/{{webhookId}}/replay"
        )

    async def _send(self, hook: StoredWebhook, batch: Batch, attempt: int) -> Outcome:
        body = delivery_body(hook, batch, self._rules)
        headers = signed_headers(hook.secret, delivery_id(hook, batch), self._clock.now(), body)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with self._client().post(
                hook.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except aiohttp.ClientConnectorError as failed:
            cause = failed.os_error
            error = (
                f"refused: {cause}"
                if isinstance(cause, AddressRefused)
                else f"could not connect: {cause.strerror or cause}"
            )
        except aiohttp.ClientError as failed:
            error = f"failed: {failed.__class__.__name__}: {failed}"
        latency = (time.perf_counter() - started) * 1000
        if status is not None and not 200 <= status < 300:
            error = f"answered HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
        log.debug("webhook %s changes %s-%s attempt %d: %s", hook.webhook_id, batch.first_seq,
                  batch.last_seq, attempt, error or status)  # fmt: skip
        return Outcome(status, error, latency)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(
                allow_private=self._allow_private,
                timeout=self._timeout,
                user_agent="slotbook-webhooks",
                limit=PARALLEL,
            )
        return self._session
