"""The header's secret badge is as loud as the domain's finding about the secret: a missing secret is
critical there (``secret-missing``), so the badge is not a mere warning."""

from __future__ import annotations

from gloomon.domain.cells import secret_phase_words
from gloomon.domain.model import Severity
from gloomon.lab import snapshots as fx


def test_a_missing_secret_badge_takes_the_findings_severity() -> None:
    snapshot = fx.no_mtls()
    (finding,) = [f for f in snapshot.findings if f.code == "secret-missing"]
    words, loudness = secret_phase_words(snapshot, fx.NOW)
    assert words == "no gloo-mtls-certs secret"
    assert loudness is finding.severity is Severity.CRITICAL
