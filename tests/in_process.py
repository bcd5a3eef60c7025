"""`slotbook-server ...` run inside the test process: its exit status and what it printed.

The command's logic (its flags, its checks, what it writes to the database and prints) is the same
code whether `python -m backend` runs it or a test calls backend/cli/commands.py's `main`; only
the process around it differs, and a Python process costs about half a second of CPU to start
(more when coverage measures it). So the tests of what a command says and does call it here, and a
few tests keep running it as a real process, to prove that the process starts and exits as said.

It runs with the environment a child process would get from the tests (no SLOTBOOK_* variables,
plus those given), since the command reads its defaults from them. From inside an event loop, run
it on a thread (`asyncio.to_thread`): the token commands run an event loop of their own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from unittest import mock

from backend.cli.commands import main

TOKEN_LINE = re.compile(r"^sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def token(self) -> str:
        """The token a `token create` printed: alone, on its last line."""
        last = self.stdout.rstrip("\n").splitlines()[-1]
        assert TOKEN_LINE.match(last), self.stdout
        return last


def slotbook_server(*args: str, env: Mapping[str, str] | None = None) -> Ran:
    """`slotbook-server ARGS`, its exit status and its output, as a process would give them
    (argparse's errors and --help end in SystemExit, which a process turns into its status)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        environment(env or {}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = main(list(args))
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return Ran(status, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """os.environ without SLOTBOOK_* variables, plus these, for as long as the block runs."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOOK_")}
    with mock.patch.dict(os.environ, {**kept, **variables}, clear=True):
        yield
