"""`python -m backend` / `slotbook-server`: run the server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from backend.api.services import SERVICES
from backend.api.system import metrics_response
from backend.app import create_app
from backend.cli.maintenance_command import (
    add_backup_arguments,
    add_check_arguments,
    run_maintenance_command,
)
from backend.cli.token_command import add_token_arguments, run_token_command
from backend.cli.workers import WORKER_OF_FLAG, announce_listening, become_worker, run_workers
from backend.gate.http_log import HTTP_LOG
from backend.gate.request_log import ACCESS_LOG, AccessLogger, configure_logging, flush_access_log
from backend.runtime.event_loop import loop_factory, loop_name
from backend.runtime.settings import (
    Settings,
    SettingsError,
    add_server_arguments,
    settings_from_namespace,
)
from backend.store.base import Store

log = logging.getLogger("slotbook")

METRICS_HOST = "127.0.0.1"
"""Where --metrics-port listens: loopback only, since it asks for no token."""


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
        description="Run the HTTP server over a SQLite database file, or over PostgreSQL"
        " (--db postgresql://...), which any number of server processes can share: --workers N"
        " on one host, or the same command on several hosts. Every flag can also be set with"
        " the environment variable named beside it.",
    )
    add_server_arguments(serve, os.environ)
    serve.add_argument(WORKER_OF_FLAG, type=int, metavar="PID", help=argparse.SUPPRESS)
    token = commands.add_parser(
        "token",
        help="make, list or revoke access tokens",
        description="Make, list or revoke the bearer tokens that callers send as"
        " 'Authorization: Bearer <token>'. Works on the database directly (a SQLite file or a"
        " PostgreSQL URL), whether or not a server is running on it.",
    )
    add_token_arguments(token, os.environ)
    backup = commands.add_parser(
        "backup",
        help="copy a SQLite database while the server keeps serving",
        description="Make a consistent copy of a SQLite database with SQLite's online backup"
        " API, while servers keep reading and writing it, and say what was copied. Restore by"
        " stopping the server and putting the copy in the database's place. A PostgreSQL"
        " database is backed up with pg_dump instead.",
    )
    add_backup_arguments(backup, os.environ)
    check = commands.add_parser(
        "check",
        help="check a SQLite database (a backup, or the live one) is sound",
        description="Run SQLite's integrity check and slotbook's own invariants on a SQLite"
        " database (no slot with two holders, the change log gap-free, every hold's expiry"
        " consistent) and say so in one line; the file is only read. Exit status: 0 sound,"
        " 1 problems found (listed under the line), 2 could not check.",
    )
    add_check_arguments(check, os.environ)
    return parser


async def run_server(settings: Settings, *, worker: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then finish in-flight requests and close the store.

    A worker of a group (serve --workers N, backend/cli/workers.py) shares its port with the others
    through SO_REUSEPORT and leaves the logging of the group's start and stop to the parent."""
    app = create_app(settings)
    runner = web.AppRunner(
        app,
        access_log=ACCESS_LOG,
        access_log_class=AccessLogger,
        handle_signals=False,
        shutdown_timeout=5,
        logger=HTTP_LOG,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=worker)
    await site.start()
    host, port = _bound_address(runner)
    metrics = await serve_metrics(app, settings.metrics_port) if settings.metrics_port else None
    message = startup_message(settings, runner.app[SERVICES].store, host, port)
    if worker:
        announce_listening(message)
    else:
        log.info("%s", message)
        if settings.no_auth:
            log.warning(
                "--no-auth: every caller is trusted and may act as anyone;"
                " for local development only"
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.log(logging.DEBUG if worker else logging.INFO, "slotbook shutting down")
    finally:
        if metrics is not None:
            await metrics.cleanup()
        await runner.cleanup()
        flush_access_log()
    log.log(logging.DEBUG if worker else logging.INFO, "slotbook stopped")


async def serve_metrics(app: web.Application, port: int) -> web.AppRunner:
    """GET /metrics of `app`, without a token, on a loopback port of its own (for a scraper)."""

    async def metrics(_request: web.Request) -> web.Response:
        return await metrics_response(app)

    listener = web.Application()
    listener.router.add_get("/metrics", metrics)
    runner = web.AppRunner(listener, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, METRICS_HOST, port).start()
    log.info("metrics on http://%s:%d/metrics", METRICS_HOST, port)
    return runner


def startup_message(settings: Settings, store: Store, host: str, port: int) -> str:
    """The one line logged at start: address, database (where, which kind, its version; never a
    password), rules, access and event loop."""
    engine, engine_version = store.engine.split(" ", 1)
    return (
        f"slotbook listening on http://{host}:{port} database={store.where}"
        f" {engine.lower()}={engine_version} {settings.describe_rules()}"
        f" auth={'off (ids in requests are trusted)' if settings.no_auth else 'tokens'}"
        f" loop={loop_name()}"
    )


def _bound_address(runner: web.AppRunner) -> tuple[str, int]:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return str(address[0]), int(address[1])
    return "?", 0  # pragma: no cover - a TCP site always has an address


def serve(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the server: in this process, or as a group of --workers processes (`argv`, the
    command's arguments, is what each of them runs)."""
    try:
        settings = settings_from_namespace(args)
    except SettingsError as error:
        print(f"slotbook-server: {error}", file=sys.stderr)
        return 2
    parent: int | None = args.worker_of
    configure_logging(settings.log_level, settings.log_format, worker=parent is not None)
    if parent is None and settings.workers > 1:
        return run_workers(settings, argv)
    if parent is not None:
        become_worker(parent)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(run_server(settings, worker=parent is not None))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(arguments)
    if args.command == "serve":
        return serve(args, arguments)
    if args.command in ("backup", "check"):
        return run_maintenance_command(args)
    return run_token_command(args)


if __name__ == "__main__":
    sys.exit(main())
