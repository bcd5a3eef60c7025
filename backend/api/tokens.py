"""Tokens (admin only)."""

from __future__ import annotations

import re

from aiohttp import web
from msgspec import UNSET

from backend.api.context import context
from backend.api.idempotency import exclusive, once_for, perform
from backend.api.operation import Operation, answer, answered, read_body
from backend.gate.access import caller_of, must_be_admin
from backend.gate.problems import ProblemError, shown
from backend.gate.tokens import TokenRequestError, issue
from backend.store.base import Answer, RevokeResult, TokenRecord
from shared.timefmt import format_moment, format_time
from shared.wire import (
    FieldError,
    TokenCreated,
    TokenInfo,
    TokenRequest,
    TokenRevoked,
    Tokens,
)

_TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")


def token_info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        token_id=record.token_id,
        role=record.role,
        subject=record.subject,
        name=record.name,
        created_at=format_time(record.created_at),
        revoked_at=format_moment(record.revoked_at),
    )


def _created(record: TokenRecord, token: str | None) -> TokenCreated:
    message = (
        "Token created; keep it secret, it is shown only this once"
        if token
        else "Token created by an earlier request with this Idempotency-Key;"
        " its secret was shown only then"
    )
    return TokenCreated(
        message=message,
        token=token,
        token_id=record.token_id,
        role=record.role,
        subject=record.subject,
        name=record.name,
        created_at=format_time(record.created_at),
    )


async def create_token(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    must_be_admin(caller)
    body = await read_body(request, TokenRequest)
    subject = None if body.subject is UNSET else body.subject
    try:
        new, record = issue(body.role, subject, body.name, ctx.now(), rename=body.rename)
    except TokenRequestError as error:
        problem = [FieldError(field=error.field, message=str(error))]
        raise ProblemError("rule-violation", f"{error.field}: {error}", errors=problem) from None

    def stored(result: TokenRecord) -> Answer:
        # The secret is never stored, not even in the answer kept for a retry.
        return answered(_created(result, None), status=201)

    once = await once_for(request, caller, stored)
    async with exclusive(request, once):
        # A retry with the same Idempotency-Key raises Replayed here.
        await ctx.store.create_token(record, new.secret_hash, rename=body.rename, once=once)
    return answer(_created(record, new.token), 201)


async def list_tokens(request: web.Request) -> web.Response:
    must_be_admin(caller_of(request))
    records = await context(request).store.list_tokens()
    return answer(Tokens(tokens=[token_info(r) for r in records]))


async def revoke_token(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    must_be_admin(caller)
    token_id = request.match_info["tokenId"]
    if not _TOKEN_ID.match(token_id):
        raise ProblemError(
            "token-not-found", f"No token has id '{shown(token_id)}'; GET /tokens lists them"
        )
    now = ctx.now()

    def render(result: RevokeResult) -> Answer:
        when = "already" if result.already else "now"
        return answered(
            TokenRevoked(message=f"Token revoked {when}", token=token_info(result.token))
        )

    response = await perform(
        request, caller, render, lambda once: ctx.store.revoke_token(token_id, now, once=once)
    )
    ctx.authenticator.forget(token_id)
    ctx.credentials.revoke(("token", token_id))  # its open streams end now
    return response


OPERATIONS = [
    Operation(
        "POST",
        "/tokens",
        create_token,
        summary="Make a token for an admin, a provider or a client (admin only)",
        tag="access",
        body=TokenRequest,
        answers={201: (TokenCreated, "The token; its secret is shown only in this answer")},
        problems={
            403: "The caller is not an admin",
            422: "A provider or client token without a subject, or an admin token with one"
            " or with `rename`",
        },
    ),
    Operation(
        "GET",
        "/tokens",
        list_tokens,
        summary="Every token, without secrets (admin only)",
        tag="access",
        answers={200: (Tokens, "The tokens")},
        problems={403: "The caller is not an admin"},
    ),
    Operation(
        "DELETE",
        "/tokens/{tokenId}",
        revoke_token,
        summary="Revoke a token: it stops working at once (admin only)",
        tag="access",
        path_params={"tokenId": str},
        answers={200: (TokenRevoked, "Revoked now, or already revoked")},
        problems={403: "The caller is not an admin", 404: "No token has this id"},
    ),
]
