"""A real SMTP server on loopback for the tests (`aiosmtpd`), on a thread with an event loop of its
own, so that it serves alike the tests' event loops and server processes (its host and port).

It keeps what it received per recipient. A test may have it answer a recipient with given replies
first (`answer`), at RCPT or at DATA, for that address only: tests that share the server (one per
test session, `mail_server` in tests/conftest.py) each use addresses of their own (`address`),
and so never see each other's mail or refusals, under pytest-xdist too.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["RCPT", "DATA"]

WORDS = {
    421: "4.3.2 Service shutting down",
    450: "4.2.0 Mailbox busy",
    451: "4.3.0 Try again later",
    452: "4.3.1 Insufficient system storage",
    550: "5.1.1 No such mailbox",
    552: "5.3.4 Message too big",
    554: "5.7.1 Rejected",
}


@dataclass(frozen=True)
class Delivery:
    """One message as the server took it: the envelope and the bytes of the message."""

    sender: str
    recipient: str
    data: bytes

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.replies: dict[tuple[str, Stage], deque[str]] = defaultdict(deque)
        self.received: dict[str, list[Delivery]] = defaultdict(list)

    def _next(self, address: str, stage: Stage) -> str | None:
        with self.lock:
            waiting = self.replies.get((address.lower(), stage))
            return waiting.popleft() if waiting else None

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._next(address, "RCPT")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in envelope.rcpt_tos:
            reply = self._next(recipient, "DATA")
            if reply is not None:
                return reply
        data = envelope.original_content or b""
        with self.lock:
            for recipient in envelope.rcpt_tos:
                delivery = Delivery(envelope.mail_from or "", recipient, data)
                self.received[recipient.lower()].append(delivery)
            self.lock.notify_all()
        return "250 2.0.0 Message accepted"


class _Controller(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand, so that the port is a free
    one the system chose (the controller itself needs the port named in advance)."""

    def __init__(self, handler: _Handler, listening: socket.socket, **options: Any) -> None:
        super().__init__(
            handler,
            hostname="127.0.0.1",
            port=listening.getsockname()[1],
            server_hostname="mail.test",
            **options,
        )
        self.listening = listening

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self.listening, ssl=self.ssl_context
        )


class MailServer:
    """A running SMTP server: `host` and `port`, what it received, and the replies it is told to
    give."""

    _numbers = itertools.count(1)

    def __init__(self, controller: _Controller, handler: _Handler) -> None:
        self._controller = controller
        self._handler = handler
        self.host = "127.0.0.1"
        self.port: int = controller.port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def address(self, who: str = "someone") -> str:
        """An address no other test in this process uses."""
        return f"{who}-{next(self._numbers)}-{id(self):x}@example.com"

    def answer(self, recipient: str, *replies: int | str, at: Stage = "RCPT") -> None:
        """Answer the next messages to `recipient` with these replies at `at`, one each, then
        accept again. A bare code gets the usual words ("451" is "451 4.3.0 Try again later")."""
        with self._handler.lock:
            for reply in replies:
                text = f"{reply} {WORDS[reply]}" if isinstance(reply, int) else reply
                self._handler.replies[(recipient.lower(), at)].append(text)

    def received(self, recipient: str) -> list[Delivery]:
        """What has arrived for `recipient` so far."""
        with self._handler.lock:
            return list(self._handler.received[recipient.lower()])

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        """What has arrived for `recipient` once there are `count` messages (blocking: from a
        test's event loop, call it through asyncio.to_thread). AssertionError after `timeout`."""
        with self._handler.lock:
            arrived = self._handler.lock.wait_for(
                lambda: len(self._handler.received[recipient.lower()]) >= count, timeout
            )
            got = list(self._handler.received[recipient.lower()])
        assert arrived, f"{len(got)} of {count} messages arrived for {recipient}"
        return got


@contextmanager
def mail_server(
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    authenticator: Callable[[str, str], bool] | None = None,
) -> Iterator[MailServer]:
    """An SMTP server on a free port of 127.0.0.1 until the block ends: plain; or, with `tls`,
    offering STARTTLS (and requiring it before anything else) or, with `implicit_tls`, TLS from
    the first byte; with `authenticator`, AUTH PLAIN and LOGIN required, the user name and
    password checked by it."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    listening.listen(64)
    options: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        options["ssl_context"] = tls
    elif tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if authenticator is not None:
        check = authenticator

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and check(
                data.login.decode(), data.password.decode()
            )
            return AuthResult(success=ok, handled=False)

        options.update(
            authenticator=authenticate, auth_required=True, auth_require_tls=tls is not None
        )
    handler = _Handler()
    controller = _Controller(handler, listening, **options)
    controller.start()
    try:
        yield MailServer(controller, handler)
    finally:
        controller.stop()
        listening.close()
