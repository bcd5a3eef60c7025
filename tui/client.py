"""The slotbook HTTP API as Python calls: httpx underneath, the shared Structs on top.

No Textual here. Every write sends an Idempotency-Key, so a write whose answer was lost to the
network is retried safely with the same key. `follow` streams the change feed, resuming after the
last change seen whenever the connection drops.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec
from httpx_sse import aconnect_sse
from msgspec import UNSET

from shared.mail_wire import (
    Details,
    DetailsAnswer,
    DetailsRequest,
    NotificationKind,
    Notifications,
    NotificationShown,
    NotificationStatus,
)
from shared.profile_wire import ProfileAnswer, ProfileRequest
from shared.schedule_wire import (
    Schedule,
    ScheduleAnswer,
    ScheduleRemoved,
    ScheduleRequest,
    ScheduleSet,
)
from shared.service_wire import (
    Service,
    ServiceAnswer,
    ServiceList,
    ServicePatch,
    ServiceRequest,
)
from shared.timefmt import format_time
from shared.wire import (
    AvailabilityRemoved,
    AvailabilitySubmitted,
    CancelAnswer,
    Change,
    Changes,
    Me,
    OpenSlotsPage,
    Problem,
    Provider,
    Providers,
    ProviderSlots,
    Reservation,
    ReservationAnswer,
    Reservations,
    Resync,
    RulesInForce,
    TimeSlot,
    TokenCreated,
)
from tui.errors import ApiError, Gone, NotFound, Unreachable, error_for
from tui.known_changes import decode_change, decode_changes

T = TypeVar("T")

NO_SCHEDULE = "schedule-not-found"
"""The problem type of a 404 that means "this provider has no schedule"."""

WRITE_RETRIES = 2
"""Extra attempts for a write whose answer was lost (same Idempotency-Key each time)."""


@dataclass(frozen=True)
class Connected:
    """The feed is live again (after `since`)."""

    since: int


@dataclass(frozen=True)
class Disconnected:
    """The feed dropped; it retries in `retry_in` seconds."""

    reason: str
    retry_in: float


FeedEvent = Change | Resync | Connected | Disconnected


class SlotbookClient:
    """One server, one token."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=tls_context(),
        )

    @property
    def closed(self) -> bool:
        """Whether aclose has been called: nothing more is sent."""
        return self._http.is_closed

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing ------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        answer: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> T:
        """One request, its answer decoded into `answer`, or the problem raised as an ApiError
        (Unreachable when the server does not answer); a write carries an Idempotency-Key and is
        sent again with it when its answer was lost."""
        write = method in {"POST", "PUT", "PATCH", "DELETE"}
        headers = {"Idempotency-Key": uuid.uuid4().hex} if write else {}
        content = None if body is None else msgspec.json.encode(body)
        if content is not None:
            headers["Content-Type"] = "application/json"
        attempts = 1 + (WRITE_RETRIES if write else 1)
        for attempt in range(attempts):
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.TransportError as error:
                if attempt + 1 == attempts:
                    raise Unreachable(
                        f"{self.base_url} did not answer: {_describe(error, self._http.base_url)}"
                    ) from None
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code == 409 and _slug(response) == "idempotency-key-in-use":
                await asyncio.sleep(0.2 * (attempt + 1))  # our first try is still running
                continue
            return _decode(response, answer)
        raise Unreachable(f"{self.base_url} did not finish the request")

    # --- reads -----------------------------------------------------------------------------------

    async def me(self) -> Me:
        return await self.call("GET", "/me", Me)

    async def my_details(self) -> Details:
        """Your e-mail address and the zone your mail's times are in (None: not set)."""
        me = await self.me()
        return Details(email=me.email, time_zone=me.time_zone)

    async def notifications(
        self,
        *,
        kind: NotificationKind | None = None,
        status: NotificationStatus | None = None,
        appointment_id: str | None = None,
        limit: int = 100,
    ) -> list[NotificationShown]:
        """The mail the server queued to you, newest first (narrowed by what is given)."""
        params: dict[str, Any] = {"limit": limit}
        if kind is not None:
            params["kind"] = kind
        if status is not None:
            params["status"] = status
        if appointment_id is not None:
            params["appointmentId"] = appointment_id
        answer = await self.call("GET", "/notifications", Notifications, params=params)
        return answer.notifications

    async def rules(self) -> RulesInForce:
        return await self.call("GET", "/rules", RulesInForce)

    async def providers(self) -> list[Provider]:
        return (await self.call("GET", "/providers", Providers)).providers

    async def open_slots(
        self,
        start: float,
        end: float,
        provider_id: str | None = None,
        *,
        too_soon: bool = False,
        minutes: int | None = None,
        service_id: str | None = None,
    ) -> list[TimeSlot]:
        """Every slot a client could reserve now in [start, end), following the pages; with
        `too_soon`, also the open ones inside the notice period; with `minutes`, only the starts
        from which that many minutes in a row are open; with `service_id`, only the starts where
        an appointment of that type fits (its provider's)."""
        params: dict[str, Any] = {
            "startTime": format_time(start),
            "endTime": format_time(end),
            "limit": 5000,
        }
        if too_soon:
            params["includeTooSoon"] = "true"
        if minutes is not None:
            params["minutes"] = minutes
        if service_id is not None:
            params["serviceId"] = service_id
        if provider_id is not None:
            params["providerId"] = provider_id
        found: list[TimeSlot] = []
        while True:
            page = await self.call("GET", "/availability", OpenSlotsPage, params=params)
            found += page.available_time_slots
            if page.next_cursor is None:
                return found
            params["cursor"] = page.next_cursor

    async def provider_slots(self, provider_id: str, start: float, end: float) -> list[TimeSlot]:
        params = {"startTime": format_time(start), "endTime": format_time(end)}
        path = provider_path(provider_id, "slots")
        return (await self.call("GET", path, ProviderSlots, params=params)).time_slots

    async def schedule(self, provider_id: str) -> Schedule | None:
        """The provider's usual week and the dates that differ from it; None when it has none."""
        try:
            answer = await self.call("GET", provider_path(provider_id, "schedule"), ScheduleAnswer)
        except NotFound as error:
            if error.slug == NO_SCHEDULE:
                return None
            raise
        return answer.schedule

    async def services(self, provider_id: str, *, archived: bool = False) -> list[Service]:
        """The appointment types the provider offers (and, with `archived`, used to), oldest
        first."""
        params = {"archived": "true"} if archived else None
        path = provider_path(provider_id, "services")
        return (await self.call("GET", path, ServiceList, params=params)).services

    async def provider_profile(self, provider_id: str) -> ProfileAnswer:
        """What the provider's booking page shows of them, whether it is on, and its address."""
        return await self.call("GET", provider_path(provider_id), ProfileAnswer)

    async def reservations(self, client_id: str | None = None) -> list[Reservation]:
        """The client's live holds and bookings, one entry an appointment, soonest first."""
        params = {"clientId": client_id} if client_id else None
        return (await self.call("GET", "/reservations", Reservations, params=params)).reservations

    async def head(self) -> int:
        """Where the change log stands now."""
        return decode_changes(await self.call("GET", "/changes", msgspec.Raw)).last_seq

    async def changes(self, since: int, *, wait: float = 0, limit: int = 500) -> Changes:
        """The changes after `since` (of the kinds this app knows: tui/known_changes.py)."""
        params = {"since": since, "wait": wait, "limit": limit}
        return decode_changes(await self.call("GET", "/changes", msgspec.Raw, params=params))

    # --- writes ----------------------------------------------------------------------------------

    async def submit(
        self, start: float, end: float, provider_id: str | None = None
    ) -> AvailabilitySubmitted:
        return await self.call(
            "POST", "/availability", AvailabilitySubmitted, body=_window(start, end, provider_id)
        )

    async def remove(
        self, start: float, end: float, provider_id: str | None = None
    ) -> AvailabilityRemoved:
        return await self.call(
            "DELETE", "/availability", AvailabilityRemoved, body=_window(start, end, provider_id)
        )

    async def reserve(
        self,
        slot: TimeSlot,
        client_id: str | None = None,
        *,
        minutes: int | None = None,
        note: str | None = None,
        service_id: str | None = None,
    ) -> ReservationAnswer:
        """Hold the slot, or `minutes` of consecutive slots starting with it (all or none), or an
        appointment of the type `service_id` (its length) from it."""
        body: dict[str, str | int] = {"timeSlot": slot.timestamp, "timeSlotId": slot.time_slot_id}
        if client_id:
            body["clientId"] = client_id
        if minutes is not None:
            body["minutes"] = minutes
        if service_id is not None:
            body["serviceId"] = service_id
        if note:
            body["note"] = note
        return await self.call("POST", "/availability/reserve", ReservationAnswer, body=body)

    async def confirm(self, slot: TimeSlot, client_id: str | None = None) -> ReservationAnswer:
        body = {"timeSlot": slot.timestamp}
        if client_id:
            body["clientId"] = client_id
        path = f"/availability/confirm/{slot.time_slot_id}"
        return await self.call("PUT", path, ReservationAnswer, body=body)

    async def cancel(self, slot_id: str) -> CancelAnswer:
        """Cancel the hold or booking that this slot is part of (all of its slots)."""
        return await self.call("DELETE", f"/reservations/{slot_id}", CancelAnswer)

    async def move(self, slot_id: str, to: TimeSlot) -> ReservationAnswer:
        """Move the hold or booking that `slot_id` is part of, same length, to start at `to`;
        its old place is let go only once the new one is held (one step on the server)."""
        body = {"toTimeSlotId": to.time_slot_id, "timeSlot": to.timestamp}
        path = f"/reservations/{slot_id}/move"
        return await self.call("POST", path, ReservationAnswer, body=body)

    async def set_note(self, slot_id: str, note: str) -> ReservationAnswer:
        """Change the note of the hold or booking that `slot_id` is part of ("" drops it)."""
        path = f"/reservations/{slot_id}"
        return await self.call("PATCH", path, ReservationAnswer, body={"note": note})

    async def set_schedule(self, provider_id: str, request: ScheduleRequest) -> ScheduleSet:
        """Set the provider's usual week (and, when the request names them, its exceptions)."""
        path = provider_path(provider_id, "schedule")
        return await self.call("PUT", path, ScheduleSet, body=request)

    async def remove_schedule(self, provider_id: str) -> ScheduleRemoved:
        """Drop the provider's schedule and the open slots it made; NotFound when there is none."""
        path = provider_path(provider_id, "schedule")
        return await self.call("DELETE", path, ScheduleRemoved)

    async def offer(self, provider_id: str, request: ServiceRequest) -> Service:
        """Offer a new appointment type."""
        path = provider_path(provider_id, "services")
        return (await self.call("POST", path, ServiceAnswer, body=request)).service

    async def change_service(self, service_id: str, patch: ServicePatch) -> Service:
        """Change an appointment type (what `patch` sets; `archived: false` offers it again)."""
        path = f"/services/{service_id}"
        return (await self.call("PATCH", path, ServiceAnswer, body=patch)).service

    async def archive_service(self, service_id: str) -> Service:
        """Archive an appointment type: no longer offered; its appointments keep it."""
        return (await self.call("DELETE", f"/services/{service_id}", ServiceAnswer)).service

    async def set_provider_profile(
        self, provider_id: str, request: ProfileRequest
    ) -> ProfileAnswer:
        """Change the provider's public profile (what the request names) and turn their booking
        page on or off; a bad field is refused (Invalid, naming each field)."""
        return await self.call("PATCH", provider_path(provider_id), ProfileAnswer, body=request)

    async def set_my_details(
        self, *, email: str | None = None, time_zone: str | None = None
    ) -> DetailsAnswer:
        """Set your e-mail address and the zone of your mail's times (a field left None stays as
        it is; "" removes it). A bad one is refused (Invalid, naming the field)."""
        body = DetailsRequest(
            email=UNSET if email is None else email,
            time_zone=UNSET if time_zone is None else time_zone,
        )
        return await self.call("PATCH", "/me", DetailsAnswer, body=body)

    async def create_token(self, role: str, subject: str | None, name: str) -> TokenCreated:
        body = {"role": role, "name": name} | ({"subject": subject} if subject else {})
        return await self.call("POST", "/tokens", TokenCreated, body=body)

    # --- the feed --------------------------------------------------------------------------------

    async def follow(
        self, since: int, *, read_timeout: float = 45.0, max_backoff: float = 10.0
    ) -> AsyncIterator[FeedEvent]:
        """Changes after `since`, for as long as the caller iterates (of the kinds this app
        knows: the others are passed by, tui/known_changes.py).

        Drops are retried with backoff and resumed with Last-Event-ID, so no change is missed or
        repeated. When the server cannot resume (its log moved on, or we fell behind) this yields a
        Resync naming the seq to continue from: reload what you show, then carry on.
        """
        last = since
        delay = 0.5
        timeout = httpx.Timeout(10.0, read=read_timeout)
        while not self.closed:  # closed by a switch of identity or server, or on the way out
            try:
                async with aconnect_sse(
                    self._http,
                    "GET",
                    "/events",
                    headers={"Last-Event-ID": str(last)},
                    timeout=timeout,
                ) as source:
                    if source.response.status_code != 200:
                        await source.response.aread()
                        _decode(source.response, Changes)  # raises the problem it carries
                    yield Connected(last)
                    delay = 0.5
                    async for event in source.aiter_sse():
                        if not event.data:  # the retry advice, or a comment
                            continue
                        if event.event == "resync":
                            reason = msgspec.json.decode(event.data, type=Resync).reason
                            last = await self.head()
                            yield Resync(reason=reason, last_seq=last)
                            break
                        change = decode_change(event.data)
                        if isinstance(change, int):  # of a kind this app does not know
                            last = change
                            continue
                        last = change.seq
                        yield change
                    else:
                        raise httpx.RemoteProtocolError("the server ended the stream")
            except Gone:
                head = await self.head()
                yield Resync(
                    reason="the server no longer holds our place in its log", last_seq=head
                )
                last = head
            except (httpx.TransportError, Unreachable, ApiError, msgspec.DecodeError) as error:
                yield Disconnected(_describe(error), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_backoff)


