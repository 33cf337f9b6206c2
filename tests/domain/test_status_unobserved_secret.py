"""A secret this poll could not read (a 5xx, a timeout: the session passes it as not observed, with no
error text of its own) is not an observation: with every Envoy down too, nothing was observed, so the
status is ``error`` and ``check`` exits 3 whatever ``--fail-on`` says."""

from __future__ import annotations

from gloomon import report
from gloomon.domain.export import status_of
from gloomon.domain.model import SecretState
from tests.domain.certs import NOW
from tests.domain.fleet_helpers import CTX, NS, fetch, snap

DOWN = "admin endpoint unreachable: connection refused"


def _unobserved() -> SecretState:
    """What the session passes when the secret read raised (sources/session.py ``_read_state``)."""
    return SecretState(CTX, NS, read_at=NOW, observed=False)


def test_an_unobserved_secret_and_every_envoy_down_is_nothing_observed() -> None:
    snapshot = snap(
        [fetch("gloo-1", None, [], error=DOWN), fetch("gateway-proxy-1", None, [], error=DOWN)],
        [_unobserved()],
        errors=["reading cluster state: the API answered 503"],
    )
    assert status_of(snapshot) == "error"
    for fail_on in ("critical", "warning", "never"):
        assert report.exit_code(snapshot, fail_on) == 3


def test_an_unobserved_secret_beside_an_answering_envoy_is_an_observation() -> None:
    snapshot = snap([fetch("gloo-1", None, [])], [_unobserved()])
    assert status_of(snapshot) != "error"
