"""Server settings: command-line flags, each with a SLOTBOOK_* environment variable as its default.

This is the only module that reads the environment. Lengths of time may be fractional so that a
demo or a test can run with a two-second hold.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from backend.runtime.addresses import AddressError, checked_address
from backend.runtime.levers import DESCRIPTIONS as LEVERS
from backend.runtime.levers import Levers
from backend.runtime.secret_box import KEY_COMMAND, MalformedSecretKey, SecretBox
from backend.runtime.smtp_url import check_smtp_url
from shared.grid import DAY_SECONDS, describe_length

Synchronous = Literal["FULL", "NORMAL"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("plain", "json")


class SettingsError(ValueError):
    """A setting that cannot work; the message names the flag and what would."""


@dataclass(frozen=True)
class Settings:
    """Everything the server is configured with."""

    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "slotbook.db"
    slot_minutes: float = 15
    hold_minutes: float = 30
    notice_hours: float = 24
    max_holds: int = 5
    max_appointment_minutes: int = 120
    max_waitlist: int = 10
    """Waitlist entries a client may wait on (or hold an offer of) at once."""
    offer_minutes: int = 30
    """How long a waitlist offer is held for its client (never past the notice period)."""
    no_auth: bool = False
    synchronous: Synchronous = "FULL"
    max_window_days: float = 31
    read_threads: int = 0
    log_level: str = "INFO"
    rate: float = 20
    burst: float = 100
    sweep_seconds: float = 1
    retention_days: float = 7
    heartbeat_seconds: float = 15
    feed_buffer: int = 10_000
    stall_seconds: float = 10
    workers: int = 1
    webhook_backoff_seconds: float = 5
    """The wait before a failed webhook delivery's first retry (doubled at each retry)."""
    max_webhooks_per_owner: int = 10
    """Webhook endpoints one provider may have (the admins' count together as one owner)."""
    allow_private_addresses: bool = False
    """Let the server connect to loopback and private addresses (webhooks, calendars; local use,
    tests); link-local stays refused."""
    secret_key: str = field(default="", repr=False)
    """The Fernet key that seals the passwords the server keeps (calendars'); empty: none. Never
    shown (see secret_box)."""
    public_url: str = ""
    """The address clients reach the server at (behind a proxy), for the links it hands out (a
    calendar feed's); empty: the address each request was made to."""
    log_format: str = "plain"
    """The log's lines: plain text, or a JSON object each ("json")."""
    metrics_port: int = 0
    """A loopback port that serves GET /metrics without a token, for a scraper; 0: none."""
    smtp_url: str = ""
    """Where mail goes: smtp://user:password@host:587 (STARTTLS), smtps://host:465 or
    smtp://host:25; empty: into the Maildir at mail_dir."""
    mail_from: str = "slotbook@localhost"
    """The From of every message the server sends."""
    mail_dir: str = ""
    """The Maildir mail goes to without smtp_url; empty: `mail/` beside the SQLite database (or
    in the working directory, over PostgreSQL)."""
    reminders: tuple[int, ...] = (86_400,)
    """When a client is reminded of a booked appointment: seconds before it starts."""
    mail_backoff_seconds: float = 60
    """The wait before a message that could not be sent is first tried again; doubled at each
    retry, until a day of failures marks it failed."""
    page_holds_per_address: int = 3
    """Live unconfirmed holds the booking page places for one network address, and for one
    e-mail address (beyond --max-holds, which counts each client's)."""
    page_sends_per_hour: int = 10
    """Booking forms one network address, and one e-mail address, may send an hour (at once,
    then spread over the hour); on whatever --rate says."""
    without: tuple[str, ...] = ()
    """Speed levers taken away (for measuring what each buys); see backend/runtime/levers.py."""

    @property
    def levers(self) -> Levers:
        return Levers.without(self.without)

    @property
    def mail_directory(self) -> Path:
        """The Maildir mail goes to without --smtp-url: --mail-dir, else mail/ beside the SQLite
        database (in the working directory, over PostgreSQL)."""
        if self.mail_dir:
            return Path(self.mail_dir).absolute()
        if is_postgresql_url(self.db) or self.db == ":memory:":
            return Path("mail").absolute()
        return Path(self.db).absolute().parent / "mail"

    @cached_property
    def secret_box(self) -> SecretBox | None:
        """What seals and opens stored passwords with --secret-key; None without a key."""
        if not self.secret_key:
            return None
        try:
            return SecretBox(self.secret_key)
        except MalformedSecretKey as error:
            raise SettingsError(f"--secret-key: {error}") from None

    @property
    def uses_postgresql(self) -> bool:
        return is_postgresql_url(self.db)

    @property
    def slot_seconds(self) -> int:
        return round(self.slot_minutes * 60)

    @property
    def hold_seconds(self) -> float:
        return self.hold_minutes * 60

    @property
    def offer_seconds(self) -> float:
        return self.offer_minutes * 60

    @property
    def notice_seconds(self) -> float:
        return self.notice_hours * 3600

    @property
    def max_appointment_seconds(self) -> int:
        """The longest appointment, rounded down to whole slots (one slot at least)."""
        slots = max(1, self.max_appointment_minutes * 60 // self.slot_seconds)
        return slots * self.slot_seconds

    @property
    def max_window_seconds(self) -> float:
        return self.max_window_days * DAY_SECONDS

    def validate(self) -> Settings:
        """Refuse settings the rules cannot honour; return self so calls can chain."""
        for flag, value in (
            ("--slot-minutes", self.slot_minutes),
            ("--hold-minutes", self.hold_minutes),
            ("--notice-hours", self.notice_hours),
            ("--max-window-days", self.max_window_days),
        ):
            if not math.isfinite(value):
                raise SettingsError(f"{flag} {value}: must be a finite number")
        slot = self.slot_minutes * 60
        if slot <= 0 or abs(slot - round(slot)) > 1e-9 or DAY_SECONDS % round(slot) != 0:
            raise SettingsError(
                f"--slot-minutes {self.slot_minutes:g}: a slot must be a whole number of seconds"
                " that divides a day evenly (15, 30, 60, or 0.05 for 3 seconds)"
            )
        if self.hold_minutes <= 0:
            raise SettingsError(f"--hold-minutes {self.hold_minutes:g}: must be more than 0")
        if self.notice_hours < 0:
            raise SettingsError(f"--notice-hours {self.notice_hours:g}: must be 0 or more")
        for flag, count in (
            ("--max-holds", self.max_holds),
            ("--max-waitlist", self.max_waitlist),
            ("--offer-minutes", self.offer_minutes),
        ):
            if count < 1:
                raise SettingsError(f"{flag} {count}: must be at least 1")
        if not 1 <= self.max_appointment_minutes <= 1440:
            raise SettingsError(
                f"--max-appointment-minutes {self.max_appointment_minutes}: must be between 1"
                " and 1440 (a day)"
            )
        if not 0 <= self.port < 65536:
            raise SettingsError(f"--port {self.port}: must be between 0 (any free port) and 65535")
        if self.max_window_days <= 0:
            raise SettingsError("--max-window-days: must be more than 0")
        if self.read_threads < 0:
            raise SettingsError(
                f"--read-threads {self.read_threads}: must be 0 (reads on the event loop) or more"
            )
        if not math.isfinite(self.rate) or self.rate < 0:
            raise SettingsError(f"--rate {self.rate:g}: must be 0 (no limit) or more")
        if not math.isfinite(self.burst) or self.burst < 1:
            raise SettingsError(f"--burst {self.burst:g}: must be at least 1")
        for flag, value in (
            ("--sweep-seconds", self.sweep_seconds),
            ("--retention-days", self.retention_days),
            ("--heartbeat-seconds", self.heartbeat_seconds),
            ("--stall-seconds", self.stall_seconds),
            ("--webhook-backoff-seconds", self.webhook_backoff_seconds),
        ):
            if not math.isfinite(value) or value <= 0:
                raise SettingsError(f"{flag} {value:g}: must be more than 0")
        if self.max_webhooks_per_owner < 1:
            raise SettingsError(
                f"--max-webhooks-per-owner {self.max_webhooks_per_owner}: must be at least 1"
            )
        if self.feed_buffer < 1:
            raise SettingsError(f"--feed-buffer {self.feed_buffer}: must be at least 1")
        if self.no_auth and not is_loopback(self.host):
            raise SettingsError(
                f"--no-auth trusts every caller, so it listens only on a loopback address"
                f" (127.0.0.1, ::1, localhost), not on {self.host}"
            )
        if self.workers < 1:
            raise SettingsError(f"--workers {self.workers}: must be at least 1")
        if self.workers > 1 and not self.uses_postgresql:
            raise SettingsError(
                f"--workers {self.workers}: a SQLite database has one writer per file, so only"
                f" one server process may use {self.db}; run one process (--workers 1), or move to"
                " PostgreSQL (--db postgresql://...) to run several"
            )
        unknown = [name for name in self.without if name not in LEVERS]
        if unknown:
            raise SettingsError(
                f"--without {','.join(unknown)}: no such lever; the levers are {', '.join(LEVERS)}"
            )
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise SettingsError(
                    f"--public-url {self.public_url}: give the address clients use, such as"
                    " https://booking.example.org or https://example.org/slotbook"
                )
        if self.smtp_url and (problem := check_smtp_url(self.smtp_url)) is not None:
            raise SettingsError(f"--smtp-url: {problem}")
        if not self.mail_backoff_seconds > 0:
            raise SettingsError("--mail-backoff-seconds: must be more than 0")
        for flag, count in (
            ("--page-holds-per-address", self.page_holds_per_address),
            ("--page-sends-per-hour", self.page_sends_per_hour),
        ):
            if count < 1:
                raise SettingsError(f"{flag} {count}: must be 1 or more")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(
                f"--log-format {self.log_format}: use one of {', '.join(LOG_FORMATS)}"
            )
        if not 0 <= self.metrics_port < 65536 or (
            self.metrics_port and self.metrics_port + self.workers > 65536
        ):
            raise SettingsError(
                f"--metrics-port {self.metrics_port}: must be 0 (none) or a port (one per worker"
                " from it up), below 65536"
            )
        if self.metrics_port and self.metrics_port == self.port:
            raise SettingsError(
                f"--metrics-port {self.metrics_port}: must differ from --port, which serves"
                " /metrics to an admin token already"
            )
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"--log-level {self.log_level}: use one of {', '.join(LOG_LEVELS)}")
        _ = self.secret_box  # a malformed key is refused here, before anything starts
        return self

    def describe_rules(self) -> str:
        """The rules in one phrase, for the start-up log line."""
        return (
            f"slots={describe_length(self.slot_seconds)} hold={describe_length(self.hold_seconds)}"
            f" notice={describe_length(self.notice_seconds)} max-holds={self.max_holds}"
        )


