"""What handlers reach through the application (its context): settings, rules, clock and the open
store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

from backend.gate.auth import CACHE_SECONDS, Authenticator
from backend.gate.credential_watch import CredentialWatch
from backend.live.busy.refresher import BusyRefresher
from backend.live.busy.write_back import WriteBack, wakes_writer
from backend.live.feed import ChangeHub
from backend.live.listing_cache import ListingCache
from backend.live.mail.sender import MAILING_KINDS, MailSender
from backend.live.mail.transports import transport_from
from backend.live.sweeper import Sweeper
from backend.live.webhooks.sender import WebhookSender
from backend.rules.booking import Rules
from backend.runtime.clock import Clock
from backend.runtime.metrics import Metrics
from backend.runtime.settings import Settings
from backend.store.base import ChangeRow, Store


@dataclass
class AppContext:
    settings: Settings
    rules: Rules
    clock: Clock
    _store: Store | None = field(default=None, repr=False)
    authenticator: Authenticator = field(init=False, repr=False)
    credentials: CredentialWatch = field(init=False, repr=False)
    hub: ChangeHub = field(init=False, repr=False)
    sweeper: Sweeper = field(init=False, repr=False)
    webhooks: WebhookSender = field(init=False, repr=False)
    mail: MailSender = field(init=False, repr=False)
    write_back: WriteBack = field(init=False, repr=False)
    """Writes bookings into the calendars providers name for them."""
    listening_url: str = field(default="", init=False)
    """Where the server listens, once it does (the manage links' address without --public-url)."""
    metrics: Metrics = field(init=False, repr=False)
    listing_cache: ListingCache | None = field(default=None, init=False, repr=False)
    """GET /availability's answers, where they can be kept exactly (see `open`)."""

    def __post_init__(self) -> None:
        self.metrics = Metrics()
        self.authenticator = Authenticator(
            lambda: self.store, self.clock, until_revoked=self.settings.levers.auth_cache
        )
        # Asked twice within the token cache's lifetime, so that a revoke made elsewhere ends
        # the token's streams no later than it stops the token's new requests.
        self.credentials = CredentialWatch(
            {"token": self.authenticator.still_valid}, every=CACHE_SECONDS / 2
        )
        self.hub = ChangeHub(lambda: self.store, self.settings.feed_buffer)
        self.sweeper = Sweeper(
            lambda: self.store,
            self.clock,
            every=self.settings.sweep_seconds,
            keep_changes=self.settings.retention_days * 86_400,
            metrics=self.metrics,
        )
        self.webhooks = WebhookSender(
            lambda: self.store,
            self.clock,
            self.rules,
            backoff=self.settings.webhook_backoff_seconds,
            allow_private=self.settings.allow_private_addresses,
        )
        self.hub.listen(lambda _changes: self.webhooks.wake())
        self.mail = MailSender(
            lambda: self.store,
            self.clock,
            transport_from(self.settings.smtp_url, self.settings.mail_directory),
            mail_from=self.settings.mail_from,
            manage_base=self.public_base,
            backoff=self.settings.mail_backoff_seconds,
            metrics=self.metrics,
        )
        self.hub.listen(self._wake_mail)
        self.busy = BusyRefresher(
            lambda: self.store,
            self.clock,
            box=self.settings.secret_box,
            allow_private=self.settings.allow_private_addresses,
            changed=self.forget_listings,
        )
        self.write_back = WriteBack(
            lambda: self.store,
            self.clock,
            box=self.settings.secret_box,
            allow_private=self.settings.allow_private_addresses,
            mail_from=self.settings.mail_from,
        )
        self.hub.listen(lambda changes: self.write_back.wake() if wakes_writer(changes) else None)

    def _wake_mail(self, changes: Sequence[ChangeRow]) -> None:
        """Only a confirm, a move, a cancel or a waitlist offer can have queued mail to send now
        (reminders come due with the clock, which the sender's own round looks at): other
        commits, such as a flood of holds, leave the sender asleep."""
        if any(c.kind in MAILING_KINDS or c.waitlist_id is not None for c in changes):
            self.mail.wake()

    def public_base(self) -> str:
        """The address links in mail start with: --public-url, else where the server listens."""
        return (
            self.settings.public_url
            or self.listening_url
            or f"http://{self.settings.host}:{self.settings.port}"
        )

    @property
    def store(self) -> Store:
        if self._store is None:  # pragma: no cover - routes run only after start-up
            raise RuntimeError("the store is not open yet")
        return self._store

    def open(self, store: Store) -> None:
        self._store = store
        self.metrics.watch(store, lambda: self.hub.subscribers)
        if self.settings.levers.listing_cache and store.commits_here:
            cache = ListingCache()
            self.listing_cache = cache
            self.hub.listen(
                lambda changes: cache.changed(
                    provider
                    for change in changes
                    for provider in (change.provider_id, change.from_provider_id)
                    if provider is not None
                )
            )

    def now(self) -> float:
        return self.clock.now()

    def forget_listings(self, provider_id: str) -> None:
        """A write that changes what a provider's listings answer without changing a slot (its
        appointment types, its schedule's time zone, which bounds a type's daily limit)."""
        if self.listing_cache is not None:
            self.listing_cache.changed([provider_id])


CONTEXT = web.AppKey("context", AppContext)


def context(request: web.Request) -> AppContext:
    return request.app[CONTEXT]


def public_address(request: web.Request) -> str:
    """Where the addresses an answer hands out start (a calendar feed's, a booking page's):
    --public-url when the server has one, else the address this request was made to."""
    return context(request).settings.public_url or f"{request.scheme}://{request.host}"


def rules_from(settings: Settings) -> Rules:
    return Rules(
        slot_seconds=settings.slot_seconds,
        hold_seconds=settings.hold_seconds,
        notice_seconds=settings.notice_seconds,
        max_holds=settings.max_holds,
        max_window_seconds=settings.max_window_seconds,
        max_appointment_seconds=settings.max_appointment_seconds,
        reminder_seconds=settings.reminders,
        offer_seconds=settings.offer_seconds,
        max_waitlist=settings.max_waitlist,
    )
