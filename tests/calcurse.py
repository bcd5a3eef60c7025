"""calcurse, a real calendar program, as the tests that hand it iCalendar run it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def calcurse_program() -> str:
    """Where calcurse is; a failure saying how to install it when it is missing."""
    calcurse = shutil.which("calcurse")
    assert calcurse is not None, "calcurse is missing: scripts/system-packages installs it"
    return calcurse


def run_calcurse(calcurse: str, data: Path, *args: str, zone: str = "UTC") -> str:
    """Run calcurse on its own data directory, in `zone`; what it printed."""
    env = {"TZ": zone, "HOME": str(data), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [calcurse, "-D", str(data), *args],
        capture_output=True, text=True, env=env, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