def is_postgresql_url(db: str) -> bool:
    """Whether --db names a PostgreSQL database rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_default(environ: Mapping[str, str], name: str, fallback: object) -> object:
    return environ.get(f"SLOTBOOK_{name}", fallback)


def _flag_bool(text: object) -> bool:
    if isinstance(text, bool):
        return text
    return str(text).strip().lower() in {"1", "true", "yes", "on"}


def add_server_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """The serve command's flags; every one also reads SLOTBOOK_<NAME> from the environment."""
    base = Settings()

    def option(flag: str, kind: Callable[[str], object], help_text: str, default: object) -> None:
        env_name = flag.lstrip("-").replace("-", "_").upper()
        parser.add_argument(
            flag,
            type=kind,
            default=_env_default(environ, env_name, default),
            help=f"{help_text} (env SLOTBOOK_{env_name}; default %(default)s)",
        )

    option("--host", str, "address to listen on", base.host)
    option("--port", int, "port to listen on", base.port)
    option(
        "--db",
        str,
        "SQLite file (created if missing) or postgresql://user:password@host/name",
        base.db,
    )
    option("--slot-minutes", float, "length of a slot in minutes", base.slot_minutes)
    option("--hold-minutes", float, "how long a hold lasts unless confirmed", base.hold_minutes)
    option("--notice-hours", float, "how far ahead a booking must be", base.notice_hours)
    option("--max-holds", int, "live holds a client may have at once", base.max_holds)
    option(
        "--max-appointment-minutes",
        int,
        "longest appointment a client may hold, in minutes (rounded down to whole slots)",
        base.max_appointment_minutes,
    )
    option("--max-window-days", float, "longest window or listing range", base.max_window_days)
    option(
        "--max-waitlist",
        int,
        "waitlist entries a client may wait on (or hold an offer of) at once",
        base.max_waitlist,
    )
    option(
        "--offer-minutes",
        int,
        "how long time freed for the next in a waitlist is held for them unless confirmed"
        " (never past the notice period)",
        base.offer_minutes,
    )
    option("--synchronous", str.upper, "SQLite synchronous mode: FULL or NORMAL", base.synchronous)
    option(
        "--read-threads",
        int,
        "threads for database reads (0: on the event loop)",
        base.read_threads,
    )
    option(
        "--workers",
        int,
        "server processes sharing the port on this host; more than 1 needs a PostgreSQL --db",
        base.workers,
    )
    option("--log-level", str.upper, "DEBUG, INFO, WARNING or ERROR", base.log_level)
    option(
        "--log-format",
        str.lower,
        "plain: a line of text per record; json: a JSON object per line (an access-log line"
        " per request either way)",
        base.log_format,
    )
    option(
        "--metrics-port",
        int,
        "also serve GET /metrics without a token on this port of 127.0.0.1, for a Prometheus"
        " scraper (with --workers N: one port per worker, from this one up; 0: none; the main"
        " port serves it to an admin token either way)",
        base.metrics_port,
    )
    option("--rate", float, "requests per second allowed per token (0: no limit)", base.rate)
    option("--burst", float, "requests a token may make at once before --rate applies", base.burst)
    option("--sweep-seconds", float, "how often lapsed holds are reopened", base.sweep_seconds)
    option("--retention-days", float, "how long the change log is kept", base.retention_days)
    option(
        "--heartbeat-seconds",
        float,
        "quiet time before /events sends a ping",
        base.heartbeat_seconds,
    )
    option(
        "--feed-buffer", int, "recent changes kept in memory for /events streams", base.feed_buffer
    )
    option(
        "--stall-seconds",
        float,
        "how long an /events client may stop reading before it is cut off with resync",
        base.stall_seconds,
    )
    option(
        "--webhook-backoff-seconds",
        float,
        "the wait before a failed webhook delivery is first tried again; doubled at each retry,"
        " until a day of failures disables the endpoint",
        base.webhook_backoff_seconds,
    )
    option(
        "--max-webhooks-per-owner",
        int,
        "webhook endpoints one provider may register (an admin's count together); each owner's"
        " deliveries also get a fair share of the sender, so one owner's slow endpoints delay"
        " no one else's",
        base.max_webhooks_per_owner,
    )
    parser.add_argument(
        "--allow-private-addresses",
        "--allow-private-webhooks",
        dest="allow_private_addresses",
        action="store_true",
        default=_flag_bool(
            _env_default(
                environ,
                "ALLOW_PRIVATE_ADDRESSES",
                _env_default(environ, "ALLOW_PRIVATE_WEBHOOKS", False),
            )
        ),
        help="let webhooks, calendar sources and the calendar bookings are written to reach"
        " loopback and private addresses, for local use (link-local and cloud metadata addresses"
        " stay refused); --allow-private-webhooks is its older name (env"
        " SLOTBOOK_ALLOW_PRIVATE_ADDRESSES, or SLOTBOOK_ALLOW_PRIVATE_WEBHOOKS)",
    )
    parser.add_argument(
        "--secret-key",
        metavar="KEY",
        default=_env_default(environ, "SECRET_KEY", base.secret_key),
        help="the key that seals the calendar passwords the server stores (32 random bytes in"
        f" URL-safe base64; `{KEY_COMMAND}` makes one); passwords stored with one key open with"
        " that key only. Better set in the environment than here, where other users of the"
        " machine can read it in the process list (env SLOTBOOK_SECRET_KEY; never shown)",
    )
    option(
        "--public-url",
        str,
        "the address clients reach this server at, behind a proxy, for the links it hands out:"
        " calendar feeds' (empty: each request's Host header, refused unless it is a host name or"
        " IP address with an optional port) and the manage links in e-mail (empty: the address"
        " the server listens on)",
        base.public_url,
    )
    option(
        "--smtp-url",
        str,
        "the mail relay: smtp://user:password@host:587 (STARTTLS), smtps://user:password@host:465"
        " (TLS) or smtp://host:25 (a local relay, plain); empty: mail goes to the --mail-dir"
        " Maildir",
        base.smtp_url,
    )
    option("--mail-from", str, "the From address of the mail the server sends", base.mail_from)
    option(
        "--mail-dir",
        str,
        "the Maildir that mail goes to without --smtp-url (read it with neomutt -f DIR); empty:"
        " mail/ beside the SQLite database",
        base.mail_dir,
    )
    option(
        "--reminders",
        str,
        "when clients are reminded of a booking, before it starts: comma-separated durations"
        " such as 24h,2h,30m (d, h or m), or none",
        "24h",
    )
    option(
        "--mail-backoff-seconds",
        float,
        "the wait before a message that could not be sent is tried again; doubled at each"
        " retry, until a day of failures marks it failed",
        base.mail_backoff_seconds,
    )
    option(
        "--page-holds-per-address",
        int,
        "the booking page's live unconfirmed holds per network address, and per e-mail address",
        base.page_holds_per_address,
    )
    option(
        "--page-sends-per-hour",
        int,
        "booking forms one network address, and one e-mail address, may send an hour (whatever"
        " --rate says)",
        base.page_sends_per_hour,
    )
    parser.add_argument(
        "--without",
        metavar="LEVERS",
        default=_env_default(environ, "WITHOUT", ",".join(base.without)),
        help="for measuring only: speed levers to turn off, comma-separated ("
        + ", ".join(LEVERS)
        + "); the answers stay the same (env SLOTBOOK_WITHOUT; default: none)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        default=_flag_bool(_env_default(environ, "NO_AUTH", False)),
        help="local development only: trust the ids in requests as the original API did"
        " (env SLOTBOOK_NO_AUTH)",
    )


