"""slotbook-web's flags and their SLOTBOOK_WEB_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.web.options import load_web_options


def test_defaults_keep_it_on_this_machine_with_its_own_server(tmp_path: Path) -> None:
    options = load_web_options([], {"SLOTBOOK_DATA_DIR": str(tmp_path)})
    assert options.server is None
    assert options.db == tmp_path / "slotbook.db", "the terminal app's own database"
    assert (options.host, options.port, options.public_url) == ("127.0.0.1", 8088, None)
    assert (options.max_sessions, options.idle_minutes) == (20, 30.0)
    assert options.max_sessions_per_address == 3


def test_a_flag_wins_over_its_variable() -> None:
    environ = {
        "SLOTBOOK_WEB_SERVER": "http://10.0.0.5:8080/",
        "SLOTBOOK_WEB_HOST": "0.0.0.0",
        "SLOTBOOK_WEB_PORT": "9000",
        "SLOTBOOK_WEB_PUBLIC_URL": "https://book.example.org/",
        "SLOTBOOK_WEB_MAX_SESSIONS": "5",
        "SLOTBOOK_WEB_MAX_SESSIONS_PER_ADDRESS": "4",
        "SLOTBOOK_WEB_IDLE_MINUTES": "0",
    }
    options = load_web_options([], environ)
    assert options.server == "http://10.0.0.5:8080"
    assert (options.host, options.port) == ("0.0.0.0", 9000)
    assert options.public_url == "https://book.example.org"
    assert (options.max_sessions, options.max_sessions_per_address) == (5, 4)
    assert options.idle_minutes == 0.0
    flagged = load_web_options(
        ["--max-sessions", "2", "--max-sessions-per-address", "1", "--idle-minutes", "1.5"],
        environ,
    )
    assert (flagged.max_sessions, flagged.max_sessions_per_address) == (2, 1)
    assert flagged.idle_minutes == 1.5


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_this_machine_alone_needs_no_public_url(host: str) -> None:
    assert load_web_options(["--host", host], {}).host == host


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--max-sessions", "0"], "--max-sessions: 0 is not a whole number, 1 or more"),
        (["--idle-minutes", "soon"], "--idle-minutes: 'soon' is not 0 (never) or a number"),
        (["--port", "70000"], "--port: 70000 is not a port number (0 to 65535)"),
        (["--public-url", "book.example.org"], "is not an address such as https://"),
        (["--public-url", "https://me@book.example.org"], "is not an address such as https://"),
        (["--max-sessions-per-address", "0"], "0 is not a whole number, 1 or more"),
        (
            ["--host", "0.0.0.0"],
            "--host 0.0.0.0 is reachable from other machines: give --public-url",
        ),
        (["--host", "book.example.org"], "give --public-url, the address their browsers use"),
        (["--server", "localhost:8080"], "is not a server address"),
    ],
)
def test_a_bad_value_ends_with_usage_and_says_why(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        load_web_options(argv, {})
    assert ended.value.code == 2
    assert said in capsys.readouterr().err
