"""The last snapshot as bytes: the exposition in both formats and the ``check -o json`` document.

Rendered once per snapshot (:meth:`Rendered.of`), so a scrape is a dictionary lookup and never touches
the snapshot, the session or the poll loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as openmetrics

from gloomon.domain.export import snapshot_json
from gloomon.exporter.metrics import FleetMetrics

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class _Collector:
    """The registry's one collector: the families of ``metrics``' last snapshot."""

    def __init__(self, metrics: FleetMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self.metrics.collect()


@dataclass(frozen=True, slots=True)
class Rendered:
    """What every endpoint serves until the next snapshot."""

    text: bytes
    openmetrics: bytes
    snapshot_json: bytes | None  # None before the first poll
    ready: bool

    @classmethod
    def of(cls, metrics: FleetMetrics) -> Rendered:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(metrics))
        snapshot = metrics.snapshot
        document = None if snapshot is None else snapshot_json(snapshot).encode()
        return cls(
            text=generate_latest(registry),
            openmetrics=openmetrics.generate_latest(registry),
            snapshot_json=document,
            ready=snapshot is not None,
        )

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The body and content type for a scrape's ``Accept`` header: OpenMetrics when it is asked
        for, else the text format 0.0.4."""
        media = (part.split(";")[0].strip().lower() for part in accept.split(","))
        if "application/openmetrics-text" in media:
            return self.openmetrics, OPENMETRICS
        return self.text, TEXT