def settings_from_namespace(args: argparse.Namespace) -> Settings:
    """Build and check Settings from parsed serve flags."""
    if args.synchronous not in ("FULL", "NORMAL"):
        raise SettingsError(f"--synchronous {args.synchronous}: use FULL or NORMAL")
    return Settings(
        host=args.host,
        port=int(args.port),
        db=args.db,
        slot_minutes=float(args.slot_minutes),
        hold_minutes=float(args.hold_minutes),
        notice_hours=float(args.notice_hours),
        max_holds=int(args.max_holds),
        max_appointment_minutes=int(args.max_appointment_minutes),
        max_window_days=float(args.max_window_days),
        max_waitlist=int(args.max_waitlist),
        offer_minutes=int(args.offer_minutes),
        no_auth=bool(args.no_auth),
        synchronous=args.synchronous,
        read_threads=int(args.read_threads),
        log_level=args.log_level,
        log_format=args.log_format,
        metrics_port=int(args.metrics_port),
        rate=float(args.rate),
        burst=float(args.burst),
        sweep_seconds=float(args.sweep_seconds),
        retention_days=float(args.retention_days),
        heartbeat_seconds=float(args.heartbeat_seconds),
        feed_buffer=int(args.feed_buffer),
        stall_seconds=float(args.stall_seconds),
        workers=int(args.workers),
        webhook_backoff_seconds=float(args.webhook_backoff_seconds),
        max_webhooks_per_owner=int(args.max_webhooks_per_owner),
        allow_private_addresses=bool(args.allow_private_addresses),
        secret_key=str(args.secret_key).strip(),
        public_url=str(args.public_url).rstrip("/"),
        smtp_url=str(args.smtp_url),
        mail_from=_mail_from(str(args.mail_from)),
        mail_dir=str(args.mail_dir),
        reminders=_reminders(str(args.reminders)),
        mail_backoff_seconds=float(args.mail_backoff_seconds),
        page_holds_per_address=int(args.page_holds_per_address),
        page_sends_per_hour=int(args.page_sends_per_hour),
        without=tuple(name.strip() for name in str(args.without).split(",") if name.strip()),
    ).validate()


