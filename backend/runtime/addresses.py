"""E-mail addresses as people type them: checked for form (with `email-validator`, never asking
the network) and normalised; the one reader of addresses for the API, the command line and the
server's own From."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class AddressError(ValueError):
    """An address that is not one; the message says why, in words."""


def checked_address(text: str, *, local: bool = False) -> str:
    """The address normalised (its domain in lower case); AddressError says what is wrong.
    `local` also takes a host name without a dot, such as `slotbook@localhost`, for the server's
    own From on a machine without a domain."""
    local_part, at, host = text.rpartition("@")
    if local and at and host and "." not in host and host.isascii() and host.isalnum():
        _validated(f"{local_part}@example.com", text)  # the rest must still be an address
        return f"{local_part}@{host.lower()}"
    return _validated(text, text)


def _validated(address: str, typed: str) -> str:
    try:
        found = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        raise AddressError(f"{typed!r} is not an e-mail address: {error}") from None
    return str(found.normalized)
