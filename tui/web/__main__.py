"""`slotbook-web` / `python -m tui.web`: the terminal app in web browsers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from tui.embedded import EmbeddedServer, EmbeddedServerError
from tui.web.gateway import Gateway
from tui.web.options import WebOptions, load_web_options
from tui.web.own_address import listening_url


def main(argv: Sequence[str] | None = None) -> int:
    options = load_web_options(sys.argv[1:] if argv is None else argv, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return asyncio.run(serve(options))
    except EmbeddedServerError as error:
        print(f"slotbook-web: could not start the slotbook server: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"slotbook-web: cannot listen on {options.host}:{options.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1


async def serve(options: WebOptions) -> int:
    """Start the shared server (unless one is named), serve the page until SIGTERM or SIGINT."""
    embedded = None if options.server else EmbeddedServer(options.db)
    server = options.server or await embedded.start()  # type: ignore[union-attr]
    gateway = Gateway(
        server,
        max_sessions=options.max_sessions,
        max_sessions_per_address=options.max_sessions_per_address,
        idle_seconds=options.idle_minutes * 60,
        public_url=options.public_url,
        host=options.host,
    )
    runner = web.AppRunner(gateway.make_app(), shutdown_timeout=5)
    try:
        await runner.setup()
        site = web.TCPSite(runner, options.host, options.port)
        await site.start()
        address = listening_url(options.host, runner.addresses[0][1])
        print(
            f"slotbook-web: listening on {address} for at most {options.max_sessions} visitors"
            f" at once ({options.max_sessions_per_address} from any one address), whose apps use"
            f" {server}"
            + (f"; browsers reach it at {options.public_url}" if options.public_url else ""),
            file=sys.stderr,
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        if embedded is not None:
            await embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
