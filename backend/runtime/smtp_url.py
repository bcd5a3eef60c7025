"""An `--smtp-url` read into its parts (the mail transports' and the settings' one reader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

TlsMode = Literal["implicit TLS", "STARTTLS", "no TLS"]

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SUBMISSION_PORT = 587
"""The message submission port (RFC 6409), where STARTTLS is expected even without a login."""


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
