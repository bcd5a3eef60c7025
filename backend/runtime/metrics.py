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
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the metrics read a store handed to them; they sit below the stores
    from backend.store.base import Store


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
ROLL_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class RequestLatencies(Collector):
    """Requests by route and status class, as a latency histogram: counted per request in plain
    lists (the event loop is the only writer) and turned into Prometheus's histogram only when
    scraped. prometheus-client's own Histogram takes a lock and a counter object per bucket on
    every observation, several microseconds on the hottest path there is; this is one bisect and
    two additions."""

    NAME = "slotbook_http_request_duration_seconds"

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], list[float]] = {}
        """(route, status // 100) -> a count per bucket, then +Inf's, then the sum of seconds."""
        self._bounds = [repr(float(bound)) for bound in LATENCY_BUCKETS]  # as Go writes them

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status // 100)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # the first bound >= seconds ("le")
        row[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            self.NAME,
            "Time from a request's arrival to its answer (an event stream's: to its end), by"
            " route and status class",
            labels=["route", "status"],
        )
        for (route, status), row in sorted(self._rows.items()):
            buckets: list[tuple[str, float]] = []
            seen = 0.0
            for bound, count in zip([*self._bounds, "+Inf"], row[:-1], strict=True):
                seen += count
                buckets.append((bound, seen))
            family.add_metric([route, f"{status}xx"], buckets, sum_value=row[-1])
        yield family


class Metrics:
    """The server's metrics, in a registry of their own."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = RequestLatencies()
        r.register(self.requests)
        self.observe_request = self.requests.observe
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

        self.notifications = Gauge(
            "slotbook_notifications",
            "E-mail notifications, by status: queued (to be sent, or tried again), sent, failed",
            ["status"],
            registry=r,
        )
        self.busy_sources = Gauge(
            "slotbook_busy_sources",
            "Providers' calendars busy times are read from, by state: ok, or failing (three of"
            " its refresh periods without a successful refresh)",
            ["state"],
            registry=r,
        )
        self.mail_attempts = Counter(
            "slotbook_mail_attempts",
            "Attempts to send a message by this process, by outcome: sent, retry (a temporary"
            " failure) or failed (refused for good, or given up)",
            ["outcome"],
            registry=r,
        )

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

    async def render(self, store: Store, now: float) -> bytes:
        """The text exposition, with the gauges that need the database read now."""
        hooks = await store.list_webhooks(None)
        _, newest = await store.change_bounds()
        enabled = [hook for hook in hooks if hook.disabled_at is None]
        self.webhook_backlog.set(sum(max(0, newest - hook.cursor) for hook in enabled))
        self.webhook_endpoints.labels("enabled").set(len(enabled))
        self.webhook_endpoints.labels("disabled").set(len(hooks) - len(enabled))
        counts = await store.notification_counts()
        for status in ("queued", "sent", "failed"):
            self.notifications.labels(status).set(counts.get(status, 0))
        states = await store.busy_source_states(now)
        for state in ("ok", "failing"):
            self.busy_sources.labels(state).set(states.get(state, 0))
        return generate_latest(self.registry)
