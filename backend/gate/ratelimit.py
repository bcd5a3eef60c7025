"""Token-bucket rate limits, per caller (a token, or an address without one).

Each caller has two buckets, each holding up to `burst` tokens and refilled at `rate` a second:

- the call bucket: every call, read or write, takes one token from it, and is refused when it
  holds less than one. Nothing else takes from it, so it never goes below zero.
- the write bucket: a write (any method but GET, HEAD and OPTIONS; backend/gate/write_cost.py) takes
  its whole cost from it, one token to be let in and what it changed once it is done. A write is
  refused while this bucket holds less than one token; its cost is taken whatever the bucket
  holds, so a costly write may leave it below zero, in debt.

So a debt holds up only the caller's next write, until time has refilled the write bucket to one
token; reads go on, limited by the call bucket as any caller's are, and never touch the debt
(neither paying it nor adding to it). A caller makes at most `rate` calls a second, and its writes
cost at most `rate` tokens a second, whatever it reads.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from backend.runtime.clock import Clock

MAX_BUCKETS = 100_000
"""Callers kept at most; the least recently used go first (new buckets start full anyway)."""


@dataclass
class _Buckets:
    calls: float
    writes: float
    updated: float


class RateLimiter:
    """Allows `burst` calls at once and `rate` per second after that, and as much again of writes'
    cost (see above). A rate of 0 allows all."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: OrderedDict[str, _Buckets] = OrderedDict()

    def take(self, caller: str, *, write: bool) -> float | None:
        """Let one call in, a write or a read; None when allowed (its token taken, from both
        buckets for a write), else the seconds until it would be allowed."""
        if self.rate <= 0:
            return None
        buckets = self._refilled(caller)
        short = 1 - min(buckets.calls, buckets.writes) if write else 1 - buckets.calls
        if short > 0:
            return short / self.rate
        buckets.calls -= 1
        if write:
            buckets.writes -= 1
        return None

    def waiting(self, caller: str) -> float | None:
        """The seconds until the caller's call bucket lets a call in again, taking nothing; None
        when it would now (a limit on failures: ask first, `take` only when one happens)."""
        if self.rate <= 0:
            return None
        short = 1 - self._refilled(caller).calls
        return short / self.rate if short > 0 else None

    def charge(self, caller: str, tokens: float) -> None:
        """Take `tokens` more from the write bucket, for a write that turned out to cost more than
        the one token it was let in with: taken whatever the bucket holds, into debt if need be."""
        if self.rate <= 0 or tokens <= 0:
            return
        self._refilled(caller).writes -= tokens

    def _refilled(self, caller: str) -> _Buckets:
        """The caller's buckets, refilled at the rate for the time since they were last used (new
        ones start full)."""
        now = self._clock.now()
        buckets = self._buckets.get(caller)
        if buckets is None:
            buckets = self._buckets[caller] = _Buckets(self.burst, self.burst, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            refill = max(0.0, now - buckets.updated) * self.rate
            buckets.calls = min(self.burst, buckets.calls + refill)
            buckets.writes = min(self.burst, buckets.writes + refill)
            buckets.updated = now
        return buckets


def retry_after_header(wait: float) -> str:
    """Retry-After in whole seconds, rounded up so that a caller who waits that long gets in."""
    return str(max(1, math.ceil(wait)))
