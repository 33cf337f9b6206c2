"""What the lifetime-relative expiry alerts read: every series of
``gloomon_cert_not_after_timestamp_seconds`` has its ``gloomon_cert_not_before_timestamp_seconds`` twin
(same labels), so Prometheus can compute each certificate's lifetime as the dashboard does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gloomon.exporter.exposition import Rendered
from gloomon.exporter.metrics import FleetMetrics
from tests.domain.certs import rotation
from tests.domain.fleet_helpers import fetch, secret, snap


def test_every_certificate_has_not_before_beside_not_after_with_the_same_labels() -> None:
    r = rotation()
    metrics = FleetMetrics()
    metrics.update(
        snap(
            [fetch("gateway-proxy-1", r.leaf_new.info, [r.ca_old.info, r.ca_new.info])],
            [secret(r.leaf_new.info, [r.ca_old.info, r.ca_new.info])],
        )
    )
    series: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(Rendered.of(metrics).text.decode()):
        for sample in family.samples:
            series.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    after = series["gloomon_cert_not_after_timestamp_seconds"]
    before = series["gloomon_cert_not_before_timestamp_seconds"]
    assert set(before) == set(after)
    by_serial = {dict(labels)["serial"]: value for labels, value in before.items()}
    for cert in (r.leaf_new.info, r.ca_old.info, r.ca_new.info):
        assert by_serial[cert.serial] == cert.not_before.timestamp()
        assert all(
            value == cert.not_after.timestamp()
            for labels, value in after.items()
            if dict(labels)["serial"] == cert.serial
        )
