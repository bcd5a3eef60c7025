"""An aiohttp client session that connects only where the outbound guard allows: every connection
to a name goes through the guard's resolver (each address the name has is judged when the
connection is made), and every request to an address literal, which aiohttp connects to without
resolving, is judged before it is sent, redirects included.

A refusal comes out as aiohttp's own connection failure, `ClientConnectorError`, whose `os_error`
is an `AddressRefused` saying why: a name refused by the resolver and a literal refused here read
alike to the caller.
"""

from __future__ import annotations

import aiohttp
from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse

from backend.live.outbound.guard import AddressRefused, GuardedResolver, literal_refusal


def guarded_session(
    *, allow_private: bool, timeout: float, user_agent: str, limit: int = 100
) -> aiohttp.ClientSession:
    """A session whose connections go only where the guard allows (loopback and private
    addresses too with `allow_private`); each request, redirects and reading its answer included,
    ends after `timeout` seconds; at most `limit` connections at once. The caller closes it."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private), limit=limit
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"User-Agent": user_agent},
        middlewares=(literal_guard(allow_private=allow_private),),
    )


def literal_guard(*, allow_private: bool) -> ClientMiddlewareType:
    """A client middleware refusing a request to an address literal the guard refuses."""

    async def guard(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        why = literal_refusal(str(request.url), allow_private=allow_private)
        if why is not None:
            raise aiohttp.ClientConnectorError(request.connection_key, AddressRefused(str(why)))
        return await handler(request)

    return guard
