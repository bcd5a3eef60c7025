"""Long-lived requests, held to the credential that opened them.

An /events stream or a /changes long-poll outlives the check made when it began. Each one takes a
Lease on its credential (a token, or any other kind of credential the server has), and the lease
ends when that credential is revoked: at once for a revoke made through this process (`revoke`),
and otherwise within `every` seconds, since the watch asks the database again, that often, whether
each credential with open leases still holds. A request whose lease has ended sends nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

from backend.runtime.background import cancel_and_wait

log = logging.getLogger(__name__)

Credential = tuple[str, str]
"""(kind, id): ("token", "<token id>"), say."""

StillValid = Callable[[str], Awaitable[bool]]
"""Asks the database whether the credential of this id of one kind still holds."""


class Lease:
    """One request's hold on the credential that opened it."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self._on_end: list[Callable[[], None]] = []

    @property
    def active(self) -> bool:
        return not self.ended.is_set()

    def on_end(self, callback: Callable[[], None]) -> None:
        """Call this when the lease ends (a stream wakes up to finish)."""
        self._on_end.append(callback)

    def end(self) -> None:
        if self.ended.is_set():
            return
        self.ended.set()
        for callback in self._on_end:
            callback()


class CredentialWatch:
    """The open leases, by credential; ends them when their credential is revoked."""

    def __init__(self, checks: Mapping[str, StillValid], every: float) -> None:
        self._checks = checks
        self._every = every
        self._leases: dict[Credential, set[Lease]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="slotbook-credential-watch")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    @contextlib.contextmanager
    def lease(self, credential: Credential | None) -> Iterator[Lease]:
        """A lease for the length of a request; with no credential (no-auth mode) one that never
        ends."""
        lease = Lease()
        if credential is None:
            yield lease
            return
        if credential[0] not in self._checks:  # pragma: no cover - a programming error
            raise ValueError(f"no check for credentials of kind {credential[0]!r}")
        self._leases.setdefault(credential, set()).add(lease)
        try:
            yield lease
        finally:
            held = self._leases.get(credential)
            if held is not None:
                held.discard(lease)
                if not held:
                    del self._leases[credential]

    def revoke(self, credential: Credential) -> None:
        """The credential was revoked: end every lease it holds, now."""
        for lease in list(self._leases.get(credential, ())):
            lease.end()

    @property
    def leases(self) -> int:
        return sum(len(held) for held in self._leases.values())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            for credential in list(self._leases):
                kind, key = credential
                try:
                    valid = await self._checks[kind](key)
                except Exception:  # the database is away: keep the streams, ask again soon
                    log.warning("could not check %s %s; will ask again", kind, key, exc_info=True)
                    continue
                if not valid:
                    self.revoke(credential)
