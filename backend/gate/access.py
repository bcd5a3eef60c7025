"""Who is acting, and what they may do.

Every authenticated request carries a Caller (from its token); the decisions below say which ids it
may act as. An id in a body or query that differs from the token's subject is refused (403); an id
left out is taken from the token. In no-auth mode (local development) the caller is trusted and the
ids named in requests are believed, as the original API did, so they must be named.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from msgspec import UNSET, UnsetType

from backend.gate.problems import ProblemError
from backend.store.base import FeedRole, Role
from shared.wire import FieldError


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str | None
    name: str
    token_id: str | None = None
    trusted: bool = False
    """No-auth mode: believe the ids named in requests."""

    @property
    def rate_key(self) -> str | None:
        return None if self.token_id is None else f"token:{self.token_id}"

    @property
    def credential(self) -> tuple[str, str] | None:
        """What a long request is held to: its token (none in no-auth mode)."""
        return None if self.token_id is None else ("token", self.token_id)

    def describe(self) -> str:
        if self.trusted:
            return "the no-auth caller"
        who = f" {self.subject}" if self.subject else ""
        return f"this {self.role} token ({self.name}{who})"


TRUSTED = Caller(role="admin", subject=None, name="no-auth mode", trusted=True)

CALLER = web.RequestKey("caller", Caller)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def forbidden(detail: str) -> ProblemError:
    return ProblemError("forbidden", detail)


def ids_required(caller: Caller, *fields: str) -> tuple[str, ...]:
    """The actor ids a body must name: all of them for a trusted or admin caller, none otherwise
    (the token says who is acting)."""
    return fields if caller.trusted or caller.role == "admin" else ()


def actor_required(caller: Caller, field: str, message: str = "is required") -> ProblemError:
    """A well-formed request that does not say whom it is for, from a caller who is no one in
    particular: 422, since the same request is fine with a client's or a provider's token."""
    return ProblemError(
        "actor-required",
        f"{field} {message}: {caller.describe()} acts for no one in particular",
        errors=[FieldError(field=field, message=message)],
    )


def _required(caller: Caller, named: str | UnsetType, field: str) -> str:
    if named is UNSET:
        raise actor_required(caller, field)
    return named


def _as_subject(caller: Caller, named: str | UnsetType, field: str) -> str:
    assert caller.subject is not None
    if named is not UNSET and named != caller.subject:
        raise forbidden(
            f"{field} '{named}' is not {caller.describe()}; leave {field} out or send your own"
        )
    return caller.subject


def acting_provider(caller: Caller, named: str | UnsetType) -> str:
    """The provider whose availability this request changes."""
    if caller.trusted or caller.role == "admin":
        return _required(caller, named, "providerId")
    if caller.role == "provider":
        return _as_subject(caller, named, "providerId")
    raise forbidden(f"Only a provider manages availability; {caller.describe()} may not")


def acting_client(caller: Caller, named: str | UnsetType) -> str:
    """The client who holds, books or lists reservations in this request."""
    if caller.trusted or caller.role == "admin":
        return _required(caller, named, "clientId")
    if caller.role == "client":
        return _as_subject(caller, named, "clientId")
    raise forbidden(f"Only a client holds and books time slots; {caller.describe()} may not")


def confirming_client(caller: Caller, named: str | UnsetType) -> str | None:
    """Whose hold a confirm must be; None means any live hold (trusted or admin, no id named)."""
    if caller.trusted or caller.role == "admin":
        return None if named is UNSET else named
    return acting_client(caller, named)


@dataclass(frozen=True)
class Canceller:
    client_id: str | None
    provider_id: str | None
    admin: bool


def cancelling(
    caller: Caller, named_client: str | UnsetType, named_provider: str | UnsetType
) -> Canceller:
    """Who cancels: the holding client, the slot's provider, or an admin."""
    if caller.trusted:
        if named_client is UNSET and named_provider is UNSET:
            raise actor_required(caller, "clientId", "is required (or providerId, for a provider)")
        return Canceller(
            None if named_client is UNSET else named_client,
            None if named_provider is UNSET else named_provider,
            admin=False,
        )
    if caller.role == "admin":  # acts as the client or provider it names, else as itself
        if named_client is not UNSET or named_provider is not UNSET:
            return Canceller(
                None if named_client is UNSET else named_client,
                None if named_provider is UNSET else named_provider,
                admin=False,
            )
        return Canceller(None, None, admin=True)
    if caller.role == "client":
        _not_named(caller, named_provider, "providerId")
        return Canceller(_as_subject(caller, named_client, "clientId"), None, admin=False)
    _not_named(caller, named_client, "clientId")
    return Canceller(None, _as_subject(caller, named_provider, "providerId"), admin=False)


def _not_named(caller: Caller, named: str | UnsetType, field: str) -> None:
    """A token acts as its own subject only: naming someone of the other kind is refused, not
    ignored."""
    if named is not UNSET:
        raise forbidden(f"{caller.describe()} acts as its own {caller.role}; leave {field} out")


