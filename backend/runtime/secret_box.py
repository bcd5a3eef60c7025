"""Passwords the server must keep and use again (a calendar's), sealed with its --secret-key.

The key is a Fernet key, as `cryptography` takes it: 32 random bytes in URL-safe base64. Fernet
seals with AES-128-CBC and signs with HMAC-SHA256, so a sealed password neither reads nor changes
without the key, and a password sealed under another key is refused rather than misread. The key
itself is never shown: not in a repr, not in an error.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

KEY_COMMAND = "slotbook-server secret-key"
"""The command that prints a new key."""


class MalformedSecretKey(ValueError):
    """A key that is no Fernet key; the message says what a key looks like and how to make one
    (and never repeats the key)."""


class SecretKeyMismatch(Exception):
    """A sealed password this key does not open: sealed with another key (or damaged)."""


class SecretBox:
    """Seals text with one key and opens what that key sealed."""

    __slots__ = ("_fernet",)

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except ValueError:  # too short or long, or not base64 (binascii.Error is a ValueError)
            raise MalformedSecretKey(
                "that is not a secret key: a key is 32 random bytes in URL-safe base64, 44"
                f" characters ending in '=', as `{KEY_COMMAND}` prints one; make one with it"
            ) from None

    def seal(self, text: str) -> str:
        """`text` sealed: ASCII, different at each call, open only with this key."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The text `seal` sealed, under this key; SecretKeyMismatch if it was another key's."""
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SecretKeyMismatch(
                "the server's --secret-key is not the key this password was stored with: start"
                " the server with that key, or enter the password again"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(key=<hidden>)"


def opened(box: SecretBox | None, sealed: str | None) -> str | None:
    """The password `sealed` holds (None: none was stored), opened with the server's box (None:
    the server has no key, which SecretKeyMismatch says)."""
    if sealed is None:
        return None
    if box is None:
        raise SecretKeyMismatch(
            "the server has no --secret-key, so the calendar's password cannot be read"
        )
    return box.open(sealed)


def new_key() -> str:
    """A new random key, as --secret-key takes it: never one that begins with "-", which a
    command line would read as a flag (`--secret-key -x...`)."""
    while True:
        key = Fernet.generate_key().decode("ascii")
        if not key.startswith("-"):
            return key
