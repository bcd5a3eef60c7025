"""`python -m backend`: the `slotbook-server` command (backend/cli/commands.py)."""

import sys

from backend.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
