"""The tour server's counters and gauges in the Prometheus text format (the only prometheus_client importer)."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator

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
}


class Metrics:
    """Counters bumped on the hot path as plain dict increments; turned into Prometheus families only when scraped."""

    def __init__(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.closes: collections.Counter[int] = collections.Counter()
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Snapshot(self))

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read from the server at scrape time."""
        self._gauges[name] = (help_text, read)

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
