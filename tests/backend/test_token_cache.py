"""The token cache: a revoke here takes effect at once; one made elsewhere within half a second."""

from __future__ import annotations

import asyncio
import time

import httpx
from aiohttp.test_utils import TestServer

from backend.api.context import CONTEXT
from backend.app import create_app
from backend.gate.tokens import issue, split_token
from backend.runtime.clock import ManualClock
from backend.runtime.settings import Settings
from tests.helpers import T0, People


async def test_a_revoke_through_the_api_stops_the_token_at_once(people: People) -> None:
    assert (await people["c2"].get("/me")).status_code == 200
    parts = split_token(people.tokens["c2"])
    assert parts is not None
    revoked = await people["admin"].delete(f"/tokens/{parts[0]}")
    assert revoked.json()["message"] == "Token revoked now"
    assert (await people["c2"].get("/me")).status_code == 401
    again = await people["admin"].delete(f"/tokens/{parts[0]}")
    assert again.json()["message"] == "Token revoked already"


async def test_a_revoke_by_another_process_takes_effect_within_half_a_second(
    people: People, secure_server: TestServer, clock: ManualClock
) -> None:
    """A valid token is trusted until it is revoked, however long ago it was looked up; the
    revocation watch asks the database twice a second which tokens are revoked."""
    assert (await people["c2"].get("/me")).status_code == 200  # now cached
    parts = split_token(people.tokens["c2"])
    assert parts is not None
    services = secure_server.app[CONTEXT]
    # What `slotbook-server token revoke` does: write to the database, not through this server.
    await services.store.revoke_token(parts[0], clock.now())
    clock.advance(3600)  # the clock has nothing to do with it
    started = time.monotonic()
    while (await people["c2"].get("/me")).status_code == 200:
        assert time.monotonic() - started < 1.5, "the revoke was not seen within a second"
        await asyncio.sleep(0.02)
    assert (await people["c2"].get("/me")).status_code == 401
    assert (await people["c1"].get("/me")).status_code == 200


async def test_without_the_lever_a_token_is_asked_for_again_after_a_second(db: str) -> None:
    clock = ManualClock(T0)
    server = TestServer(create_app(Settings(db=db, rate=0, without=("auth-cache",)), clock=clock))
    await server.start_server()
    try:
        services = server.app[CONTEXT]
        new, record = issue("client", "c9", "Nine", clock.now())
        await services.store.create_token(record, new.secret_hash)
        async with httpx.AsyncClient(base_url=str(server.make_url(""))) as http:
            me = {"Authorization": f"Bearer {new.token}"}
            assert (await http.get("/me", headers=me)).status_code == 200
            await services.store.revoke_token(record.token_id, clock.now())
            assert (await http.get("/me", headers=me)).status_code == 200  # trusted a second
            clock.advance(1)
            assert (await http.get("/me", headers=me)).status_code == 401
    finally:
        await server.close()
