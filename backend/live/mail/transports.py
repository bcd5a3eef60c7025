"""Where a composed message goes: an SMTP server (`--smtp-url`, with `aiosmtplib`) or, without
one, a Maildir that a terminal user reads with `neomutt -f` or `mutt -f`.

Every transport answers an Outcome rather than raising: sent, or not and whether trying again
could help. For SMTP, a 5xx reply to the greeting, MAIL, RCPT or DATA is permanent (the server
will not take this message); a 4xx, a timeout, a refused or dropped connection, a TLS failure or
a refused login is temporary (the login and TLS are the server's configuration, which someone
can put right while the message waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

TlsMode = Literal["implicit TLS", "STARTTLS", "no TLS"]

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SUBMISSION_PORT = 587
"""The message submission port (RFC 6409), where STARTTLS is expected even without a login."""


@dataclass(frozen=True)
class Outcome:
    sent: bool
    permanent: bool = False
    """Not sent, and sending again would be refused the same way."""
    detail: str | None = None
    """The server's refusal or the error, in words."""


class Transport(Protocol):
    async def send(self, message: EmailMessage, sender: str, recipient: str) -> Outcome:
        """Deliver `message` to `recipient` with `sender` as the envelope sender."""
        ...

    def describe(self) -> str:
        """Where messages go, for the log (never a password)."""
        ...


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    tls: TlsMode
    username: str | None
    password: str | None = field(repr=False)


def parse_smtp_url(url: str) -> SmtpUrl | str:
    """The parts of an `--smtp-url`, or what is wrong with it in words.

    - `smtps://host[:port]`: TLS from the first byte (implicit TLS, RFC 8314), port 465 unless
      given.
    - `smtp://user:password@host[:port]`: STARTTLS, and required: a server that does not offer
      it is not sent the password in the clear (the message waits). Likewise on port 587, the
      submission port, with or without a login.
    - `smtp://host[:port]` on any other port: plain SMTP, for a relay on this machine or a
      trusted network; port 25 unless given.

    The user name and password are percent-decoded (`%40` for an `@` in a user name)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        return f"{url!r} is not a URL I can read ({error})"
    if parts.scheme not in DEFAULT_PORTS:
        return "the SMTP URL starts with smtp:// (STARTTLS or plain) or smtps:// (implicit TLS)"
    if not parts.hostname:
        return "the SMTP URL names no host: smtp://host:port or smtps://host:port"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "the SMTP URL is only smtp[s]://[user:password@]host[:port], nothing after it"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if bool(username) != bool(password):
        return "the SMTP URL needs both a user name and a password, or neither"
    port = port or DEFAULT_PORTS[parts.scheme]
    tls: TlsMode
    if parts.scheme == "smtps":
        tls = "implicit TLS"
    elif username or port == SUBMISSION_PORT:
        tls = "STARTTLS"
    else:
        tls = "no TLS"
    return SmtpUrl(parts.hostname, port, tls, username or None, password or None)


def check_smtp_url(url: str) -> str | None:
    """What is wrong with an `--smtp-url`, in words; None when it is fine."""
    parsed = parse_smtp_url(url)
    return parsed if isinstance(parsed, str) else None


def _reply(error: aiosmtplib.SMTPResponseException, stage: str) -> Outcome:
    words = " ".join(error.message.split())
    return Outcome(
        sent=False,
        permanent=500 <= error.code < 600,
        detail=f"the server answered {stage} with {error.code} {words}".rstrip(),
    )


@dataclass(frozen=True)
class SmtpTransport:
    where: SmtpUrl
    timeout: float = 30.0
    """Seconds for each step (connecting, each command and its answer)."""
    tls_context: ssl.SSLContext | None = None
    """The certificates trusted; None: the system's."""

    @classmethod
    def from_url(
        cls, url: str, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None
    ) -> SmtpTransport:
        """The transport an `--smtp-url` names; ValueError, in words, for a bad one."""
        parsed = parse_smtp_url(url)
        if isinstance(parsed, str):
            raise ValueError(parsed)
        return cls(parsed, timeout, tls_context)

    def describe(self) -> str:
        login = f", as {self.where.username}" if self.where.username else ""
        return f"SMTP {self.where.host}:{self.where.port} ({self.where.tls}{login})"

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.where.host,
            port=self.where.port,
            username=self.where.username,
            password=self.where.password,
            timeout=self.timeout,
            use_tls=self.where.tls == "implicit TLS",
            start_tls=self.where.tls == "STARTTLS",
            tls_context=self.tls_context,
        )

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> Outcome:
        client = self._client()
        try:
            try:
                await client.connect()
            except aiosmtplib.SMTPAuthenticationError as error:
                return Outcome(False, detail=f"the server refused the login: {error}")
            except aiosmtplib.SMTPResponseException as error:
                return _reply(error, "the connection")
            await client.send_message(message, sender=sender, recipients=[recipient])
        except aiosmtplib.SMTPRecipientsRefused as error:
            return _reply(error.recipients[0], f"RCPT TO:<{recipient}>")
        except aiosmtplib.SMTPSenderRefused as error:
            return _reply(error, f"MAIL FROM:<{sender}>")
        except aiosmtplib.SMTPDataError as error:
            return _reply(error, "the message (DATA)")
        except aiosmtplib.SMTPNotSupported as error:
            return Outcome(False, permanent=True, detail=str(error))
        except aiosmtplib.SMTPResponseException as error:
            return _reply(error, "a command")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            detail = str(error) or type(error).__name__
            where = f"{self.where.host}:{self.where.port}"
            return Outcome(False, detail=f"sending through {where} failed: {detail}")
        except ValueError as error:  # an address that cannot be sent safely
            return Outcome(False, permanent=True, detail=str(error))
        finally:
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await client.quit()
            client.close()
        return Outcome(True)


class MaildirTransport:
    """Each message a file in a Maildir (created when missing), written on a thread so that the
    event loop never waits for the disk. The envelope sender goes in Return-Path, as a delivery
    agent would put it, and the envelope recipient in Delivered-To."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"Maildir {self.path}"

    def _deliver(self, message: EmailMessage, sender: str, recipient: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.path, create=True)
        envelope = f"Return-Path: <{sender}>\nDelivered-To: {recipient}\n".encode()
        # Unix line ends in the file, as mail readers expect (SMTP's are CRLF).
        box.add(envelope + message.as_bytes(policy=message.policy.clone(linesep="\n")))

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> Outcome:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in sender + recipient):
            return Outcome(False, permanent=True, detail="an address holds a control character")
        try:
            await asyncio.to_thread(self._deliver, message, sender, recipient)
        except OSError as error:
            return Outcome(False, detail=f"writing to the Maildir {self.path} failed: {error}")
        return Outcome(True)


def transport_from(smtp_url: str | None, mail_dir: Path) -> Transport:
    """SMTP when there is a URL (ValueError, in words, for a bad one), else the Maildir."""
    if smtp_url:
        return SmtpTransport.from_url(smtp_url)
    return MaildirTransport(mail_dir)