def may_see_calendar(caller: Caller, provider_id: str) -> None:
    """A provider's calendar, with client ids, is for that provider and admins."""
    if caller.trusted or caller.role == "admin":
        return
    if caller.role == "provider" and caller.subject == provider_id:
        return
    raise forbidden(
        f"Only provider {provider_id} sees its calendar; {caller.describe()} may not."
        " GET /availability lists its open slots"
    )


def must_be_admin(caller: Caller) -> None:
    if caller.trusted or caller.role == "admin":
        return
    raise forbidden(f"Only an admin token manages tokens; {caller.describe()} may not")


def sees_client(caller: Caller, provider_id: str, client_id: str | None) -> bool:
    """A client id is shown to that client, to the slot's provider, and to admins."""
    if caller.trusted or caller.role == "admin":
        return True
    if caller.role == "provider":
        return caller.subject == provider_id
    return client_id is not None and caller.subject == client_id


def feed_owner(
    caller: Caller, named_provider: str | UnsetType, named_client: str | UnsetType
) -> tuple[FeedRole, str]:
    """Whose calendar feed a request makes: the token's own provider or client; an admin (or the
    no-auth caller) names exactly one of the two."""
    if caller.trusted or caller.role == "admin":
        if named_provider is not UNSET and named_client is not UNSET:
            raise ProblemError(
                "rule-violation",
                "A feed is one provider's or one client's: name providerId or clientId, not both",
                errors=[FieldError(field="clientId", message="is not allowed with providerId")],
            )
        if named_provider is not UNSET:
            return "provider", named_provider
        if named_client is not UNSET:
            return "client", named_client
        raise actor_required(caller, "providerId", "is required (or clientId, for a client)")
    if caller.role == "provider":
        _not_named(caller, named_client, "clientId")
        return "provider", _as_subject(caller, named_provider, "providerId")
    _not_named(caller, named_provider, "providerId")
    return "client", _as_subject(caller, named_client, "clientId")


def feed_scope(caller: Caller) -> tuple[FeedRole, str] | None:
    """Whose feeds the caller lists and may revoke: its own subject's, or (None) every one."""
    if caller.trusted or caller.role == "admin":
        return None
    assert caller.subject is not None
    return caller.role, caller.subject


def webhook_scope(caller: Caller) -> str | None:
    """Whose changes the caller's webhooks get, and which endpoints it manages: an admin's every
    change and every endpoint (None), a provider's its own slots' and its own endpoints."""
    if caller.trusted or caller.role == "admin":
        return None
    if caller.role == "provider":
        assert caller.subject is not None
        return caller.subject
    raise forbidden(
        f"Only an admin or a provider registers webhooks; {caller.describe()} may not."
        " GET /events streams the changes a client may see"
    )


def _provider_or_admin(caller: Caller, provider_id: str, does: str) -> None:
    if caller.trusted or caller.role == "admin":
        return
    if caller.role == "provider" and caller.subject == provider_id:
        return
    raise forbidden(
        f"Only provider {provider_id} (or an admin) {does}; {caller.describe()} may not"
    )


def may_offer(caller: Caller, provider_id: str) -> None:
    """A provider's appointment types are made by that provider, or an admin."""
    _provider_or_admin(caller, provider_id, "sets what it offers")


def may_present(caller: Caller, provider_id: str) -> None:
    """A provider's public profile, and whether their booking page is on, are set by that
    provider, or an admin."""
    _provider_or_admin(caller, provider_id, "sets its profile and booking page")


def may_keep_calendars(caller: Caller, provider_id: str) -> None:
    """The calendars a provider's busy times come from (their addresses are often secret) are
    seen and changed by that provider, or an admin."""
    _provider_or_admin(caller, provider_id, "sees and changes the calendars it is busy in")


def service_scope(caller: Caller) -> str | None:
    """Whose appointment types the caller changes: a provider's own, or (None) an admin's any."""
    if caller.trusted or caller.role == "admin":
        return None
    if caller.role == "provider":
        assert caller.subject is not None
        return caller.subject
    raise forbidden(
        f"Only a provider (or an admin) changes what it offers; {caller.describe()} may not"
    )


def joining_waitlist(caller: Caller, named: str | UnsetType) -> str:
    """The client whose place in a provider's line a POST /waitlist asks for: a client token's
    own, or the one an admin (or the no-auth caller) names. A provider waits in no line."""
    if caller.role == "provider" and not caller.trusted:
        raise forbidden(
            f"Only a client waits in a provider's line (or an admin, for one);"
            f" {caller.describe()} may not join one"
        )
    return acting_client(caller, named)


def waitlist_scope(
    caller: Caller, named_client: str | UnsetType, named_provider: str | UnsetType
) -> tuple[str | None, str | None]:
    """Whose waitlist entries a GET /waitlist lists, as (client, provider), None for anyone: a
    client token's own, those in a provider token's own line, an admin's (or the no-auth
    caller's) all; an id named narrows that further, and one naming someone else is refused.
    (One entry is seen by whom `sees_client` says: its client, its provider and admins.)"""
    client = None if named_client is UNSET else named_client
    provider = None if named_provider is UNSET else named_provider
    if caller.trusted or caller.role == "admin":
        return client, provider
    if caller.role == "client":
        return _as_subject(caller, named_client, "clientId"), provider
    return client, _as_subject(caller, named_provider, "providerId")
