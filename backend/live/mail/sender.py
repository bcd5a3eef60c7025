"""The mail sender: delivers the notifications the writes queued, in the background.

The notifications table is the outbox: the transaction that makes a change queues the messages
it causes (backend/rules/notices.py), so a change committed just before a crash is announced
after the restart. Each round the sender leases the messages that are due (a reminder is due its
offset before the appointment; anything else at once), with a lease of LEASE_SECONDS, so that
over PostgreSQL with several processes each message is taken by one of them; composes each
(backend/live/mail/letters.py) and hands it to the transport. A message is marked sent only after
the server took it: a crash between the two sends it again, with the same Message-ID, which is
the most it can do twice.

A temporary failure is tried again after the back-off the webhooks use (backend/live/retries.py),
until a day of failures marks the message failed; a permanent refusal (a 5xx) marks it failed at
once. A reminder whose appointment began before it could go is not sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from backend.live.calendars import UID_DOMAIN
from backend.live.mail.letters import Letter, Person, compose
from backend.live.mail.transports import Outcome, Transport
from backend.live.retries import gives_up, retry_delay
from backend.rules.notices import NoticeStatus
from backend.runtime.background import cancel_and_wait, wait_at_most
from backend.runtime.clock import Clock
from backend.runtime.metrics import Metrics
from backend.store.base import Store
from backend.store.mail_records import Outgoing
from shared.grid import describe_length

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
"""How long a process holds a message it is sending (longer than any one SMTP exchange)."""

POLL_SECONDS = 1.0
"""The longest the sender goes without looking for due messages."""

MAILING_KINDS = frozenset({"confirmed", "moved", "cancelled"})
"""The kinds of change whose commit may have queued a message to send at once."""

HOLDS = frozenset({"hold", "offer"})
"""The kinds of message about a hold, not sent once it has lapsed."""

BATCH = 20
"""Messages leased at once."""

PARALLEL = 4
"""Messages being sent at once, per process."""


@dataclass(frozen=True)
class Verdict:
    status: NoticeStatus
    error: str | None
    retry_at: float | None


def verdict(outcome: Outcome, attempts_before: int, now: float, backoff: float) -> Verdict:
    """What one attempt leaves a message as: sent, failed, or queued again after the back-off."""
    if outcome.sent:
        return Verdict("sent", None, None)
    failures = attempts_before + 1
    detail = outcome.detail or "not sent"
    if outcome.permanent:
        return Verdict("failed", f"refused: {detail}", None)
    if gives_up(failures, backoff):
        return Verdict("failed", f"gave up after {failures} attempts over a day: {detail}", None)
    return Verdict("queued", detail, now + retry_delay(failures, backoff))


class MailSender:
    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        transport: Transport,
        *,
        mail_from: str,
        manage_base: Callable[[], str],
        backoff: float,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._clock = clock
        self.transport = transport
        self._mail_from = mail_from
        self._manage_base = manage_base
        self._backoff = backoff
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._round = asyncio.Lock()
        self._sending = asyncio.Semaphore(PARALLEL)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotbook-mail")

    def wake(self) -> None:
        """Something was committed: look now."""
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            await wait_at_most(self._wake, POLL_SECONDS)
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # the next round tries again
                log.exception("mail round failed")

    async def deliver_due(self) -> int:
        """Send what is due now (by the injected clock); how many messages were attempted."""
        attempted = 0
        async with self._round:
            while True:
                now = self._clock.now()
                claimed = await self._store().claim_notifications(now, BATCH, LEASE_SECONDS)
                if not claimed:
                    return attempted
                await asyncio.gather(*(self._send(item) for item in claimed))
                attempted += len(claimed)

    async def _send(self, item: Outgoing) -> None:
        n = item.notification
        now = self._clock.now()
        if n.kind == "reminder" and now >= n.start:
            await self._record(item, Verdict("failed", "not sent: the appointment had begun", None))
            return
        if n.kind in HOLDS and item.held_until is not None and now >= item.held_until:
            await self._record(item, Verdict("failed", "not sent: the hold had lapsed", None))
            return
        async with self._sending:
            try:
                outcome = await self.transport.send(
                    self.letter_of(item), self._mail_from, n.recipient
                )
            except Exception as error:  # a transport's bug must not stop the others' mail
                log.exception("sending notification %s failed", n.notification_id)
                outcome = Outcome(False, detail=f"{type(error).__name__}: {error}")
        await self._record(item, verdict(outcome, n.attempts, self._clock.now(), self._backoff))

    async def _record(self, item: Outgoing, result: Verdict) -> None:
        n = item.notification
        outcome = "retry" if result.status == "queued" else result.status
        self._metrics.mail_attempts.labels(outcome).inc()
        if result.status != "sent":
            when = (
                ""
                if result.retry_at is None
                else f"; again in {describe_length(result.retry_at - self._clock.now())}"
            )
            log.warning("%s to %s: %s%s", n.kind, n.recipient, result.error, when)
        await self._store().record_notification(
            n.notification_id,
            status=result.status,
            error=result.error,
            now=self._clock.now(),
            retry_at=result.retry_at,
        )

    def letter_of(self, item: Outgoing) -> EmailMessage:
        return compose(self._letter(item))

    def _letter(self, item: Outgoing) -> Letter:
        n = item.notification
        to_client = n.role == "client"
        manage = confirm = None
        if to_client and item.manage_secret is not None and n.kind == "hold":
            confirm = f"{self._manage_base()}/confirm/{item.manage_secret}"
        elif to_client and item.manage_secret is not None:
            manage = f"{self._manage_base()}/manage/{item.manage_secret}"
        return Letter(
            kind=n.kind,
            uid=f"{n.uid}@{UID_DOMAIN}",
            sequence=n.sequence,
            provider=Person(item.provider_name or n.provider_id, item.provider_email),
            client=Person(item.client_name or n.client_id, item.client_email),
            to=n.recipient,
            to_client=to_client,
            zone=item.zone,
            start=n.start,
            ends=n.ends,
            type_name=item.type_name,
            manage_url=manage,
            mail_from=self._mail_from,
            written_at=self._clock.now(),
            reminder_before=n.reminder_before,
            confirm_url=confirm,
            held_until=item.held_until,
            time_slot_id=n.appointment_id if n.kind == "offer" else None,
        )
