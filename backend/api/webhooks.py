"""Webhooks: POST, GET and DELETE /webhooks, each endpoint's deliveries, and replay. The sending
is backend/live/webhooks/sender.py's, in the background, never in a request."""

from __future__ import annotations

import re
import secrets
from typing import cast

from aiohttp import web

from backend.api.changes import checked_since
from backend.api.context import context
from backend.api.idempotency import exclusive, once_for, perform
from backend.api.operation import (
    Operation,
    Outgoing,
    answer,
    answered,
    none_if_unset,
    read_body,
)
from backend.gate.access import caller_of, webhook_scope
from backend.gate.problems import ProblemError, shown
from backend.live.outbound.urls import UrlRefused, checked_url
from backend.live.webhooks.signing import new_secret
from backend.store.base import Answer, DeliveryRecord, StoredWebhook
from shared.timefmt import format_time
from shared.webhook_wire import (
    BusySourceFailingEvent,
    ChangeBatch,
    ConflictEvent,
    Deliveries,
    Delivery,
    ReplayRequest,
    WebhookCreated,
    WebhookInfo,
    WebhookKind,
    WebhookRemoved,
    WebhookReplaying,
    WebhookRequest,
    Webhooks,
)
from shared.wire import Change, FieldError

_WEBHOOK_ID = re.compile(r"[0-9a-f]{16}")
DELIVERIES_SHOWN = 100


def webhook_info(hook: StoredWebhook) -> WebhookInfo:
    enabled = hook.disabled_at is None
    return WebhookInfo(
        webhook_id=hook.webhook_id,
        url=hook.url,
        events=None if hook.events is None else [cast(WebhookKind, e) for e in hook.events],
        description=hook.description,
        provider_id=hook.provider_id,
        format=hook.format,
        created_at=format_time(hook.created_at),
        enabled=enabled,
        disabled_reason=hook.disabled_reason,
        delivered_seq=hook.cursor,
        failed_attempts=hook.failures,
        next_attempt_at=format_time(hook.next_attempt_at) if enabled and hook.failures else None,
    )


def _delivery(record: DeliveryRecord) -> Delivery:
    return Delivery(
        seq=record.seq,
        first_seq=record.first_seq,
        attempt=record.attempt,
        at=format_time(record.at),
        status_code=record.status_code,
        error=record.error,
        latency_ms=round(record.latency_ms, 1),
    )


def _webhook_id(request: web.Request) -> str:
    webhook_id = request.match_info["webhookId"]
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        raise ProblemError(
            "webhook-not-found",
            f"No webhook has id '{shown(webhook_id)}'; GET /webhooks lists yours",
        )
    return webhook_id


async def _yours(request: web.Request) -> StoredWebhook:
    """The endpoint the path names, when the caller manages it (else 404: no such endpoint)."""
    scope = webhook_scope(caller_of(request))
    webhook_id = _webhook_id(request)
    hook = await context(request).store.find_webhook(webhook_id)
    if hook is None or (scope is not None and hook.provider_id != scope):
        raise ProblemError(
            "webhook-not-found",
            f"No webhook of yours has id {webhook_id}; GET /webhooks lists them",
        )
    return hook


