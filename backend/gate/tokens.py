"""Bearer tokens: made here, shown once, stored only as a hash.

A token reads `sbk_<id>_<secret>`: the id (16 hex digits, public, used to list and revoke) finds the
record; the secret (256 random bits) is checked against its SHA-256 hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import msgspec

from backend.gate.field_errors import field_error
from backend.store.base import Role, TokenRecord
from shared.wire import TokenRequest

PREFIX = "sbk"
_SHAPE = re.compile(r"^sbk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewToken:
    token_id: str
    token: str
    secret_hash: str


def make_token() -> NewToken:
    """A fresh token; `token` is the only copy of the secret and must be handed to its owner."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(token_id, f"{PREFIX}_{token_id}_{secret}", hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    shape = _SHAPE.match(token)
    return (shape.group(1), shape.group(2)) if shape else None


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Compare in constant time, so the answer's timing says nothing about the stored hash."""
    return hmac.compare_digest(hash_secret(secret), secret_hash)


class TokenRequestError(ValueError):
    """A token that cannot be made as asked; the message says why, and `field` which field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def issue(
    role: Role, subject: str | None, name: str, now: float, *, rename: bool = False
) -> tuple[NewToken, TokenRecord]:
    """A new token and the record to store for it, checked as POST /tokens checks it."""
    fields: dict[str, str] = {"role": role, "name": name}
    if subject is not None:
        fields["subject"] = subject
    try:
        msgspec.convert(fields, TokenRequest)
    except msgspec.ValidationError as error:
        wrong = field_error(TokenRequest, error)
        raise TokenRequestError(wrong.field, f"{wrong.field} {wrong.message}") from None
    if role == "admin" and subject is not None:
        raise TokenRequestError(
            "subject", "an admin token acts as nobody in particular: leave subject out"
        )
    if role != "admin" and not subject:
        what = "providerId" if role == "provider" else "clientId"
        raise TokenRequestError("subject", f"a {role} token needs a subject: the {what} it acts as")
    if role == "admin" and rename:
        raise TokenRequestError(
            "rename", "an admin token has no subject to give a display name: leave rename out"
        )
    new = make_token()
    record = TokenRecord(new.token_id, role, subject, name, created_at=now, revoked_at=None)
    return new, record
