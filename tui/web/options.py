"""`slotbook-web`'s settings: flags, each with a SLOTBOOK_WEB_* variable as its default."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.config import SERVER_URL, default_data_dir
from tui.web.own_address import is_loopback

DEFAULT_PORT = 8088
DEFAULT_MAX_SESSIONS = 20
DEFAULT_MAX_SESSIONS_PER_ADDRESS = 3
DEFAULT_IDLE_MINUTES = 30.0


@dataclass(frozen=True)
class WebOptions:
    server: str | None
    """The slotbook server every visitor's app talks to; None: start one over `db`."""
    db: Path
    """The database of the server started when none is named."""
    host: str
    port: int
    public_url: str | None
    """The address browsers use (https://... behind a TLS proxy); None: http://host:port, `host`
    being a loopback address."""
    max_sessions: int
    max_sessions_per_address: int
    idle_minutes: float
    """An app nobody has typed into for this long ends; 0: never."""


def _number(text: str, convert: type[int] | type[float], low: float, high: float, what: str) -> Any:
    """argparse's type for a number from `low` to `high`; `what` says what it must be."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def _positive_int(text: str) -> int:
    value: int = _number(text, int, 1, 1_000_000, "a whole number, 1 or more")
    return value


def _minutes(text: str) -> float:
    value: float = _number(text, float, 0, 1_000_000, "0 (never) or a number of minutes")
    return value


def _port(text: str) -> int:
    value: int = _number(text, int, 0, 65535, "a port number (0 to 65535)")
    return value


_PUBLIC_URL = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?/?$")


def _url(text: str) -> str:
    if _PUBLIC_URL.match(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address such as https://book.example.org (scheme and host only)"
        )
    return text.rstrip("/")


def _server_url(text: str) -> str:
    if SERVER_URL.match(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a server address; give its URL, e.g. http://127.0.0.1:8080"
        )
    return text.rstrip("/")


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    def env(name: str, fallback: str | None = None) -> str | None:
        return environ.get(f"SLOTBOOK_WEB_{name}") or fallback

    data_db = default_data_dir(environ) / "slotbook.db"
    parser = argparse.ArgumentParser(
        prog="slotbook-web",
        description="Serve the slotbook terminal app to web browsers. Each visitor gets the app in"
        " their browser, signs in with their token and books or paints their week as in a"
        " terminal; every visitor's app talks to the one slotbook server named by --server"
        " (without it, slotbook-web starts one, once, over --db). Put it behind a TLS proxy to"
        " offer it beyond this machine (see --public-url).",
        epilog="Every flag can also be set in the environment: SLOTBOOK_WEB_SERVER, _DB, _HOST,"
        " _PORT, _PUBLIC_URL, _MAX_SESSIONS, _MAX_SESSIONS_PER_ADDRESS, _IDLE_MINUTES. Visitors"
        " sign in with tokens made by `slotbook-server token create`. Visitors see times in their"
        " browser's time zone (in SLOTBOOK_TZ's, else this machine's, when the browser does not"
        " say), and a provider in the zone of their usual week.",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        type=_server_url,
        default=env("SERVER"),
        help="the slotbook server every visitor's app uses (env SLOTBOOK_WEB_SERVER; default:"
        " start one over --db)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        default=Path(env("DB", str(data_db)) or data_db),
        help="without --server: the database of the server slotbook-web starts (env"
        " SLOTBOOK_WEB_DB; default %(default)s)",
    )
    parser.add_argument(
        "--host",
        default=env("HOST", "127.0.0.1"),
        help="the address to listen on (env SLOTBOOK_WEB_HOST; default %(default)s, this machine"
        " only; 0.0.0.0 for every interface). Any address but a loopback one needs --public-url",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=env("PORT", str(DEFAULT_PORT)),
        help="the port to listen on; 0 picks a free one (env SLOTBOOK_WEB_PORT; default"
        " %(default)s)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        type=_url,
        default=env("PUBLIC_URL"),
        help="the address browsers reach slotbook-web at through a proxy, e.g."
        " https://book.example.org. Only requests naming it as their Host, and WebSockets from"
        " its pages, are answered; from a proxy on this machine, the last X-Forwarded-For"
        " address is the visitor's (env SLOTBOOK_WEB_PUBLIC_URL; default: http://HOST:PORT,"
        " HOST being a loopback address)",
    )
    parser.add_argument(
        "--max-sessions",
        metavar="N",
        type=_positive_int,
        default=env("MAX_SESSIONS", str(DEFAULT_MAX_SESSIONS)),
        help="at most this many visitors at once, each an app process of about 50 MB; the next"
        " one is told the service is busy (HTTP 503) (env SLOTBOOK_WEB_MAX_SESSIONS; default"
        " %(default)s)",
    )
    parser.add_argument(
        "--max-sessions-per-address",
        metavar="N",
        type=_positive_int,
        default=env("MAX_SESSIONS_PER_ADDRESS", str(DEFAULT_MAX_SESSIONS_PER_ADDRESS)),
        help="at most this many of them from any one address; the next one from there is told"
        " it has too many (HTTP 503) (env SLOTBOOK_WEB_MAX_SESSIONS_PER_ADDRESS; default"
        " %(default)s)",
    )
    parser.add_argument(
        "--idle-minutes",
        metavar="M",
        type=_minutes,
        default=env("IDLE_MINUTES", f"{DEFAULT_IDLE_MINUTES:g}"),
        help="end a visitor's app after this many minutes without a key or click; 0: never"
        " (env SLOTBOOK_WEB_IDLE_MINUTES; default %(default)s)",
    )
    return parser


def load_web_options(argv: Sequence[str], environ: Mapping[str, str]) -> WebOptions:
    """The options from the arguments and environment; bad ones end the program (status 2)."""
    parser = build_parser(environ)
    args = parser.parse_args(list(argv))
    if args.public_url is None and not is_loopback(args.host):
        parser.error(
            f"--host {args.host} is reachable from other machines: give --public-url, the address"
            " their browsers use (e.g. https://book.example.org), so that slotbook-web can tell"
            " its own pages from other sites'"
        )
    return WebOptions(
        server=args.server,
        db=args.db.expanduser().absolute(),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        max_sessions=args.max_sessions,
        max_sessions_per_address=args.max_sessions_per_address,
        idle_minutes=args.idle_minutes,
    )