def parse_reminders(text: str) -> tuple[int, ...]:
    """`--reminders`: comma-separated durations such as `24h,2h,30m` (units d, h, m), or `none`;
    the offsets in seconds, longest first. ValueError says what is wrong, in words."""
    cleaned = text.strip().lower()
    if cleaned in ("none", ""):
        return ()
    offsets: set[int] = set()
    for part in cleaned.split(","):
        item = part.strip()
        unit, number = item[-1:], item[:-1]
        if unit not in _UNITS or not number.isdigit() or int(number) <= 0:
            raise ValueError(
                f"{item or '(nothing)'} is not a duration: give a whole number and a unit, d, h"
                " or m, such as 24h,2h,30m (or none)"
            )
        offsets.add(int(number) * _UNITS[unit])
    return tuple(sorted(offsets, reverse=True))


_UNITS = {"d": 86_400, "h": 3_600, "m": 60}


def _reminders(text: str) -> tuple[int, ...]:
    try:
        return parse_reminders(text)
    except ValueError as error:
        raise SettingsError(f"--reminders {text}: {error}") from None


def _mail_from(text: str) -> str:
    try:
        return checked_address(text, local=True)
    except AddressError as error:
        raise SettingsError(f"--mail-from: {error}") from None


def parse_serve_args(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a serve command line (used by tests and the embedded server)."""
    parser = argparse.ArgumentParser(prog="slotbook-server serve")
    add_server_arguments(parser, os.environ if environ is None else environ)
    return settings_from_namespace(parser.parse_args(list(argv)))
