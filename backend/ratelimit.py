"""Token-bucket rate limits, one bucket per caller (a token, or an address without one)."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from backend.clock import Clock

MAX_BUCKETS = 100_000
"""Buckets kept at most; the least recently used go first (a new bucket starts full anyway)."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `burst` calls at once and `rate` per second after that. A rate of 0 allows all.

    A call that costs more than one token (a write that changed many slots) is charged the rest
    after it; that may leave the bucket below zero, and a bucket in debt lets nothing in until it
    has refilled to one token."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str) -> float | None:
        """Spend one call; None when allowed, else the seconds until one would be allowed (a
        bucket in debt must refill past its debt first)."""
        if self.rate <= 0:
            return None
        bucket = self._refilled(caller)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate

    def charge(self, caller: str, tokens: float) -> None:
        """Spend `tokens` more, for a call that turned out to cost more than the one token its
        take spent: taken whatever the bucket holds, so it may go below zero, into debt."""
        if self.rate <= 0 or tokens <= 0:
            return
        self._refilled(caller).tokens -= tokens

    def _refilled(self, caller: str) -> _Bucket:
        """The caller's bucket, refilled at the rate for the time since it was last used (a new
        one starts full)."""
        now = self._clock.now()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = _Bucket(self.burst, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        return bucket


def retry_after_header(wait: float) -> str:
    """Retry-After in whole seconds, rounded up so that a caller who waits that long gets in."""
    return str(max(1, math.ceil(wait)))
