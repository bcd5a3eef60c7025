"""`slotbook` / `python -m tui`: the terminal app."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from tui.app import SlotbookApp
from tui.backends import Backend, EmbeddedBackend, RemoteBackend
from tui.config import ConfigError, load_options
from tui.timezone import local_zone


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = load_options(sys.argv[1:] if argv is None else argv, os.environ)
        zone = local_zone(options.tz, os.environ)
    except (ConfigError, ValueError) as error:
        print(f"slotbook: {error}", file=sys.stderr)
        return 2
    backend: Backend = (
        RemoteBackend(options.server, options.token)
        if options.server
        else EmbeddedBackend(options.db)
    )
    app = SlotbookApp(
        backend,
        zone=zone,
        first_hour=options.first_hour,
        theme=options.theme,
        demo=options.demo,
    )
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
