"""What the server is given to reach a provider's calendar server with (a calendar to read busy
times from, a calendar to write bookings to), checked alike wherever it is given: an address it
may connect to, a user name HTTP Basic can carry, and a password it can seal. Each check says
what is wrong through `refuse(field, message)`, so that one 422 names every field at fault."""

from __future__ import annotations

from collections.abc import Callable

from backend.api.context import AppContext
from backend.live.outbound.urls import UrlRefused, checked_url
from backend.runtime.secret_box import KEY_COMMAND

Refuse = Callable[[str, str], None]


def check_username(username: str | None, refuse: Refuse) -> None:
    if username is not None and ":" in username:
        refuse("username", "must not contain ':' (HTTP Basic authentication cannot carry one)")


def sealed_password(ctx: AppContext, password: str, refuse: Refuse) -> str | None:
    """The password sealed with the server's secret key; None (and refused) without one."""
    box = ctx.settings.secret_box
    if box is None:
        refuse(
            "password",
            "cannot be stored: this server has no --secret-key to seal it with; start it with"
            f" one (`{KEY_COMMAND}` prints a new one; see 'The secret key' in docs/operating.md)",
        )
        return None
    return box.seal(password)


async def allowed_url(ctx: AppContext, url: str, refuse: Refuse) -> str:
    """The address in its normal form, once every address its host has may be connected to
    (else refused, and answered as given)."""
    try:
        return await checked_url(
            url,
            allow_private=ctx.settings.allow_private_addresses,
            opened_by="--allow-private-addresses",
        )
    except UrlRefused as why:
        refuse("url", str(why))
        return url
