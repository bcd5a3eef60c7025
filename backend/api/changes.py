"""The change feed: GET /changes (pages, with long-polling) and GET /events (Server-Sent Events).

Both start after a `since` seq and hand out changes in commit order, each exactly once. The rows
of the log that are events for the webhooks (backend/store/busy_events.py) are passed by: their
seqs are skipped, and `lastSeq` moves past them. A caller
sees a `clientId`, and the client's display name as `clientName`, only on its own reservations (a
client) or on its own slots (a provider); an admin sees them everywhere.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from typing import Any, get_args

from aiohttp import web
from msgspec import UNSET, UnsetType

from backend.api.context import AppContext, context
from backend.api.operation import Operation, answer, read_query
from backend.gate.access import Caller, caller_of
from backend.gate.credential_watch import Lease
from backend.gate.problems import ProblemError, invalid
from backend.gate.request_trace import REQUEST_ID_HEADER, request_id_of
from backend.live.change_view import present_change
from backend.runtime.background import wait_at_most
from shared.wire import (
    Change,
    ChangeKind,
    Changes,
    ChangesQuery,
    EventsQuery,
    FieldError,
    Resync,
    encode_line,
    json_encoder,
)

BACKFILL_PAGE = 1000


async def checked_since(ctx: AppContext, since: int | UnsetType) -> tuple[int, int]:
    """(since, newest): `since` must fall inside what the log still holds."""
    oldest, newest = await ctx.store.change_bounds()
    if since is UNSET:
        return newest, newest
    if since > newest:
        raise ProblemError(
            "changes-gone",
            f"There is no change {since}: the newest in the log is {newest}, so this position"
            f" comes from another server or an older database. Reload, then follow from lastSeq"
            f" {newest}",
        )
    if since < max(oldest - 1, 0):
        raise ProblemError(
            "changes-gone",
            f"The change log holds changes {oldest} to {newest} only; those after {since} up to"
            f" {oldest - 1} are no longer kept. Reload, then follow from lastSeq {newest}",
        )
    return since, newest


def _revoked() -> ProblemError:
    return ProblemError(
        "unauthorized",
        "This token was revoked while the request waited",
        headers={"WWW-Authenticate": 'Bearer realm="slotbook", error="invalid_token"'},
    )


async def list_changes(request: web.Request) -> web.Response:
    ctx, caller = context(request), caller_of(request)
    query = read_query(request, ChangesQuery)
    with ctx.credentials.lease(caller.credential) as lease:
        since, newest = await checked_since(ctx, query.since)
        rows = await ctx.store.changes_since(since, query.limit)
        if not rows and query.wait > 0 and query.since is not UNSET:
            await _first_of(ctx.hub.wait_beyond(since, query.wait), lease.ended.wait())
            rows = [] if not lease.active else await ctx.store.changes_since(since, query.limit)
        if not lease.active:  # revoked while this request waited: it answers nothing
            raise _revoked()
    last = rows[-1].seq if rows else max(since, newest)  # past events' rows too
    changes = [present_change(r, caller, ctx.rules) for r in rows if not r.is_event]
    return answer(Changes(changes=changes, last_seq=last))


async def _first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of these is done; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _event(change: Change) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (
        change.seq,
        change.kind.encode(),
        json_encoder.encode(change),
    )


def _resync(reason: str, last_seq: int) -> bytes:
    data = encode_line(Resync(reason=reason, last_seq=last_seq)).rstrip(b"\n")
    return b"event: resync\ndata: %s\n\n" % data


_SEQ_TEXT = re.compile(r"^[0-9]{1,16}$")


def _since_of(request: web.Request, query: EventsQuery) -> int | UnsetType:
    header = request.headers.get("Last-Event-ID")
    if header is None:
        return query.since
    if not _SEQ_TEXT.match(header) or int(header) > 2**53:
        raise invalid([FieldError(field="Last-Event-ID", message="must be a seq (a whole number)")])
    return int(header)


async def stream_events(request: web.Request) -> web.StreamResponse:
    ctx, caller = context(request), caller_of(request)
    query = read_query(request, EventsQuery)
    with ctx.credentials.lease(caller.credential) as lease:
        return await _stream(request, ctx, caller, query, lease)


async def _stream(
    request: web.Request, ctx: AppContext, caller: Caller, query: EventsQuery, lease: Lease
) -> web.StreamResponse:
    subscription = ctx.hub.subscribe()  # before reading the log, so that nothing falls between
    lease.on_end(subscription.close)  # a revoke wakes the stream, to end it
    try:
        last, _ = await checked_since(ctx, _since_of(request, query))
        if not lease.active:
            raise _revoked()
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                REQUEST_ID_HEADER: request_id_of(request),
            }
        )
        await response.prepare(request)
        stream = _Stream(response, ctx.settings.stall_seconds, lease)
        await stream.send(b"retry: 2000\n\n")
        while not subscription.closed:
            subscription.ready.clear()
            while rows := await ctx.hub.after(last):
                batch = b"".join(
                    _event(present_change(r, caller, ctx.rules)) for r in rows if not r.is_event
                )
                last = rows[-1].seq  # once written, it is on its way even if the client stalls
                if batch:  # (only events' rows, which the feed passes by)
                    await stream.send(batch)
            await wait_at_most(subscription.ready, ctx.settings.heartbeat_seconds)
            if not subscription.ready.is_set():
                await stream.send(b": keep-alive\n\n")
        await response.write_eof()
        return response
    except _Revoked:  # the stream ends cleanly, with no more events: a reconnect gets its 401
        await response.write_eof()
        return response
    except _Stalled:
        stream.give_up(_resync("this stream fell too far behind", last))
        return response
    except ConnectionResetError:  # the client went away: nothing to tell anyone
        return response
    finally:
        ctx.hub.unsubscribe(subscription)


class _Stalled(Exception):
    """The client stopped reading: a write could not finish in time."""


class _Revoked(Exception):
    """The credential that opened the stream was revoked."""


class _Stream:
    """Writes to an event stream, noticing a client that has stopped reading, and sending nothing
    once the credential that opened it is revoked."""

    def __init__(self, response: web.StreamResponse, stall_seconds: float, lease: Lease) -> None:
        self._response = response
        self._stall_seconds = stall_seconds
        self._lease = lease

    async def send(self, data: bytes) -> None:
        if not self._lease.active:  # checked with nothing awaited between it and the write
            raise _Revoked
        try:
            async with asyncio.timeout(self._stall_seconds):
                await self._response.write(data)
        except TimeoutError:
            raise _Stalled from None

    def give_up(self, farewell: bytes) -> None:
        """Queue a last message without waiting for the client, then close: the transport's
        buffer is bounded, and a client that never reads again is cut off after a while."""
        request = self._response._req  # aiohttp keeps the transport there
        transport = request.transport if request is not None else None
        if transport is None or transport.is_closing():
            return
        if self._response.headers.get("Transfer-Encoding", "").lower() == "chunked":
            farewell = b"%x\r\n%s\r\n0\r\n\r\n" % (len(farewell), farewell)
        transport.write(farewell)
        transport.close()
        asyncio.get_running_loop().call_later(GIVE_UP_SECONDS, transport.abort)


GIVE_UP_SECONDS = 60
"""How long a stalled stream's last words may wait for the client before the socket is cut."""


OPERATIONS = [
    Operation(
        "GET",
        "/changes",
        list_changes,
        summary="Changes after `since`, oldest first; waits up to `wait` seconds for one",
        tag="feed",
        query=ChangesQuery,
        answers={200: (Changes, "The changes, and the lastSeq to ask after next")},
        problems={410: "The log no longer holds changes after `since`: reload, then resume"},
    ),
    Operation(
        "GET",
        "/events",
        stream_events,
        summary="Every change as it happens, as Server-Sent Events (resumable)",
        tag="feed",
        query=EventsQuery,
        answers={
            200: (
                None,
                "text/event-stream: `id: <seq>`, `event: <kind>`, `data: <Change>`; a `resync`"
                " event ends a stream that fell behind; comments keep it alive",
            )
        },
        problems={410: "The log no longer holds changes after `since`: reload, then resume"},
        media_type="text/event-stream",
        events={**dict.fromkeys(get_args(ChangeKind), Change), "resync": Resync},
        description="Resumes after the `Last-Event-ID` header (what EventSource sends when it"
        " reconnects) or `since`; without either, starts from now.",
    ),
]
