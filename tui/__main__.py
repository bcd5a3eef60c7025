"""`slotbook` / `python -m tui`: the terminal app."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from tui.backends import ENV_SERVER_LABEL, Backend, EmbeddedBackend, RemoteBackend
from tui.config import ConfigError, Options, load_options
from tui.timezone import local_zone, starting_zone


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = load_options(sys.argv[1:] if argv is None else argv, os.environ)
        local_zone(options.tz, os.environ)
    except (ConfigError, ValueError) as error:
        print(f"slotbook: {error}", file=sys.stderr)
        return 2
    return asyncio.run(run(options))


def refused_identity(options: Options) -> str | None:
    """Why the identity asked for (--as) cannot be started as, when that is known before any
    server starts (slotbook's own server only: --as does not go with --server)."""
    if options.identity is None or options.server:
        return None
    from tui.identities import IdentityStore, refusal_at_start

    samples: tuple[str, ...] = ()
    if options.demo:
        from tui.demo import DEMO_PROVIDERS

        samples = tuple(provider.name for provider in DEMO_PROVIDERS)
    return refusal_at_start(IdentityStore(options.db.parent), options.identity, samples)


async def run(options: Options) -> int:
    refusal = refused_identity(options)
    if refusal is not None:  # before the server or the full-screen app starts
        print(f"slotbook: {refusal}", file=sys.stderr)
        return 2
    backend: Backend
    if options.server:
        backend = RemoteBackend(options.server, options.token, os.environ.get(ENV_SERVER_LABEL))
    else:
        embedded = EmbeddedBackend(options.db)
        await embedded.launch()  # the server boots while the interface below is imported
        backend = embedded
    from tui.app import SlotbookApp

    zone, chosen = starting_zone(options.tz, os.environ)
    app = SlotbookApp(
        backend,
        zone=zone,
        zone_chosen=chosen,
        first_hour=options.first_hour,
        theme=options.theme,
        theme_source=options.theme_source,
        preferences=options.data_dir,
        demo=options.demo,
        identity=options.identity,
    )
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # a closed terminal ends the app, even when
    # whatever started it ignored SIGHUP (see tui/hangup.py for one that is never heard)
    await app.run_async()
    await backend.stop()  # also when the app ended before it took charge of the server
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
