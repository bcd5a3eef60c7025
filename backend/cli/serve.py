"""`slotbook-server serve`: the HTTP server in this process, or a group of worker processes
(backend/cli/workers.py), until a signal stops it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from backend.api.context import CONTEXT
from backend.api.system import metrics_response
from backend.app import create_app
from backend.cli.workers import announce_listening, become_worker, run_workers
from backend.gate.http_log import HTTP_LOG
from backend.gate.request_log import ACCESS_LOG, AccessLogger, configure_logging, flush_access_log
from backend.runtime.event_loop import loop_factory, loop_name
from backend.runtime.settings import (
    Settings,
    SettingsError,
    settings_from_namespace,
)
from backend.store.base import Store

log = logging.getLogger("slotbook")

METRICS_HOST = "127.0.0.1"
"""Where --metrics-port listens: loopback only, since it asks for no token."""


async def run_server(settings: Settings, *, worker: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then finish in-flight requests and close the store.

    The signals are caught from the start: a group's parent passes a signal on as soon as every
    worker has said it listens, and a signal that came before the handler would end a worker
    abruptly (its store unclosed, and the group reporting it as a failure).

    A worker of a group (serve --workers N, backend/cli/workers.py) shares its port with the others
    through SO_REUSEPORT and leaves the logging of the group's start and stop to the parent."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before anyone hears we listen (see below)
        loop.add_signal_handler(signum, stop.set)
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
    runner.app[CONTEXT].listening_url = f"http://{_url_host(host, settings.host)}:{port}"
    metrics = await serve_metrics(app, settings.metrics_port) if settings.metrics_port else None
    ctx = runner.app[CONTEXT]
    message = startup_message(settings, ctx.store, host, port, ctx.mail.transport.describe())
    if worker:
        announce_listening(message)
    else:
        log.info("%s", message)
        if settings.no_auth:
            log.warning(
                "--no-auth: every caller is trusted and may act as anyone;"
                " for local development only"
            )
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


def startup_message(settings: Settings, store: Store, host: str, port: int, mail: str) -> str:
    """The one line logged at start: address, database (where, which kind, its version; never a
    password), rules, access, event loop, and where mail goes (never a password either)."""
    engine, engine_version = store.engine.split(" ", 1)
    return (
        f"slotbook listening on http://{host}:{port} database={store.where}"
        f" {engine.lower()}={engine_version} {settings.describe_rules()}"
        f" auth={'off (ids in requests are trusted)' if settings.no_auth else 'tokens'}"
        f" loop={loop_name()} mail={mail}"
    )


def _url_host(bound: str, asked: str) -> str:
    """The host of a link to this server: the one it was asked to listen on (a name stays a
    name), an IPv6 address in brackets, and for a wildcard address this machine's loopback."""
    wildcard = {"", "::", ".".join(["0"] * 4)}  # an address of every interface, no place
    if asked in wildcard:
        return "[::1]" if ":" in bound else "127.0.0.1"
    return f"[{asked}]" if ":" in asked and not asked.startswith("[") else asked


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
        try:
            runner.run(run_server(settings, worker=parent is not None))
        except SettingsError as error:  # found on opening the store: what it holds needs
            print(f"slotbook-server: {error}", file=sys.stderr)
            return 2
    return 0
