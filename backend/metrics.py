"""What the server counts for Prometheus (`prometheus-client`), served at GET /metrics.

Requests by route (the operation's name) and status class, with a latency histogram; the booking
events this process made (reserves, confirms, cancels, lapsed holds); the writer's batches (how
many writes each commit carried and how long it took; on PostgreSQL, the sequencer's rounds) and
the writes waiting for it; open event streams; the webhook backlog; schedule rolls.

Each application has a registry of its own, so that two servers in one process (the tests, the
terminal app's embedded server) count apart. Each process counts its own: with `--workers N`,
scrape each worker's `--metrics-port` listener (the port plus the worker's index) or read them
through one's main port as an admin knowing that the answer is that worker's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from backend.store.base import Store

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
ROLL_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Metrics:
    """The server's metrics, in a registry of their own."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._requests = Histogram(
            "slotbook_http_request_duration_seconds",
            "Time from a request's arrival to its answer (an event stream's: to its end), by"
            " route and status class",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._by_route: dict[tuple[str, int], Histogram] = {}
        self.reserves = Counter(
            "slotbook_reserves", "Slots held by reserve requests (repeats not counted)", registry=r
        )
        self.confirms = Counter(
            "slotbook_confirms", "Holds confirmed into bookings (repeats not counted)", registry=r
        )
        self.cancels = Counter("slotbook_cancels", "Holds and bookings cancelled", registry=r)
        self.lapsed = Counter(
            "slotbook_lapsed_holds", "Holds that lapsed unconfirmed and were reopened", registry=r
        )
        self.write_batch = Histogram(
            "slotbook_write_batch_size",
            "Writes committed together (SQLite: per writer transaction; PostgreSQL: changes per"
            " sequencer round)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.write_seconds = Histogram(
            "slotbook_write_commit_seconds",
            "Time of one writer transaction, BEGIN to COMMIT (PostgreSQL: of one sequencer round)",
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        self.roll_seconds = Histogram(
            "slotbook_schedule_roll_seconds",
            "Time to open the slots of the days that entered weekly schedules' horizons",
            buckets=ROLL_BUCKETS,
            registry=r,
        )
        self.open_streams = Gauge(
            "slotbook_open_event_streams", "GET /events streams open now", registry=r
        )
        self.waiting_writes = Gauge(
            "slotbook_write_queue_depth",
            "Writes waiting for the database (SQLite: queued for the writer; PostgreSQL:"
            " committed and waiting for a sequencer round)",
            registry=r,
        )
        self.webhook_backlog = Gauge(
            "slotbook_webhook_backlog_changes",
            "Changes logged after the delivery cursor of each enabled webhook endpoint, summed",
            registry=r,
        )
        self.webhook_endpoints = Gauge(
            "slotbook_webhook_endpoints",
            "Webhook endpoints, by state",
            ["state"],
            registry=r,
        )

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, status // 100)
        child = self._by_route.get(key)
        if child is None:
            child = self._by_route[key] = self._requests.labels(route, status_class(status))
        child.observe(seconds)

    def watch(self, store: Store, streams: Callable[[], int]) -> None:
        """Follow the open store's writes, and read the live gauges from it and the feed."""
        store.watch_writes(self._observe_batch)
        self.waiting_writes.set_function(lambda: store.waiting_writes)
        self.open_streams.set_function(lambda: streams())

    def _observe_batch(self, writes: int, seconds: float) -> None:
        self.write_batch.observe(writes)
        self.write_seconds.observe(seconds)

    def timed_roll(self) -> Callable[[], None]:
        """Start timing a schedule roll; call what this returns when it ends."""
        began = time.perf_counter()
        return lambda: self.roll_seconds.observe(time.perf_counter() - began)

    async def render(self, store: Store) -> bytes:
        """The text exposition, with the gauges that need the database read now."""
        hooks = await store.list_webhooks(None)
        _, newest = await store.change_bounds()
        enabled = [hook for hook in hooks if hook.disabled_at is None]
        self.webhook_backlog.set(sum(max(0, newest - hook.cursor) for hook in enabled))
        self.webhook_endpoints.labels("enabled").set(len(enabled))
        self.webhook_endpoints.labels("disabled").set(len(hooks) - len(enabled))
        return generate_latest(self.registry)
