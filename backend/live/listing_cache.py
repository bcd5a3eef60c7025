"""The encoded answers of GET /availability, kept until they could differ from a fresh read.

An answer depends on three things: the query, the slots, and the clock. The query is the key (the
raw query string: two spellings of one query are two entries, never a wrong one). The slots: the
change feed reports every committed change, and each one drops the answers about its provider
(and every answer about all providers). The clock: an answer is kept only from the moment it was
read until the first moment at which time alone could change it (a slot's start passing the
notice horizon, a hold lapsing), which the store works out with the answer; a clock that goes
back past the moment it was read misses too.

A read that raced a change must not be kept: `ticket` is taken before the read, and `put` keeps
the answer only if nothing about its provider was dropped since. The store reports a commit
before the write that made it answers (`Store.commits_here`), so a client never reads its own
write's past from here. Free of I/O and of aiohttp.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

MAX_BYTES = 32 * 1024 * 1024
"""Answers kept at most, in bytes of body; the least recently used go first."""


@dataclass(frozen=True)
class Ticket:
    """What had been dropped when a read began: the put that follows it checks this."""

    everything: int
    provider: int
    clears: int


@dataclass(frozen=True)
class _Entry:
    body: bytes
    provider_id: str | None
    read_at: float
    stable_until: float


class ListingCache:
    """Encoded answers of the open-slot listing by query string, exact at every moment."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_provider: dict[str | None, set[str]] = {}
        self._drops = 0
        """How many times anything was dropped (what an answer about all providers checks)."""
        self._provider_drops: dict[str, int] = {}
        self._clears = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str, now: float) -> bytes | None:
        """The kept answer to `query`, if it is still exactly what a read now would give."""
        entry = self._entries.get(query)
        if entry is None or not entry.read_at <= now < entry.stable_until:
            self.misses += 1
            return None
        self._entries.move_to_end(query)
        self.hits += 1
        return entry.body

    def ticket(self, provider_id: str | None) -> Ticket:
        """Take this before reading the answer to a query about `provider_id` (None: all)."""
        drops = 0 if provider_id is None else self._provider_drops.get(provider_id, 0)
        return Ticket(self._drops, drops, self._clears)

    def put(
        self,
        query: str,
        provider_id: str | None,
        body: bytes,
        ticket: Ticket,
        read_at: float,
        stable_until: float,
    ) -> None:
        """Keep an answer read at `read_at`, unless a change it may not show came in since
        `ticket` was taken."""
        if provider_id is None:
            if ticket.everything != self._drops:
                return
        elif ticket.provider != self._provider_drops.get(provider_id, 0):
            return
        if ticket.clears != self._clears:
            return
        if stable_until <= read_at or len(body) > self._max_bytes // 4:
            return
        self._remove(query)
        self._entries[query] = _Entry(body, provider_id, read_at, stable_until)
        self._by_provider.setdefault(provider_id, set()).add(query)
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            self._remove(next(iter(self._entries)))

    def changed(self, provider_ids: Iterable[str]) -> None:
        """These providers' slots changed: drop every answer about them, and about all."""
        self._drops += 1
        for provider_id in set(provider_ids):
            self._provider_drops[provider_id] = self._provider_drops.get(provider_id, 0) + 1
            for query in self._by_provider.pop(provider_id, ()):
                self._remove(query)
        for query in self._by_provider.pop(None, ()):
            self._remove(query)

    def clear(self) -> None:
        """Drop everything (the feed lost track of what changed)."""
        self._drops += 1
        self._clears += 1
        self._entries.clear()
        self._by_provider.clear()
        self._bytes = 0

    def _remove(self, query: str) -> None:
        entry = self._entries.pop(query, None)
        if entry is None:
            return
        self._bytes -= len(entry.body)
        queries = self._by_provider.get(entry.provider_id)
        if queries is not None:
            queries.discard(query)
            if not queries:
                del self._by_provider[entry.provider_id]
