"""The terminal app's settings, from its flags, the environment and an optional TOML file.

A setting given as a flag wins over the environment, which wins over the config file, which wins
over the default. Every mistake is a ConfigError whose message names where the bad value came from
(the flag, the variable, or the file and its key), so the user can go and fix it.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
import platformdirs
from msgspec import Meta

from tui.themes import DEFAULT_THEME, offered_themes
from tui.timezone import local_zone

APP_NAME = "slotbook"
DEFAULT_FIRST_HOUR = 8
"""The hour shown at the top of the week grid unless the user picks another."""

ENV_CONFIG = "SLOTBOOK_CONFIG"
ENV_DATA_DIR = "SLOTBOOK_DATA_DIR"
ENV_SERVER = "SLOTBOOK_SERVER"
ENV_TOKEN = "SLOTBOOK_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_TZ = "SLOTBOOK_TZ"
ENV_DB = "SLOTBOOK_DB"

NEEDS_SERVER_MESSAGE = (
    "a token needs --server; without one slotbook runs its own server and makes its own tokens"
)


SERVER_URL = re.compile(r"^https?://[^/\s?#]+(/\S*)?$")
"""What a server's address must look like: http(s), a host, perhaps a path."""


class ConfigError(Exception):
    """A setting slotbook cannot use; the message says which one, where it came from, and why."""


@dataclass(frozen=True)
class Options:
    """Everything the app needs to know before it starts, wherever each value came from."""

    server: str | None
    """The server to talk to; None means start the embedded one over `db`."""
    token: str | None
    """The bearer token for `server` (only with a server)."""
    db: Path
    """The embedded server's database file."""
    tz: str | None
    """An IANA zone to show times in; None means a provider's usual-week zone, else the
    machine's zone (tui/timezone.py)."""
    demo: bool
    """Fill an empty database with sample providers, availability and bookings."""
    first_hour: int = DEFAULT_FIRST_HOUR
    """The hour shown at the top of the week grid (0-23)."""
    theme: str | None = None
    """A theme named by --theme or the config file; None: the one last chosen, else the
    default."""
    theme_source: str | None = None
    """Where `theme` came from ("--theme", or the config file and key), to say so."""
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    """Where the app keeps what it remembers (the theme last chosen) and its identities."""
    config_path: Path = field(default_factory=lambda: default_config_path())
    """The config file that was (or would have been) read."""
    identity: str | None = None
    """--as: the saved identity to start as (and later starts to open as); None: the one last
    started as."""


class ConfigFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The keys a config file may hold; any other key is refused, as it is usually a typo."""

    server: Annotated[str, Meta(min_length=1)] | None = None
    token: Annotated[str, Meta(min_length=1)] | None = None
    tz: Annotated[str, Meta(min_length=1)] | None = None
    db: Annotated[str, Meta(min_length=1)] | None = None
    first_hour: Annotated[int, Meta(ge=0, le=23)] | None = None
    theme: Annotated[str, Meta(min_length=1)] | None = None


CONFIG_KEYS: dict[str, str] = {
    "server": 'a URL in quotes, e.g. server = "https://book.example.org"',
    "token": 'the token in quotes, e.g. token = "sbk_..."',
    "tz": 'an IANA zone name in quotes, e.g. tz = "Europe/Berlin"',
    "db": 'a file path in quotes, e.g. db = "~/slotbook.db"',
    "first_hour": "a whole number from 0 to 23, e.g. first_hour = 7",
    "theme": 'a theme name in quotes, e.g. theme = "nord" (slotbook --help lists them)',
}
"""What each config key must hold, said as the fix for a wrong value."""


# --- where things live ---------------------------------------------------------------------------


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """A variable's value; unset and empty are the same (so `VAR= slotbook` clears it)."""
    return environ.get(name) or None


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file slotbook reads: $SLOTBOOK_CONFIG, else config.toml in the user's config
    folder (e.g. ~/.config/slotbook/config.toml on Linux)."""
    env = os.environ if environ is None else environ
    named = _env(env, ENV_CONFIG)
    if named is not None:
        return Path(named).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the embedded server's database and the app's tokens live: $SLOTBOOK_DATA_DIR, else
    the user's data folder (e.g. ~/.local/share/slotbook on Linux)."""
    env = os.environ if environ is None else environ
    named = _env(env, ENV_DATA_DIR)
    if named is not None:
        return Path(named).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


# --- the command line ----------------------------------------------------------------------------


