"""The `slotbook` command itself: its help, its refusals, and a start against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tui.harness import BackendThread


def slotbook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_help_explains_the_command_to_a_newcomer() -> None:
    done = slotbook("--help")
    assert done.returncode == 0
    assert "usage: slotbook" in done.stdout
    for flag in ("--server", "--token", "--db", "--tz", "--demo"):
        assert flag in done.stdout


def test_a_bad_setting_is_one_line_and_status_2(tmp_path: Path) -> None:
    done = slotbook("--tz", "Mars/Olympus_Mons", "--config", str(tmp_path / "none.toml"))
    assert done.returncode == 2
    assert done.stderr.startswith("slotbook: ")
    assert "Traceback" not in done.stderr


def test_a_token_without_a_server_is_refused() -> None:
    done = slotbook("--token", "sbk_x")
    assert done.returncode == 2
    assert "--server" in done.stderr


def test_a_refused_token_ends_the_app_with_what_to_do(backend: BackendThread) -> None:
    done = slotbook("--server", backend.url, "--token", "sbk_" + "0" * 16 + "_" + "A" * 43)
    assert done.returncode == 1
    assert "refused the token" in done.stdout + done.stderr
