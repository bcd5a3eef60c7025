"""The app's settings: flags over environment over config file over defaults, and every mistake
named with where it came from."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from tui.__main__ import main
from tui.config import (
    ConfigError,
    Options,
    build_parser,
    default_config_path,
    default_data_dir,
    load_options,
)
from tui.themes import offered_themes


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An environment whose data folder is in tmp_path, as is the default config file (through
    XDG_CONFIG_HOME, which platformdirs reads), so no real config file is ever read."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    return {"SLOTBOOK_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def config(home: dict[str, str], tmp_path: Path) -> Path:
    """Where the default config file is (not written yet)."""
    folder = tmp_path / "config-home" / "slotbook"
    folder.mkdir(parents=True)
    return folder / "config.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- where things live ---------------------------------------------------------------------------


def test_default_paths_are_the_platform_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLOTBOOK_CONFIG", raising=False)
    monkeypatch.delenv("SLOTBOOK_DATA_DIR", raising=False)
    config_dir = Path(platformdirs.user_config_dir("slotbook"))
    assert default_config_path() == config_dir / "config.toml"
    assert default_data_dir() == Path(platformdirs.user_data_dir("slotbook"))


def test_default_paths_honour_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SLOTBOOK_CONFIG", str(tmp_path / "my.toml"))
    monkeypatch.setenv("SLOTBOOK_DATA_DIR", str(tmp_path / "state"))
    assert default_config_path() == tmp_path / "my.toml"
    assert default_data_dir() == tmp_path / "state"
    assert default_data_dir({"SLOTBOOK_DATA_DIR": "/srv/x"}) == Path("/srv/x")


def test_defaults_without_flags_env_or_file(
    home: dict[str, str], config: Path, tmp_path: Path
) -> None:
    options = load_options([], home)
    assert options == Options(
        server=None,
        token=None,
        db=tmp_path / "data" / "slotbook.db",
        tz=None,
        demo=False,
        first_hour=8,
        theme=None,
        data_dir=tmp_path / "data",
        config_path=config,
    )


def test_the_default_config_file_may_be_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty-config-home"))
    environ = {"SLOTBOOK_DATA_DIR": str(tmp_path)}
    assert load_options([], environ).config_path == (
        tmp_path / "empty-config-home" / "slotbook" / "config.toml"
    )


def test_a_config_file_the_user_named_must_exist(tmp_path: Path) -> None:
    environ = {"SLOTBOOK_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"absent\.toml: no such config file"):
        load_options(["--config", str(tmp_path / "absent.toml")], environ)
    with pytest.raises(ConfigError, match=r"gone\.toml: no such config file"):
        load_options([], {**environ, "SLOTBOOK_CONFIG": str(tmp_path / "gone.toml")})


# --- precedence ----------------------------------------------------------------------------------

FILE = """
server = "http://file.example:8080"
token = "from-file"
tz = "Asia/Tokyo"
db = "file.db"
first_hour = 6
theme = "nord"
"""


def test_the_config_file_gives_every_key(home: dict[str, str], config: Path) -> None:
    write(config, FILE)
    options = load_options([], home)
    assert options.server == "http://file.example:8080"
    assert options.token == "from-file"
    assert options.tz == "Asia/Tokyo"
    assert options.db == config.parent / "file.db"  # relative to the file's folder
    assert options.first_hour == 6
    assert options.theme == "nord"
    assert options.config_path == config


def test_the_environment_wins_over_the_file(home: dict[str, str], config: Path) -> None:
    write(config, FILE)
    environ = {
        **home,
        "SLOTBOOK_SERVER": "https://env.example",
        "SLOTBOOK_TOKEN": "from-env",
        "SLOTBOOK_TZ": "Europe/Paris",
        "SLOTBOOK_DB": "/srv/env.db",
    }
    options = load_options([], environ)
    assert (options.server, options.token, options.tz, options.db) == (
        "https://env.example",
        "from-env",
        "Europe/Paris",
        Path("/srv/env.db"),
    )
    assert (options.first_hour, options.theme) == (6, "nord")  # no variables for these


def test_flags_win_over_the_environment(home: dict[str, str], config: Path) -> None:
    write(config, FILE)
    environ = {
        **home,
        "SLOTBOOK_SERVER": "https://env.example",
        "SLOTBOOK_TOKEN": "from-env",
        "SLOTBOOK_TZ": "Europe/Paris",
        "SLOTBOOK_DB": "/srv/env.db",
    }
    argv = [
        *("--server", "http://flag.example/", "--token", "from-flag", "--tz", "UTC"),
        *("--db", "/srv/flag.db", "--first-hour", "0", "--theme", "dracula", "--demo"),
    ]
    options = load_options(argv, environ)
    assert options == Options(
        server="http://flag.example",
        token="from-flag",
        db=Path("/srv/flag.db"),
        tz="UTC",
        demo=True,
        first_hour=0,
        theme="dracula",
        theme_source="--theme",
        data_dir=Path(home["SLOTBOOK_DATA_DIR"]),
        config_path=config,
    )


def test_a_relative_database_path_is_made_absolute(
    home: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_options(["--db", "here.db"], home).db == tmp_path / "here.db"
    assert load_options([], {**home, "SLOTBOOK_DB": "env.db"}).db == tmp_path / "env.db"
    assert load_options([], {"SLOTBOOK_DATA_DIR": "state"}).db == tmp_path / "state" / "slotbook.db"


def test_an_empty_variable_counts_as_unset(home: dict[str, str], config: Path) -> None:
    write(config, 'tz = "Asia/Tokyo"\n')
    assert load_options([], {**home, "SLOTBOOK_TZ": ""}).tz == "Asia/Tokyo"


def test_config_flag_wins_over_the_variable(home: dict[str, str], tmp_path: Path) -> None:
    by_variable = write(tmp_path / "by-variable.toml", "first_hour = 9\n")
    by_flag = write(tmp_path / "by-flag.toml", "first_hour = 10\n")
    environ = {**home, "SLOTBOOK_CONFIG": str(by_variable)}
    assert load_options([], environ).first_hour == 9
    options = load_options(["--config", str(by_flag)], environ)
    assert (options.config_path, options.first_hour) == (by_flag, 10)


# --- mistakes in the file ------------------------------------------------------------------------


def test_an_unknown_key_is_refused_naming_the_file_and_the_key(
    home: dict[str, str], config: Path
) -> None:
    write(config, 'server = "http://x.example"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as raised:
        load_options([], home)
    message = str(raised.value)
    assert str(config) in message
    assert "'colour'" in message
    assert "first_hour" in message  # the keys it does read


def test_bad_toml_is_refused_naming_the_file_and_the_place(
    home: dict[str, str], config: Path
) -> None:
    write(config, 'server = "http://x.example"\ntz = Europe/Berlin\n')
    with pytest.raises(ConfigError, match="not valid TOML") as raised:
        load_options([], home)
    assert str(config) in str(raised.value)
    assert "line 2" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("first_hour = 24", "first_hour"),
        ("first_hour = -1", "first_hour"),
        ('first_hour = "7"', "first_hour"),
        ("first_hour = true", "first_hour"),
        ("first_hour = 7.5", "first_hour"),
        ("server = 8080", "server"),
        ('server = ""', "server"),
        ("token = 12", "token"),
        ("db = ['a.db']", "db"),
        ("theme = false", "theme"),
        ("[tz]\nname = 'UTC'", "tz"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(
    home: dict[str, str], config: Path, text: str, key: str
) -> None:
    write(config, text + "\n")
    with pytest.raises(ConfigError) as raised:
        load_options([], home)
    assert str(raised.value).startswith(f"{config}: key '{key}' must be ")


def test_an_unreadable_config_file_is_an_error(home: dict[str, str], config: Path) -> None:
    config.mkdir()
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_options([], home)


def test_a_bad_zone_is_named_with_where_it_came_from(home: dict[str, str], config: Path) -> None:
    write(config, 'tz = "Mars/Base"\n')
    with pytest.raises(ConfigError, match=r"key 'tz': unknown time zone 'Mars/Base'"):
        load_options([], home)
    with pytest.raises(ConfigError, match="SLOTBOOK_TZ: unknown time zone 'Moon'"):
        load_options([], {**home, "SLOTBOOK_TZ": "Moon"})
    with pytest.raises(ConfigError, match="--tz: unknown time zone 'Venus'"):
        load_options(["--tz", "Venus"], home)


def test_a_zone_of_no_place_is_refused_naming_the_nearest_real_one(home: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_options(["--tz", "right/Europe/Paris"], home)
    assert str(raised.value) == (
        "--tz: unknown time zone 'right/Europe/Paris': did you mean 'Europe/Paris'?"
    )
    with pytest.raises(ConfigError, match="SLOTBOOK_TZ: unknown time zone 'localtime'"):
        load_options([], {**home, "SLOTBOOK_TZ": "localtime"})
    assert load_options(["--tz", "US/Eastern"], home).tz == "US/Eastern"


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://x.example", "http://", "http://a b"])
def test_a_server_that_is_not_a_url_is_refused(home: dict[str, str], url: str) -> None:
    with pytest.raises(ConfigError, match="is not a server address"):
        load_options(["--server", url], home)


# --- tokens belong to servers --------------------------------------------------------------------


def test_a_token_without_a_server_is_refused(home: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_options(["--token", "sbk_x"], home)
    assert str(raised.value) == (
        "a token needs --server; without one slotbook runs its own server and makes its own tokens"
    )


def test_a_token_from_the_environment_without_a_server_names_its_source(
    home: dict[str, str], config: Path
) -> None:
    with pytest.raises(ConfigError, match="the token comes from SLOTBOOK_TOKEN"):
        load_options([], {**home, "SLOTBOOK_TOKEN": "sbk_x"})
    write(config, 'token = "sbk_x"\n')
    with pytest.raises(ConfigError, match=r"the token comes from .*key 'token'"):
        load_options([], home)


def test_a_token_with_a_server_from_anywhere_is_fine(home: dict[str, str], config: Path) -> None:
    write(config, 'server = "http://x.example"\n')
    assert load_options(["--token", "sbk_x"], home).token == "sbk_x"


def test_as_names_the_identity_to_start_as_on_the_apps_own_server(
    home: dict[str, str], config: Path
) -> None:
    assert load_options(["--as", "Dr Ada Lovelace"], home).identity == "Dr Ada Lovelace"
    assert load_options([], home).identity is None
    with pytest.raises(ConfigError) as raised:
        load_options(["--as", "Sam"], {**home, "SLOTBOOK_SERVER": "http://x.example"})
    assert str(raised.value) == (
        "--as picks one of the identities slotbook makes on its own server; with a server"
        " (SLOTBOOK_SERVER) your token says who you are"
    )


# --- flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("hour", ["24", "-1", "seven"])
def test_a_bad_first_hour_flag_is_a_usage_error(
    home: dict[str, str], hour: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        load_options(["--first-hour", hour], home)
    assert raised.value.code == 2
    assert "--first-hour" in capsys.readouterr().err


def test_help_explains_the_embedded_server_and_where_its_data_lives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")  # argparse would break long paths across lines
    environ = {"SLOTBOOK_DATA_DIR": str(tmp_path / "state")}
    parser = build_parser(environ)
    assert parser.prog == "slotbook"
    text = parser.format_help()
    assert "starts its own server" in text
    assert "data directory" in text
    assert str(tmp_path / "state") in text
    assert str(tmp_path / "state" / "slotbook.db") in text
    assert "sample providers" in text
    for flag in ("--server", "--token", "--db", "--tz", "--demo", "--first-hour", "--theme"):
        assert flag in text


def test_an_unknown_theme_is_refused_naming_where_it_came_from_and_the_themes(
    home: dict[str, str], config: Path
) -> None:
    with pytest.raises(ConfigError) as named:
        load_options(["--theme", "nope"], home)
    assert str(named.value).startswith("--theme: no theme is called 'nope'; slotbook offers ")
    assert "textual-light, tokyo-night" in str(named.value)
    write(config, 'theme = "ansi-dark"\n')  # the terminal's own colours: not offered
    with pytest.raises(ConfigError, match=r"key 'theme': no theme is called 'ansi-dark'"):
        load_options([], home)


def test_the_command_refuses_an_unknown_theme_in_one_line_with_status_2(
    home: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in home.items():
        monkeypatch.setenv(name, value)
    assert main(["--theme", "nope"]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1
    assert said.startswith("slotbook: --theme: no theme is called 'nope'; slotbook offers")
    assert "Traceback" not in said


def test_help_lists_the_themes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_options(["--help"], {})
    listed = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # rejoin wraps
    assert all(theme in listed for theme in offered_themes())
    assert "ansi-dark" not in listed