def _hour(text: str) -> int:
    """argparse type for --first-hour: a whole hour of the day."""
    try:
        hour = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 to 23") from None
    if not 0 <= hour <= 23:
        raise argparse.ArgumentTypeError(f"{hour} is not an hour of the day (0 to 23)")
    return hour


class _LazyHelp(argparse.HelpFormatter):
    """Lists the themes only when help is shown: finding them imports Textual, which a start
    without --help does only after the embedded server has been launched."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        return text.replace("{themes}", ", ".join(offered_themes())) if text else text


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The `slotbook` command line. Defaults are left as None so that load_options can tell a
    flag that was given from one that was not."""
    env = os.environ if environ is None else environ
    data_dir = default_data_dir(env)
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        formatter_class=_LazyHelp,
        description="slotbook in your terminal: providers paint the hours they can see people on"
        " a week grid and say what they offer (types of appointment, each with its length and"
        " rules); clients pick free time (one 15-minute slot, several in a row, or one of the"
        " provider's types), hold it and confirm it. Without"
        f" --server, slotbook starts its own server in the background, over a database in its"
        f" data directory ({data_dir}; set {ENV_DATA_DIR} to move it), where it also keeps the"
        " tokens it makes for you, and stops it when you quit. With --server it talks to a"
        " slotbook server elsewhere instead.",
        epilog="Each setting can also come from the environment (SLOTBOOK_SERVER, SLOTBOOK_TOKEN,"
        " SLOTBOOK_TZ, SLOTBOOK_DB) or from the config file (keys server, token, tz, db,"
        " first_hour, theme). A flag wins over the environment, and the environment over the"
        " file.",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the slotbook server to use, e.g. https://book.example.org (env SLOTBOOK_SERVER)."
        " Leave it out to run a private server on this machine.",
    )
    parser.add_argument(
        "--token",
        metavar="T",
        help="your access token for --server, as its admin gave it to you (env SLOTBOOK_TOKEN)."
        " Leave it out and slotbook asks for it on a sign-in screen. Not needed without"
        " --server: the private server makes its own tokens.",
    )
    parser.add_argument(
        "--as",
        dest="identity",
        metavar="NAME",
        help="start as this saved identity (its name or id, e.g. 'Dr Ada Lovelace'); later"
        " starts open as it too. Without it, slotbook opens as the identity you last started"
        " as: switching identity inside the app changes only that window. Not with --server,"
        " where your token says who you are.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        help="the database file of the private server (env SLOTBOOK_DB; default"
        f" {data_dir / 'slotbook.db'}). It is created if missing.",
    )
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="show times in this IANA time zone, e.g. Europe/Berlin (env SLOTBOOK_TZ;"
        " default: for a provider with a usual week, its zone; else this machine's zone)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="if the database has no providers yet, fill it with four sample providers, a"
        " fortnight of their availability and a few bookings, so there is something to look at",
    )
    parser.add_argument(
        "--first-hour",
        metavar="H",
        type=_hour,
        help=f"the hour shown at the top of the week grid, 0-23 (default {DEFAULT_FIRST_HOUR});"
        " earlier hours are a scroll away",
    )
    parser.add_argument(
        "--theme",
        metavar="NAME",
        help="the colour theme (default: the one last chosen in the command palette, else"
        f" {DEFAULT_THEME}); one of: {{themes}}",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        help="read settings from this TOML file (env SLOTBOOK_CONFIG; default"
        f" {default_config_path(env)}, used only if it exists)",
    )
    return parser


# --- the config file -----------------------------------------------------------------------------


def read_config_file(path: Path, *, required: bool) -> ConfigFile:
    """The settings in a TOML config file; an empty ConfigFile when it is missing and optional."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such config file") from None
        return ConfigFile()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return _validated(data, path)


def _validated(data: dict[str, Any], path: Path) -> ConfigFile:
    """The file's table as a ConfigFile; a ConfigError naming the file and the offending key."""
    try:
        return msgspec.convert(data, ConfigFile)
    except msgspec.ValidationError as error:
        raise _explain(error, path) from None


def _explain(error: msgspec.ValidationError, path: Path) -> ConfigError:
    """Turn msgspec's message into one that names the key and says what it must hold."""
    text = str(error)
    unknown = re.search(r"unknown field `(.+?)`", text)
    if unknown:
        known = ", ".join(CONFIG_KEYS)
        return ConfigError(
            f"{path}: unknown key '{unknown.group(1)}'; slotbook reads only these keys: {known}"
        )
    at = re.search(r"at `\$\.([A-Za-z0-9_]+)", text)
    key = at.group(1) if at else ""
    need = CONFIG_KEYS.get(key, "")
    reason = text.split(" - at ", 1)[0]
    return ConfigError(f"{path}: key '{key}' must be {need} ({reason})")


