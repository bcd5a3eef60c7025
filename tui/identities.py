"""Who the user is on the embedded server: the providers and clients they have been, with tokens.

With its own server the app makes a token for each person the user says they are (a provider
called "Dr Ada Lovelace", a client called "Sam"), keeps those tokens in `identities.json` in the
data folder, readable by the user alone, and remembers which one a start opens as: the one the user
last started as, by answering the first start's welcome or with `--as NAME`. A switch inside a
running app acts for that window only and changes nothing here but the list, so that one window
never decides what the next start (or another window) is.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

ROLES = ("provider", "client")
"""The roles a user acts in on the embedded server (the app itself is the admin)."""

FILE_NAME = "identities.json"
CORRUPT_SUFFIX = ".corrupt"
MAX_SUBJECT_LENGTH = 64
FALLBACK_SUBJECT = "user"

_SPELLED_OUT = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH", "ı": "i"}
)  # fmt: skip
"""Latin letters that Unicode does not decompose into a base letter and an accent."""


@dataclass(frozen=True)
class Identity:
    """One person the user can act as on the embedded server."""

    role: str
    """"provider" or "client" (anything else is a ValueError)."""
    subject: str
    """The providerId or clientId the token acts as."""
    name: str
    """The name people see (a provider's display name)."""
    token: str
    """The bearer token, a secret."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"an identity is a provider or a client, not {self.role!r}")

    @property
    def key(self) -> str:
        """ "role:subject", which tells identities apart (a name may be used twice)."""
        return f"{self.role}:{self.subject}"

    @property
    def label(self) -> str:
        """How lists show it: 'Dr Ada Lovelace (provider)'."""
        return f"{self.name} ({self.role})"


class _Current(msgspec.Struct, forbid_unknown_fields=True):
    """Which identity a start opens as, by its role and subject."""

    role: str
    subject: str


class _Stored(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The file's contents."""

    version: Literal[1] = 1
    current: _Current | None = None
    identities: list[Identity] = msgspec.field(default_factory=list)


class UnknownIdentity(LookupError):
    """IdentityStore.use was asked for someone the store does not hold."""


class IdentityStore:
    """The identities in `folder / identities.json`.

    Every call reads the file afresh and every change rewrites it whole, atomically (a temporary
    file renamed over it) and with mode 0600, so a crash never leaves half a file and two apps on
    one data folder see each other's changes. A missing file is an empty store; an unreadable one
    is moved aside to `identities.json.corrupt` and the store starts empty.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / FILE_NAME

    def all(self) -> list[Identity]:
        """Every identity, in the order they were added."""
        return list(self._load().identities)

    def current(self) -> Identity | None:
        """The identity a start opens as (the one last started as), if any."""
        stored = self._load()
        return (
            _find(stored, stored.current.subject, stored.current.role) if stored.current else None
        )

    def get(self, subject: str, role: str) -> Identity | None:
        """The identity with this subject and role, if saved (the start identity stays)."""
        return _find(self._load(), subject, role)

    def matching(self, wanted: str) -> list[Identity]:
        """The identities `wanted` names: by name or subject, or as "role:subject" (letter case
        and outer spaces aside)."""
        key = wanted.strip().casefold()
        return [
            i
            for i in self.all()
            if key in {n.casefold() for n in (i.name.strip(), i.subject, i.key)}
        ]

    def add(self, identity: Identity, *, make_current: bool = True) -> None:
        """Keep `identity` (replacing one with the same role and subject) and, unless told not
        to, make it the one starts open as."""
        stored = self._load()
        others = [
            i for i in stored.identities if (i.role, i.subject) != (identity.role, identity.subject)
        ]
        current = _Current(identity.role, identity.subject) if make_current else stored.current
        self._save(_Stored(current=current, identities=[*others, identity]))

    def named(self, role: str, name: str) -> Identity | None:
        """The identity of this role with this name (letter case and outer spaces aside)."""
        wanted = name.strip().casefold()
        return next(
            (i for i in self.all() if i.role == role and i.name.strip().casefold() == wanted), None
        )

    def use(self, subject: str, role: str) -> Identity:
        """Make the identity with this subject and role the one starts open as, and return
        it."""
        stored = self._load()
        found = _find(stored, subject, role)
        if found is None:
            raise UnknownIdentity(f"no {role} '{subject}' among the saved identities")
        self._save(
            _Stored(current=_Current(found.role, found.subject), identities=stored.identities)
        )
        return found

    def forget_all(self) -> None:
        """Drop every identity (the tokens stay valid on the server until revoked there)."""
        self.path.unlink(missing_ok=True)

    # --- the file ----------------------------------------------------------------------------

    def _load(self) -> _Stored:
        """The file's contents; empty when missing, unreadable or not what we wrote."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return _Stored()
        try:
            return msgspec.json.decode(raw, type=_Stored)
        except msgspec.MsgspecError:
            self._move_aside()
            return _Stored()

    def _move_aside(self) -> None:
        """Keep a corrupt file for inspection, out of the way of the next write."""
        with contextlib.suppress(OSError):
            os.replace(self.path, self.path.with_name(self.path.name + CORRUPT_SUFFIX))

    def _save(self, stored: _Stored) -> None:
        """Write the whole file atomically, readable and writable by the user alone."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = msgspec.json.format(msgspec.json.encode(stored), indent=2) + b"\n"
        write_private_file(self.path, data)


def asked_for(store: IdentityStore, wanted: str) -> Identity:
    """The one saved identity `wanted` names (`--as`); UnknownIdentity, saying which there are,
    when it names none or more than one."""
    found = store.matching(wanted)
    if len(found) == 1:
        return found[0]
    if found:
        keys = " or ".join(i.key for i in found)
        raise UnknownIdentity(f"--as {wanted!r} names more than one identity: give {keys}")
    saved = store.all()
    if not saved:
        raise UnknownIdentity(
            f"--as {wanted!r}: no identities are saved yet; start without --as to make one"
        )
    listed = ", ".join(f"{i.name} ({i.role}, {i.subject})" for i in saved)
    raise UnknownIdentity(f"--as {wanted!r} names no saved identity; saved: {listed}")


def refusal_at_start(
    store: IdentityStore, wanted: str, samples: Collection[str] = ()
) -> str | None:
    """Why `--as wanted` cannot start, told before anything starts: the saved identities are a
    file of ours. None when it names one saved identity, or none yet but one of `samples`, the
    names the sample practice saves when it is made (on a start with --demo over a new database),
    which only a started server can tell."""
    if not store.matching(wanted) and _names_one_of(wanted, samples):
        return None
    try:
        asked_for(store, wanted)
    except UnknownIdentity as error:
        return str(error)
    return None


def _names_one_of(wanted: str, names: Collection[str]) -> bool:
    """Does `wanted` name one of these people as `matching` would, once each is saved (as a
    provider, under the id their name gives)?"""
    key = wanted.strip().casefold()
    return any(key in {name.casefold(), slug(name), f"provider:{slug(name)}"} for name in names)


def write_private_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, with mode 0600: other users cannot read it, and a
    reader sees the old file or the new one, never part of either."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _find(stored: _Stored, subject: str, role: str) -> Identity | None:
    """The stored identity with this subject and role."""
    for identity in stored.identities:
        if identity.subject == subject and identity.role == role:
            return identity
    return None


def slug(name: str) -> str:
    """A name as lowercase ASCII words joined by hyphens ("Zoë O'Neil" -> "zoe-o-neil"); ""
    when nothing of it is Latin."""
    ascii_text = (
        unicodedata.normalize("NFKD", name.translate(_SPELLED_OUT))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def subject_for(name: str, taken: Collection[str]) -> str:
    """A readable id for a new provider or client: the name's slug ("Dr Ada Lovelace" ->
    "dr-ada-lovelace"; "user" when the name has no Latin letters), made unique against `taken`
    with "-2", "-3", ..., and at most 64 characters."""
    base = slug(name) or FALLBACK_SUBJECT
    number = 1
    while True:
        suffix = "" if number == 1 else f"-{number}"
        candidate = base[: MAX_SUBJECT_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1
