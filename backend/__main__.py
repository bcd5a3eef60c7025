"""`python -m backend` / `slotbook-server`: run the server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from backend.app import create_app
from backend.event_loop import loop_factory, loop_name
from backend.settings import (
    Settings,
    SettingsError,
    add_server_arguments,
    settings_from_namespace,
)
from backend.token_command import add_token_arguments, run_token_command

log = logging.getLogger("slotbook")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slotbook-server",
        description="The slotbook availability server: providers publish when they can see"
        " clients, clients hold and confirm 15-minute slots, over an HTTP API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the HTTP server",
        description="Run the HTTP server over a SQLite database file. Every flag can also be"
        " set with the environment variable named beside it.",
    )
    add_server_arguments(serve, os.environ)
    token = commands.add_parser(
        "token",
        help="make, list or revoke access tokens",
        description="Make, list or revoke the bearer tokens that callers send as"
        " 'Authorization: Bearer <token>'. Works on the database file directly, whether or not"
        " a server is running on it.",
    )
    add_token_arguments(token, os.environ)
    return parser


async def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then finish in-flight requests and close the store."""
    runner = web.AppRunner(
        create_app(settings), access_log=None, handle_signals=False, shutdown_timeout=5
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    host, port = _bound_address(runner)
    database = Path(settings.db).resolve()  # noqa: ASYNC240 - once, before serving
    log.info(
        "slotbook listening on http://%s:%d database=%s sqlite=%s %s auth=%s loop=%s",
        host,
        port,
        database,
        sqlite3.sqlite_version,
        settings.describe_rules(),
        "off (ids in requests are trusted)" if settings.no_auth else "tokens",
        loop_name(),
    )
    if settings.no_auth:
        log.warning(
            "--no-auth: every caller is trusted and may act as anyone; for local development only"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.info("slotbook shutting down")
    finally:
        await runner.cleanup()
    log.info("slotbook stopped")


def _bound_address(runner: web.AppRunner) -> tuple[str, int]:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return str(address[0]), int(address[1])
    return "?", 0  # pragma: no cover - a TCP site always has an address


def serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_namespace(args)
    except SettingsError as error:
        print(f"slotbook-server: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(run_server(settings))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return run_token_command(args)


if __name__ == "__main__":
    sys.exit(main())
