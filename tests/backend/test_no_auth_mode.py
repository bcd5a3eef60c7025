"""--no-auth: the original API's trust in ids, for local development only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.runtime.settings import Settings, SettingsError
from tests.e2e.server_process import ServerProcess


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_no_auth_refuses_to_listen_beyond_this_machine(host: str) -> None:
    with pytest.raises(SettingsError, match="listens only on a loopback address"):
        Settings(host=host, no_auth=True).validate()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_auth_listens_on_loopback(host: str) -> None:
    Settings(host=host, no_auth=True).validate()


def test_the_command_refuses_a_public_address_with_no_auth(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--no-auth",
            "--host",
            "0.0.0.0",
            "--db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "loopback" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_no_auth_warns_at_start_and_trusts_ids(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "open.db", "--no-auth") as server:
        me = httpx.get(f"{server.url}/me").json()
    assert me == {
        "role": "admin",
        "subject": None,
        "name": "no-auth mode",
        "tokenId": None,
        "auth": "none",
        "email": None,
        "timeZone": None,
    }
    log = "".join(server.log)
    assert "auth=off" in log
    assert "WARNING" in log
    assert "for local development only" in log


def test_with_tokens_the_start_line_says_so(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "closed.db") as server:
        assert httpx.get(f"{server.url}/me").status_code == 401
    assert "auth=tokens" in server.log[0]
