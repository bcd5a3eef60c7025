"""Which due endpoints the sender takes on next: a fair share for every owner.

An owner is a provider, or the admins together (their endpoints have no provider). The sender
runs at most `share` endpoints of one owner at a time and `room` more in all; when more are due
than it can take, it takes them in rounds over the owners, the owners running the fewest first,
so an owner with many due endpoints (slow ones, say) fills its own share and nobody else's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from backend.store.base import DueWebhook

Owner = str | None
"""A provider's id, or None: the admins."""


def pick(
    due: Sequence[DueWebhook], running: Mapping[Owner, int], *, share: int, room: int
) -> list[str]:
    """The ids of the due endpoints to take on, in the order to start them: none of an owner
    already running `share`, at most `room` in all. Each owner's are taken in the order given
    (the store's: those waiting longest first); an owner's n-th comes after every owner's
    (n-1)-th, counting those it has running."""
    turns: Counter[Owner] = Counter(running)
    queue: list[tuple[int, int, DueWebhook]] = []
    for place, hook in enumerate(due):
        turns[hook.provider_id] += 1
        queue.append((turns[hook.provider_id], place, hook))
    queue.sort(key=lambda entry: entry[:2])
    chosen: list[str] = []
    for turn, _, hook in queue:
        if len(chosen) == room or turn > share:
            break
        chosen.append(hook.webhook_id)
    return chosen
