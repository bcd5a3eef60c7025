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
    """Allows `burst` calls at once and `rate` per second after that. A rate of 0 allows all."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str) -> float | None:
        """Spend one call; None when allowed, else the seconds until one would be allowed."""
        if self.rate <= 0:
            return None
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
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """Retry-After in whole seconds, rounded up so that a caller who waits that long gets in."""
    return str(max(1, math.ceil(wait)))
