"""The tour server's counters and gauges in the Prometheus text format (the only prometheus_client importer)."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Every counter the server keeps, with its help text. A counter missing here is a bug, so it raises at scrape time.
COUNTERS = {
    "events": "Tour events published.",
    "poses_in": "Poses received from guides.",
    "poses_out": "Poses written to connections.",
    "poses_dropped": "Poses not forwarded: overwritten in a slow connection's slot, coalesced, or beyond pose_hz.",
    "origin_refused": "Websocket handshakes refused because of their Origin.",
    "source_refused": "Handshakes or joins refused because their source address is at its cap.",
    "auth_backoff": "Hellos refused unchecked because their source address failed too often.",
    "connect_refused": "Handshakes refused with 429 because their source address opens connections too fast.",
    "accept_dropped": "Connections held unread at TCP accept and closed: their address came back before its Retry-After.",
}

# What the store survived (RedisStore.health()), with help texts; only Redis reports these.
STORE_COUNTERS = {
    "resubscribes": "Pose subscriptions renewed after Redis was lost.",
    "reseeds": "Tours re-published after Redis came back without them.",
    "poses_unpublished": "Poses not shared with other processes (Redis down).",
}


class Metrics:
    """Counters bumped on the hot path as plain dict increments; turned into Prometheus families only when scraped."""

    def __init__(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.closes: collections.Counter[int] = collections.Counter()
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self._store_health: Callable[[], dict[str, Any]] | None = None
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Snapshot(self))

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read from the server at scrape time."""
        self._gauges[name] = (help_text, read)

    def store(self, health: Callable[[], dict[str, Any]]) -> None:
        """Read the tour store's health (`TourStore.health()`) at scrape time: up, pose subscriptions, failures."""
        self._store_health = health

    def render(self) -> bytes:
        return generate_latest(self._registry)


class _Snapshot(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        for name, (help_text, read) in self.metrics._gauges.items():
            yield GaugeMetricFamily(name, help_text, value=read())
        unknown = set(self.metrics.counters) - set(COUNTERS)
        if unknown:
            raise KeyError(f"counters without help text: {sorted(unknown)}")
        for name, help_text in COUNTERS.items():
            yield CounterMetricFamily(f"vitrina_tour_{name}", help_text, value=self.metrics.counters[name])
        errors = CounterMetricFamily("vitrina_tour_errors", "Error replies sent, by code.", labels=["code"])
        for code, count in sorted(self.metrics.errors.items()):
            errors.add_metric([code], count)
        yield errors
        closes = CounterMetricFamily("vitrina_tour_closes", "Connections closed by the server, by close code.",
                                     labels=["code"])
        for close_code, count in sorted(self.metrics.closes.items()):
            closes.add_metric([str(close_code)], count)
        yield closes
        if self.metrics._store_health is not None:
            yield from _store_families(self.metrics._store_health())


def _store_families(health: dict[str, Any]) -> Iterator[Metric]:
    yield GaugeMetricFamily("vitrina_tour_store_up", "1 when the tour store (Redis with --redis) answered its last call.",
                            value=int(health["up"]))
    if "pose_subscriptions" in health:
        subscriptions = GaugeMetricFamily("vitrina_tour_pose_subscriptions", "Redis pose subscriptions, by state.",
                                          labels=["state"])
        subscriptions.add_metric(["up"], health["pose_subscriptions"])
        subscriptions.add_metric(["down"], health["pose_subscriptions_down"])
        yield subscriptions
        for name, help_text in STORE_COUNTERS.items():
            yield CounterMetricFamily(f"vitrina_tour_store_{name}", help_text, value=health[name])
    if "failures" in health:  # Redis, and the SQLite state file of a single process
        failures = CounterMetricFamily("vitrina_tour_store_failures", "Failed store calls, by operation.",
                                       labels=["operation"])
        for operation, count in sorted(health["failures"].items()):
            failures.add_metric([operation], count)
        yield failures
