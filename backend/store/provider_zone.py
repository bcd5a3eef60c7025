"""The zone a provider's times are told in when nothing else says: their schedule's (what their
week is drawn in), else the one they set for themselves, else UTC. A booking page shows times in
it; a calendar's floating times are read in it."""

from __future__ import annotations

from backend.store.base import Store


async def provider_zone(store: Store, provider_id: str) -> str:
    schedule = await store.get_schedule(provider_id)
    if schedule is not None:
        return schedule.schedule.zone
    details = await store.party_details("provider", provider_id)
    return (details.time_zone if details is not None else None) or "UTC"
