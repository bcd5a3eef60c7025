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
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from backend.runtime.smtp_url import SmtpUrl, parse_smtp_url


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
        self._opening = threading.Lock()
        """Held while the Maildir is opened (made, the first time): two messages sent at once
        would otherwise both make it, and one of them fail."""

    def describe(self) -> str:
        return f"Maildir {self.path}"

    def _deliver(self, message: EmailMessage, sender: str, recipient: str) -> None:
        with self._opening:
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
