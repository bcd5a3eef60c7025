"""The token cache: a revoke here takes effect at once; one made elsewhere within a second."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from backend.clock import ManualClock
from backend.services import SERVICES
from backend.tokens import split_token
from tests.helpers import People


async def test_a_revoke_through_the_api_stops_the_token_at_once(people: People) -> None:
    assert (await people["c2"].get("/me")).status_code == 200
    parts = split_token(people.tokens["c2"])
    assert parts is not None
    revoked = await people["admin"].delete(f"/tokens/{parts[0]}")
    assert revoked.json()["message"] == "Token revoked now"
    assert (await people["c2"].get("/me")).status_code == 401
    again = await people["admin"].delete(f"/tokens/{parts[0]}")
    assert again.json()["message"] == "Token revoked already"


async def test_a_revoke_by_another_process_takes_effect_within_a_second(
    people: People, secure_server: TestServer, clock: ManualClock
) -> None:
    assert (await people["c2"].get("/me")).status_code == 200  # now cached
    parts = split_token(people.tokens["c2"])
    assert parts is not None
    # What `slotbook-server token revoke` does: write to the database, not through this server.
    await secure_server.app[SERVICES].store.revoke_token(parts[0], clock.now())
    assert (await people["c2"].get("/me")).status_code == 200
    clock.advance(1)
    assert (await people["c2"].get("/me")).status_code == 401