def provider_path(provider_id: str, tail: str = "") -> str:
    """/providers/{providerId}/{tail} (or the provider's own path, without a tail), the id escaped
    as one path segment."""
    path = f"/providers/{httpx.URL(provider_id).raw_path.decode()}"
    return f"{path}/{tail}" if tail else path


def _window(start: float, end: float, provider_id: str | None) -> dict[str, str]:
    body = {"startTime": format_time(start), "endTime": format_time(end)}
    if provider_id:
        body["providerId"] = provider_id
    return body


def _slug(response: httpx.Response) -> str:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return ""
    try:
        return msgspec.json.decode(response.content, type=Problem).type.rsplit("/", 1)[-1]
    except msgspec.MsgspecError:
        return ""


def _decode(response: httpx.Response, answer: type[T]) -> T:
    if response.is_success:
        return msgspec.json.decode(response.content, type=answer)
    problem: Problem | None = None
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            problem = msgspec.json.decode(response.content, type=Problem)
        except msgspec.MsgspecError:
            problem = None
    retry_after = float(response.headers.get("Retry-After", "1") or 1)
    raise error_for(response.status_code, problem, retry_after, response.text)


_NO_SUCH_HOST = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "getaddrinfo failed",
)
"""What the system's resolver says (on Linux, macOS and Windows) when a host name has no address."""


def _describe(error: Exception, url: httpx.URL | None = None) -> str:
    if isinstance(error, httpx.ConnectError):
        if any(words in str(error).lower() for words in _NO_SUCH_HOST):
            host = f" '{url.host}'" if url is not None else ""
            return f"the host name{host} does not resolve (no such host)"
        return "connection refused"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return str(error) or type(error).__name__


@functools.cache
def tls_context() -> ssl.SSLContext:
    """What an https server's certificate is checked against (httpx's default), loaded once: a
    client made without it reads the whole certificate bundle again, some 20 ms each time the app
    signs in or switches identity."""
    return httpx.create_ssl_context()