async def create_webhook(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    provider_id = webhook_scope(caller)
    body = await read_body(request, WebhookRequest)
    try:
        url = await checked_url(
            body.url,
            allow_private=ctx.settings.allow_private_addresses,
            opened_by="--allow-private-addresses",
        )
    except UrlRefused as wrong:
        raise ProblemError(
            "rule-violation", f"url {wrong}", errors=[FieldError(field="url", message=str(wrong))]
        ) from None
    events = none_if_unset(body.events)
    now = ctx.now()
    hook = StoredWebhook(
        webhook_id=secrets.token_hex(8),
        url=url,
        events=None if events is None else tuple(dict.fromkeys(events)),
        description=none_if_unset(body.description),
        provider_id=provider_id,
        secret=new_secret(),
        created_at=now,
        cursor=0,
        failures=0,
        next_attempt_at=now,
        disabled_at=None,
        disabled_reason=None,
        format=body.format,
        batch_through=None,
    )

    def created(result: StoredWebhook, secret: str | None) -> WebhookCreated:
        message = (
            "Webhook registered: every change from now on is POSTed to it"
            + (", up to 100 at a time" if result.format == "batch" else ", one at a time")
            + ", signed with secret (shown only this once)"
            if secret
            else "Webhook registered by an earlier request with this Idempotency-Key; its secret"
            " was shown only then"
        )
        return WebhookCreated(message=message, secret=secret, webhook=webhook_info(result))

    def stored(result: StoredWebhook) -> Answer:
        return answered(created(result, None), status=201)  # the secret is never replayed

    once = await once_for(request, caller, stored)
    async with exclusive(request, once):
        made = await ctx.store.create_webhook(
            hook, most=ctx.settings.max_webhooks_per_owner, once=once
        )
    ctx.webhooks.endpoint_made()
    return answer(created(made, hook.secret), 201)


async def list_webhooks(request: web.Request) -> web.Response:
    scope = webhook_scope(caller_of(request))
    hooks = await context(request).store.list_webhooks(scope)
    return answer(Webhooks(webhooks=[webhook_info(h) for h in hooks]))


async def get_webhook(request: web.Request) -> web.Response:
    return answer(webhook_info(await _yours(request)))


async def remove_webhook(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    scope = webhook_scope(caller)
    webhook_id, now = _webhook_id(request), ctx.now()

    def render(hook: StoredWebhook) -> Answer:
        return answered(
            WebhookRemoved(
                message="Webhook removed: nothing more is sent to it", webhook=webhook_info(hook)
            )
        )

    return await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.delete_webhook(webhook_id, scope, now, once=once),
    )


async def list_deliveries(request: web.Request) -> web.Response:
    hook = await _yours(request)
    records = await context(request).store.webhook_deliveries(hook.webhook_id, DELIVERIES_SHOWN)
    return answer(Deliveries(deliveries=[_delivery(r) for r in records]))


async def replay_webhook(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    hook = await _yours(request)
    body = await read_body(request, ReplayRequest)
    since, _ = await checked_since(ctx, body.since)
    now = ctx.now()

    def render(result: StoredWebhook) -> Answer:
        return answered(
            WebhookReplaying(
                message=f"Every change after {since} will be sent again, in order",
                webhook=webhook_info(result),
            )
        )

    response = await perform(
        request,
        caller,
        render,
        lambda once: ctx.store.replay_webhook(
            hook.webhook_id, hook.provider_id, since, now, once=once
        ),
    )
    ctx.webhooks.endpoint_made()
    return response


_WEBHOOK = "/webhooks/{webhookId}"
_NOT_FOUND = "No webhook of the caller's has this id"
_CLIENTS = "A client's token: webhooks are an admin's or a provider's"

OPERATIONS = [
    Operation(
        "POST",
        "/webhooks",
        create_webhook,
        summary="Register a webhook: every change (or some kinds) POSTed to a URL, signed",
        tag="webhooks",
        description="An admin's endpoint gets every change and event, a provider's the changes"
        " to its own slots and the events about itself. With `format` `batch` (the default)"
        ' each delivery is an envelope `{"type": "changes", "changes": [...]}` of up to 100'
        " changes in seq order, as GET /changes shows them (see the document's `webhooks`);"
        " with `single`, each delivery is one change, the bare object. The events, `conflict`"
        " (a busy time of the provider's own calendar overlaps a hold or booking) and"
        " `busy-source-failing` (one of their calendars has failed for three refresh periods),"
        ' come to both formats, each alone, as `{"type": "<event>", "data": {...}}`; `events`'
        " may name them beside kinds of change. Every delivery has the Standard Webhooks headers"
        " webhook-id, webhook-timestamp and webhook-signature. Deliveries are retried with a"
        " doubling back-off for about a day, then the endpoint is disabled. A provider (and the"
        " admins together) may have the server's --max-webhooks-per-owner endpoints (10 by"
        " default).",
        body=WebhookRequest,
        answers={201: (WebhookCreated, "The endpoint; its signing secret is shown only here")},
        problems={
            403: _CLIENTS,
            409: "The owner already has --max-webhooks-per-owner endpoints",
            422: "The URL is not http(s) of a host, or its host is or resolves to an address"
            " the server does not connect to: loopback, private, link-local, a cloud metadata"
            " service's or another special-purpose one, however it is written",
        },
    ),
    Operation(
        "GET",
        "/webhooks",
        list_webhooks,
        summary="The caller's webhooks (an admin: every one), without their secrets",
        tag="webhooks",
        answers={200: (Webhooks, "The endpoints")},
        problems={403: _CLIENTS},
    ),
    Operation(
        "GET",
        _WEBHOOK,
        get_webhook,
        summary="One webhook: where its deliveries stand, or why it was disabled",
        tag="webhooks",
        path_params={"webhookId": str},
        answers={200: (WebhookInfo, "The endpoint")},
        problems={403: _CLIENTS, 404: _NOT_FOUND},
    ),
    Operation(
        "DELETE",
        _WEBHOOK,
        remove_webhook,
        summary="Remove a webhook: nothing more is sent to it",
        tag="webhooks",
        path_params={"webhookId": str},
        answers={200: (WebhookRemoved, "Removed")},
        problems={403: _CLIENTS, 404: _NOT_FOUND},
    ),
    Operation(
        "GET",
        _WEBHOOK + "/deliveries",
        list_deliveries,
        summary="A webhook's latest delivery attempts: when, the status or error, the latency",
        tag="webhooks",
        path_params={"webhookId": str},
        answers={200: (Deliveries, "The latest 100 attempts, newest first")},
        problems={403: _CLIENTS, 404: _NOT_FOUND},
    ),
    Operation(
        "POST",
        _WEBHOOK + "/replay",
        replay_webhook,
        summary="Send a webhook every change after a change-log position again (and restart it)",
        tag="webhooks",
        description="For a receiver that lost deliveries or handled them wrongly (e.g. after"
        " restoring its database). Each change goes again, in seq order, with its own seq (a"
        " single-format endpoint's deliveries also under the webhook-id each was first sent"
        " with; a batch may group changes differently): a receiver drops the changes whose seq"
        " it has recorded, so it should forget those it wants handled again before asking.",
        path_params={"webhookId": str},
        body=ReplayRequest,
        answers={200: (WebhookReplaying, "Delivery starts again from there")},
        problems={
            403: _CLIENTS,
            404: _NOT_FOUND,
            410: "The log no longer holds the changes after `since`",
        },
    ),
]

_SIGNED = {
    "webhook-id": "The delivery's id, the same on every retry of it: `msg_<webhookId>_<seq>` for"
    " one change, `msg_<webhookId>_<first seq>_<last seq>` for several.",
    "webhook-timestamp": "When this attempt was sent, in seconds since the epoch.",
    "webhook-signature": "`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>`"
    " with the endpoint's secret (Standard Webhooks): verify it with the `standardwebhooks`"
    " library before believing the body.",
}
_RECEIVED = (
    "Received: the endpoint is sent what follows. Any other answer, or none within 10 s, and the"
    " same delivery is sent again after the back-off"
)

DELIVERIES = [
    Outgoing(
        "changes",
        ChangeBatch,
        summary="What an endpoint of format `batch` (the default) is sent: up to 100 changes",
        description="An envelope whose `type` says what it carries. `changes` carries the changes"
        " waiting for the endpoint, up to 100, in seq order, each as GET /changes shows it to"
        " the endpoint's owner; a delivery never waits to fill up. Events come in the same"
        ' envelope, each alone, as `{"type": "<event>", "data": {...}}` (`conflict`,'
        " `busy-source-failing`, and any later versions add): answer 2xx to a type you do not"
        " know.",
        headers=_SIGNED,
        received=_RECEIVED,
    ),
    Outgoing(
        "change",
        Change,
        summary="What an endpoint of format `single` is sent: one change",
        description="One change a delivery, the bare object GET /changes gives, as endpoints"
        " registered before batches existed are sent. Events come to these endpoints too, in"
        " their envelopes (`conflict`, `busy-source-failing`).",
        headers=_SIGNED,
        received=_RECEIVED,
    ),
    Outgoing(
        "conflict",
        ConflictEvent,
        summary="A hold or booking a busy time of the provider's own calendar now overlaps",
        description="Sent once, when a refresh of one of the provider's calendars makes a"
        " live hold or booking overlap a busy time of it (one per appointment and calendar;"
        " reserves and moves refuse busy times, so only a refresh makes one). `data` is the"
        " conflict as GET /providers/{providerId}/conflicts lists it, with `providerId`."
        " Slotbook leaves the appointment as it is: the provider decides. To both formats of"
        " endpoint, alone in its delivery; `webhook-id` is `msg_<webhookId>_<seq>`.",
        headers=_SIGNED,
        received=_RECEIVED,
    ),
    Outgoing(
        "busy-source-failing",
        BusySourceFailingEvent,
        summary="One of the provider's calendars has failed for three refresh periods",
        description="Sent once, at the refresh that makes a calendar `failing` (its refreshes"
        " fail and none has succeeded for three of its refresh periods); again only after a"
        " success and three more periods of failures. Its last good busy times stay in force."
        " `data` is `providerId` and the source as GET"
        " /providers/{providerId}/busy-sources/{sourceId} shows it (never its password), its"
        " `status.lastError` saying why. To both formats of endpoint, alone in its delivery;"
        " `webhook-id` is `msg_<webhookId>_<seq>`.",
        headers=_SIGNED,
        received=_RECEIVED,
    ),
]
"""The deliveries the sender makes, for the document's `webhooks`."""
