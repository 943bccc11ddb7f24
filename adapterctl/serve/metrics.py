"""Prometheus text exposition for the server: requests, latency, tokens, served versions.

Small enough to write out by hand (format version 0.0.4), which spares a dependency.
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str, str], int] = defaultdict(int)  # endpoint, model, version, status
        self.tokens: dict[tuple[str, str], int] = defaultdict(int)  # model, version
        self.latency_buckets: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)

    def observe(self, endpoint: str, model: str, version: str, status: int, seconds: float, tokens: int = 0) -> None:
        with self._lock:
            self.requests[(endpoint, model, version, str(status))] += 1
            if tokens:
                self.tokens[(model, version)] += tokens
            counts = self.latency_buckets.setdefault(endpoint, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.latency_sum[endpoint] += seconds
            self.latency_count[endpoint] += 1

    def render(self, env: str, served: dict[str, str], loaded: int, refused: dict[str, str], swaps: int) -> str:
        lines = [
            "# HELP adapterctl_requests_total Requests answered, by endpoint, model, served version and status.",
            "# TYPE adapterctl_requests_total counter",
        ]
        with self._lock:
            for (endpoint, model, version, status), n in sorted(self.requests.items()):
                lines.append(
                    f"adapterctl_requests_total{_labels(endpoint=endpoint, model=model, version=version, status=status)} {n}"
                )
            lines += [
                "# HELP adapterctl_request_duration_seconds Time from request to the last byte of the answer.",
                "# TYPE adapterctl_request_duration_seconds histogram",
            ]
            for endpoint, counts in sorted(self.latency_buckets.items()):
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(
                        f"adapterctl_request_duration_seconds_bucket{_labels(endpoint=endpoint, le=str(bound))} {n}"
                    )
                lines.append(
                    f"adapterctl_request_duration_seconds_bucket{_labels(endpoint=endpoint, le='+Inf')} "
                    f"{self.latency_count[endpoint]}"
                )
                lines.append(
                    f"adapterctl_request_duration_seconds_sum{_labels(endpoint=endpoint)} {self.latency_sum[endpoint]:.6f}"
                )
                lines.append(
                    f"adapterctl_request_duration_seconds_count{_labels(endpoint=endpoint)} {self.latency_count[endpoint]}"
                )
            lines += [
                "# HELP adapterctl_generated_tokens_total Completion tokens generated.",
                "# TYPE adapterctl_generated_tokens_total counter",
            ]
            for (model, version), n in sorted(self.tokens.items()):
                lines.append(f"adapterctl_generated_tokens_total{_labels(model=model, version=version)} {n}")
        lines += [
            "# HELP adapterctl_served_version The version each adapter name is served by (value 1).",
            "# TYPE adapterctl_served_version gauge",
        ]
        for name, version in sorted(served.items()):
            lines.append(f"adapterctl_served_version{_labels(env=env, adapter=name, version=version)} 1")
        lines += [
            "# HELP adapterctl_refused_version A version the environment points at that was refused (value 1).",
            "# TYPE adapterctl_refused_version gauge",
        ]
        for name, version in sorted(refused.items()):
            lines.append(f"adapterctl_refused_version{_labels(env=env, adapter=name, version=version)} 1")
        lines += [
            "# HELP adapterctl_loaded_adapters Adapter versions loaded beside the base.",
            "# TYPE adapterctl_loaded_adapters gauge",
            f"adapterctl_loaded_adapters {loaded}",
            "# HELP adapterctl_swaps_total Live switches of a served name to another version.",
            "# TYPE adapterctl_swaps_total counter",
            f"adapterctl_swaps_total {swaps}",
        ]
        return "\n".join(lines) + "\n"


def _labels(**labels: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"
