"""The transports a message leaves by: SMTP to a real server on loopback (aiosmtpd, the suite's
own, tests/smtp_server.py; and servers of this module's own for TLS and logins, with a
certificate made by openssl), and a Maildir read back with the standard library's `mailbox`."""

from __future__ import annotations

import mailbox
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from backend.live.mail.transports import MaildirTransport, SmtpTransport, transport_from
from backend.runtime.smtp_url import check_smtp_url, parse_smtp_url
from tests.smtp_server import MailServer, mail_server

SENDER = "slotbook@example.test"


def a_message(recipient: str, body: str = "Your appointment is confirmed.\n") -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = "Confirmed: Haircut with Zoë"
    message["Message-ID"] = "<confirmation.0.abc@example.test>"
    message.set_content(body)
    return message


async def test_a_message_arrives_intact_with_its_envelope(smtp: MailServer) -> None:
    recipient = smtp.address("client")
    transport = SmtpTransport.from_url(smtp.url)
    outcome = await transport.send(a_message(recipient), SENDER, recipient)
    assert outcome.sent, outcome.detail
    (delivery,) = smtp.received(recipient)
    assert (delivery.sender, delivery.recipient) == (SENDER, recipient)
    got = delivery.message()
    assert got["Subject"] == "Confirmed: Haircut with Zoë"
    assert got["Message-ID"] == "<confirmation.0.abc@example.test>"
    assert got.get_content().splitlines() == ["Your appointment is confirmed."]


async def test_a_temporary_refusal_is_temporary_and_the_next_try_gets_through(
    smtp: MailServer,
) -> None:
    recipient = smtp.address("greylisted")
    smtp.answer(recipient, 451)
    transport = SmtpTransport.from_url(smtp.url)
    first = await transport.send(a_message(recipient), SENDER, recipient)
    assert (first.sent, first.permanent) == (False, False)
    assert first.detail is not None
    assert "451" in first.detail
    assert "Try again later" in first.detail
    assert smtp.received(recipient) == []
    again = await transport.send(a_message(recipient), SENDER, recipient)
    assert again.sent, again.detail
    assert len(smtp.received(recipient)) == 1


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
async def test_a_permanent_refusal_is_permanent(smtp: MailServer, stage: str) -> None:
    recipient = smtp.address("nobody")
    smtp.answer(recipient, 550, at="RCPT" if stage == "RCPT" else "DATA")
    outcome = await SmtpTransport.from_url(smtp.url).send(a_message(recipient), SENDER, recipient)
    assert (outcome.sent, outcome.permanent) == (False, True)
    assert outcome.detail is not None
    assert "550 5.1.1 No such mailbox" in outcome.detail
    assert smtp.received(recipient) == []


async def test_a_temporary_refusal_of_the_message_itself_is_temporary(smtp: MailServer) -> None:
    recipient = smtp.address("full")
    smtp.answer(recipient, 452, at="DATA")
    outcome = await SmtpTransport.from_url(smtp.url).send(a_message(recipient), SENDER, recipient)
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert "452" in outcome.detail


def a_port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: a connection to it is refused


async def test_a_server_that_is_down_is_a_temporary_failure() -> None:
    port = a_port_nobody_listens_on()
    transport = SmtpTransport.from_url(f"smtp://127.0.0.1:{port}", timeout=5)
    outcome = await transport.send(a_message("a@example.test"), SENDER, "a@example.test")
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert f"127.0.0.1:{port}" in outcome.detail


def test_urls_say_which_tls_and_port() -> None:
    assert parse_smtp_url("smtps://mail.example.org") == parse_smtp_url(
        "smtps://mail.example.org:465"
    )
    cases = {
        "smtp://relay.local": ("relay.local", 25, "no TLS", None, None),
        "smtp://relay.local:2525": ("relay.local", 2525, "no TLS", None, None),
        "smtp://relay.example:587": ("relay.example", 587, "STARTTLS", None, None),
        "smtps://mail.example.org": ("mail.example.org", 465, "implicit TLS", None, None),
        "smtp://me%40example.org:p%3Ass%20w@mail.example.org:587": (
            "mail.example.org", 587, "STARTTLS", "me@example.org", "p:ss w",
        ),
        "smtp://me:secret@mail.example.org": ("mail.example.org", 25, "STARTTLS", "me", "secret"),
    }  # fmt: skip
    for url, expected in cases.items():
        parsed = parse_smtp_url(url)
        assert not isinstance(parsed, str), parsed
        got = (parsed.host, parsed.port, parsed.tls, parsed.username, parsed.password)
        assert got == expected, url
        assert check_smtp_url(url) is None


def test_bad_urls_are_refused_in_words() -> None:
    bad = {
        "http://mail.example.org": "smtp://",
        "smtp://": "names no host",
        "smtp://mail.example.org:99999": "not a URL",
        "smtp://mail.example.org/inbox": "nothing after it",
        "smtp://mail.example.org?tls=1": "nothing after it",
        "smtp://me@mail.example.org": "both a user name and a password",
        "smtp://:secret@mail.example.org": "both a user name and a password",
    }
    for url, words in bad.items():
        message = check_smtp_url(url)
        assert message is not None, url
        assert words in message, (url, message)
        with pytest.raises(ValueError, match=words.replace("?", r"\?")):
            SmtpTransport.from_url(url)