# --- putting it together -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """One value and where it came from, to name the source in error messages."""

    value: str
    source: str


def _first(*candidates: tuple[str | None, str]) -> _Setting | None:
    """The first (value, source) pair with a value: flags, then environment, then file."""
    for value, source in candidates:
        if value is not None:
            return _Setting(value, source)
    return None


def load_options(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    """The app's options from its arguments (without the program name) and environment.

    Bad flags end the program through argparse (usage and exit status 2), as for any command;
    every other problem raises ConfigError.
    """
    args = build_parser(environ).parse_args(list(argv))
    config_path, required = _config_path(args.config, environ)
    file = read_config_file(config_path, required=required)

    def key(name: str) -> str:
        return f"{config_path}, key '{name}'"

    server = _first(
        (args.server, "--server"),
        (_env(environ, ENV_SERVER), ENV_SERVER),
        (file.server, key("server")),
    )
    token = _first(
        (args.token, "--token"), (_env(environ, ENV_TOKEN), ENV_TOKEN), (file.token, key("token"))
    )
    tz = _first((args.tz, "--tz"), (_env(environ, ENV_TZ), ENV_TZ), (file.tz, key("tz")))
    theme = _first((args.theme, "--theme"), (file.theme, key("theme")))
    if theme is not None:
        _check_theme(theme)
    _check_token_has_server(token, server)
    if args.identity is not None and server is not None:
        raise ConfigError(
            "--as picks one of the identities slotbook makes on its own server; with a server"
            f" ({server.source}) your token says who you are"
        )
    if server is not None:
        _check_server_url(server)
    if tz is not None:
        _check_zone(tz)
    return Options(
        server=server.value.rstrip("/") if server else None,
        token=token.value if token else None,
        db=_database(args.db, environ, file, config_path),
        tz=tz.value if tz else None,
        demo=bool(args.demo),
        first_hour=_pick(args.first_hour, file.first_hour, DEFAULT_FIRST_HOUR),
        theme=theme.value if theme else None,
        theme_source=theme.source if theme else None,
        data_dir=default_data_dir(environ),
        config_path=config_path,
        identity=args.identity,
    )


def _pick(flag: int | None, from_file: int | None, default: int) -> int:
    """A setting that has no environment variable: the flag, else the file, else the default."""
    if flag is not None:
        return flag
    return from_file if from_file is not None else default


def _config_path(flag: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether it must exist (it must when the user named it)."""
    if flag is not None:
        return flag.expanduser(), True
    return default_config_path(environ), _env(environ, ENV_CONFIG) is not None


def _database(
    flag: Path | None, environ: Mapping[str, str], file: ConfigFile, config_path: Path
) -> Path:
    """The embedded server's database, as an absolute path (its folder also holds the app's
    tokens): flag or env (relative to the working folder), file (relative to the file's folder),
    else the data folder's slotbook.db."""
    if flag is not None:
        return flag.expanduser().absolute()
    named = _env(environ, ENV_DB)
    if named is not None:
        return Path(named).expanduser().absolute()
    if file.db is not None:
        return (config_path.parent / Path(file.db).expanduser()).absolute()
    return (default_data_dir(environ) / "slotbook.db").absolute()


def _check_theme(theme: _Setting) -> None:
    if theme.value not in offered_themes():
        raise ConfigError(
            f"{theme.source}: no theme is called '{theme.value}'; slotbook offers"
            f" {', '.join(offered_themes())}"
        )


def _check_token_has_server(token: _Setting | None, server: _Setting | None) -> None:
    """A token only means something to a server the user named."""
    if token is None or server is not None:
        return
    where = "" if token.source == "--token" else f" (the token comes from {token.source})"
    raise ConfigError(NEEDS_SERVER_MESSAGE + where)


def _check_server_url(server: _Setting) -> None:
    """The server must be an http(s) URL with a host."""
    shape = SERVER_URL.match(server.value)
    if shape is None:
        raise ConfigError(
            f"{server.source}: {server.value!r} is not a server address; give its URL, e.g."
            " http://127.0.0.1:8080 or https://book.example.org"
        )


def _check_zone(tz: _Setting) -> None:
    """The zone must be one the zone database knows."""
    try:
        local_zone(tz.value)
    except ValueError as error:
        raise ConfigError(f"{tz.source}: {error}") from None
