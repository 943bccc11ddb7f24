"""Prometheus metrics for the server, through prometheus_client: requests, latency, tokens,
and (read at each scrape) the versions served, refused and loaded.

Each server state has its own registry, so two servers in one process (tests) never share counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "adapterctl_requests",
            "Requests answered, by endpoint, model, served version and status.",
            ["endpoint", "model", "version", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "adapterctl_request_duration_seconds",
            "Time from request to the last byte of the answer.",
            ["endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "adapterctl_generated_tokens", "Completion tokens generated.", ["model", "version"], registry=self.registry
        )

    def observe(self, endpoint: str, model: str, version: str, status: int, seconds: float, tokens: int = 0) -> None:
        self.requests.labels(endpoint, model, version, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        if tokens:
            self.tokens.labels(model, version).inc(tokens)

    def watch(self, read: Callable[[], dict[str, Any]]) -> None:
        """Register the gauges read at scrape time from `read()`: env, served, refused, loaded, swaps, cut."""
        self.registry.register(_StateCollector(read))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _StateCollector:
    def __init__(self, read: Callable[[], dict[str, Any]]):
        self.read = read

    def describe(self):
        return []  # not known before the first scrape: skip the registry's eager collect

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        state = self.read()
        served = GaugeMetricFamily(
            "adapterctl_served_version",
            "The version each adapter name is served by (value 1).",
            labels=["env", "adapter", "version"],
        )
        for name, version in sorted(state["served"].items()):
            served.add_metric([state["env"], name, version], 1)
        refused = GaugeMetricFamily(
            "adapterctl_refused_version",
            "A version the environment points at that was refused (value 1).",
            labels=["env", "adapter", "version"],
        )
        for name, version in sorted(state["refused"].items()):
            refused.add_metric([state["env"], name, version], 1)
        yield served
        yield refused
        yield GaugeMetricFamily(
            "adapterctl_loaded_adapters", "Adapter versions loaded beside the base.", value=state["loaded"]
        )
        yield CounterMetricFamily(
            "adapterctl_swaps", "Live switches of a served name to another version.", value=state["swaps"]
        )
        yield CounterMetricFamily(
            "adapterctl_drain_cut", "Answers ended by the drain limit at shutdown.", value=state["cut"]
        )
