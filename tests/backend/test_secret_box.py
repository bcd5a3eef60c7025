"""The secret box: the passwords the server stores (calendars'), sealed with --secret-key.

What an operator relies on: a password sealed with the key opens with it and reads as nothing
without it; a password stored under another key is refused saying so, never misread; a key that
is no key stops the server with a message that says what one looks like and how to make one; and
the key shows nowhere (the serve command's own tests check --help and the log).
"""

from __future__ import annotations

import pytest

from backend.runtime.secret_box import SecretBox, SecretKeyMismatch, new_key
from backend.runtime.settings import Settings, SettingsError, parse_serve_args

PASSWORDS = ["hunter2", "", "pässwörd mit Umlauten ✓", "x" * 4096, "line\nbreak and 'quotes'"]


@pytest.mark.parametrize("password", PASSWORDS, ids=range(len(PASSWORDS)))
def test_a_sealed_password_opens_with_its_key_and_reads_as_nothing_without_it(
    password: str,
) -> None:
    box = SecretBox(new_key())

    sealed = box.seal(password)

    assert box.open(sealed) == password
    assert sealed.isascii(), "it fits any text column"
    assert password not in sealed or password == ""
    assert box.seal(password) != sealed, "sealed afresh each time: equal passwords look unequal"
    assert SecretBox(new_key()).seal(password) != sealed


def test_a_password_stored_under_another_key_is_refused_saying_the_key_is_not_its_own() -> None:
    sealed = SecretBox(new_key()).seal("hunter2")

    with pytest.raises(SecretKeyMismatch) as refused:
        SecretBox(new_key()).open(sealed)

    message = str(refused.value)
    assert "--secret-key is not the key this password was stored with" in message
    assert "hunter2" not in message


def test_a_sealed_password_changed_in_storage_is_refused_not_misread() -> None:
    box = SecretBox(new_key())
    sealed = box.seal("hunter2")
    middle = len(sealed) // 2
    changed = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]

    with pytest.raises(SecretKeyMismatch):
        box.open(changed)
    with pytest.raises(SecretKeyMismatch):
        box.open("not sealed at all ✗")


def test_the_key_from_the_flag_or_the_environment_opens_what_the_key_sealed() -> None:
    key = new_key()
    sealed = SecretBox(key).seal("hunter2")

    from_flag = parse_serve_args(["--secret-key", key]).secret_box
    from_env = parse_serve_args([], environ={"SLOTBOOK_SECRET_KEY": f"{key}\n"}).secret_box

    assert from_flag is not None
    assert from_flag.open(sealed) == "hunter2"
    assert from_env is not None, "a key read from a file keeps its newline: it is trimmed"
    assert from_env.open(sealed) == "hunter2"
    assert parse_serve_args([]).secret_box is None, "no key, no box"


MALFORMED = {
    "too-short": new_key()[:20],
    "too-long": new_key()[:-1] + new_key(),
    "not-base64": "é" * 44,
    "a-word": "correct horse battery staple",
}


@pytest.mark.parametrize("key", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_key_is_refused_saying_what_a_key_looks_like_and_how_to_make_one(
    key: str,
) -> None:
    with pytest.raises(SettingsError) as refused:
        parse_serve_args(["--secret-key", key])

    message = str(refused.value)
    assert message.startswith("--secret-key: ")
    assert "32 random bytes in URL-safe base64" in message, "what a key looks like"
    assert "`slotbook-server secret-key`" in message, "how to make one"
    assert key not in message, "never repeated: it may be a real key mistyped"
    assert "\n" not in message
    with pytest.raises(SettingsError):
        _ = Settings(secret_key=key).secret_box


def test_the_key_shows_in_no_repr() -> None:
    key = new_key()
    settings = parse_serve_args(["--secret-key", key])

    assert key not in repr(settings)
    assert key not in str(settings)
    assert key not in repr(settings.secret_box)
    assert repr(settings.secret_box) == "SecretBox(key=<hidden>)"


def test_each_new_key_is_new_and_works() -> None:
    keys = {new_key() for _ in range(20)}

    assert len(keys) == 20
    for key in keys:
        assert len(key) == 44
        box = SecretBox(key)
        assert box.open(box.seal(key)) == key


def test_a_new_key_never_begins_with_a_dash_a_command_line_would_take_for_a_flag() -> None:
    keys = [new_key() for _ in range(2000)]  # one in 64 would begin with "-" by chance
    assert not [key for key in keys if key.startswith("-")]