def test_a_description_for_the_log_never_names_the_password() -> None:
    transport = SmtpTransport.from_url("smtp://me:hunter2@mail.example.org:587")
    assert transport.describe() == "SMTP mail.example.org:587 (STARTTLS, as me)"
    assert "hunter2" not in repr(transport)
    assert SmtpTransport.from_url("smtps://mx.example").describe() == (
        "SMTP mx.example:465 (implicit TLS)"
    )


def test_without_a_url_messages_go_to_the_maildir(tmp_path: Path) -> None:
    assert transport_from(None, tmp_path / "mail").describe() == f"Maildir {tmp_path / 'mail'}"
    assert transport_from("smtps://mx.example", tmp_path).describe() == (
        "SMTP mx.example:465 (implicit TLS)"
    )


async def test_the_maildir_is_made_and_holds_the_message(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "mail"
    transport = MaildirTransport(folder)
    outcome = await transport.send(a_message("zoe@example.test"), SENDER, "zoe@example.test")
    assert outcome.sent
    assert len(mailbox.Maildir(folder, create=False)) == 1
    (path,) = (folder / "new").iterdir()  # new: unread, as a mail reader shows it
    assert b"\r" not in path.read_bytes(), "the Unix line ends a mail reader expects"
    stored = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(stored, EmailMessage)
    assert stored["Subject"] == "Confirmed: Haircut with Zoë"
    assert stored["Return-Path"] == f"<{SENDER}>"
    assert stored["Delivered-To"] == "zoe@example.test"
    assert stored.get_content() == "Your appointment is confirmed.\n"


async def test_an_envelope_address_cannot_add_a_line_to_the_maildir(tmp_path: Path) -> None:
    outcome = await MaildirTransport(tmp_path).send(
        a_message("zoe@example.test"), SENDER, "zoe@example.test\nX-Evil: 1"
    )
    assert (outcome.sent, outcome.permanent) == (False, True)
    assert not (tmp_path / "new").exists()


async def test_a_maildir_that_cannot_be_written_is_a_temporary_failure(tmp_path: Path) -> None:
    in_the_way = tmp_path / "mail"
    in_the_way.write_text("a file where the folder should be")
    outcome = await MaildirTransport(in_the_way).send(
        a_message("zoe@example.test"), SENDER, "zoe@example.test"
    )
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert str(in_the_way) in outcome.detail


# --- TLS and logins, on servers of this module's own ----------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(scope="module")
def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    """A client's trust: the system's, and the test certificate."""
    return ssl.create_default_context(cafile=str(certificate[0]))


LOGIN = ("me@example.org", "p:ss w@rd")


def right_login(user: str, password: str) -> bool:
    return (user, password) == LOGIN


@pytest.fixture(scope="module")
def starttls_server(server_tls: ssl.SSLContext) -> Iterator[MailServer]:
    with mail_server(tls=server_tls, authenticator=right_login) as server:
        yield server


async def test_starttls_with_a_percent_encoded_login(
    starttls_server: MailServer, trusting: ssl.SSLContext
) -> None:
    recipient = starttls_server.address()
    url = f"smtp://me%40example.org:p%3Ass%20w%40rd@127.0.0.1:{starttls_server.port}"
    transport = SmtpTransport.from_url(url, timeout=10, tls_context=trusting)
    outcome = await transport.send(a_message(recipient), SENDER, recipient)
    assert outcome.sent, outcome.detail
    assert len(starttls_server.received(recipient)) == 1


async def test_a_wrong_password_is_a_temporary_failure(
    starttls_server: MailServer, trusting: ssl.SSLContext
) -> None:
    recipient = starttls_server.address()
    url = f"smtp://me%40example.org:wrong@127.0.0.1:{starttls_server.port}"
    transport = SmtpTransport.from_url(url, timeout=10, tls_context=trusting)
    outcome = await transport.send(a_message(recipient), SENDER, recipient)
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert "login" in outcome.detail
    assert starttls_server.received(recipient) == []


async def test_an_untrusted_certificate_is_a_temporary_failure(
    starttls_server: MailServer,
) -> None:
    recipient = starttls_server.address()
    url = f"smtp://me%40example.org:p%3Ass%20w%40rd@127.0.0.1:{starttls_server.port}"
    outcome = await SmtpTransport.from_url(url, timeout=10).send(
        a_message(recipient), SENDER, recipient
    )
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert "certificate" in outcome.detail.lower()
    assert starttls_server.received(recipient) == []


async def test_a_password_is_never_sent_without_tls(smtp: MailServer) -> None:
    """The suite's server offers no STARTTLS: a URL with a login does not fall back to plain."""
    recipient = smtp.address()
    url = f"smtp://me:secret@127.0.0.1:{smtp.port}"
    outcome = await SmtpTransport.from_url(url, timeout=10).send(
        a_message(recipient), SENDER, recipient
    )
    assert (outcome.sent, outcome.permanent) == (False, False)
    assert outcome.detail is not None
    assert "STARTTLS" in outcome.detail
    assert smtp.received(recipient) == []


async def test_implicit_tls(server_tls: ssl.SSLContext, trusting: ssl.SSLContext) -> None:
    with mail_server(tls=server_tls, implicit_tls=True) as server:
        recipient = server.address()
        transport = SmtpTransport.from_url(
            f"smtps://127.0.0.1:{server.port}", timeout=10, tls_context=trusting
        )
        outcome = await transport.send(a_message(recipient), SENDER, recipient)
        assert outcome.sent, outcome.detail
        assert len(server.received(recipient)) == 1
