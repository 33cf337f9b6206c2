"""An API that answers the pod list with an error (5xx, 403) hides the Envoys as an outage does: their
failed fetches come marked ``api_down``, so the rows go stale and the source error is the one finding,
not component-unreachable and an admin-unreachable per pod."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.model import Severity
from tests.domain.certs import rotation
from tests.domain.fleet_helpers import NOW, fetch, secret, snap

PODS = ("gloo-1", "gateway-proxy-1", "gateway-proxy-2")


@pytest.mark.parametrize(
    "error",
    [
        "the Kubernetes API answered 503 Service Unavailable",
        "the Kubernetes API answered 500 Internal Server Error",
        "forbidden (403): cannot list pods in the namespace gloo-system",
    ],
)
def test_envoys_behind_a_failing_pod_list_are_not_observed(error: str) -> None:
    rot = rotation()
    leaf, cas = rot.leaf_new.info, [rot.ca_new.info]
    before = snap([fetch(pod, leaf, cas) for pod in PODS], [secret(leaf, cas)])
    later = NOW + timedelta(seconds=5)
    hidden = [
        replace(fetch(pod, None, [], at=later, error="port-forward: " + error), api_down=True) for pod in PODS
    ]
    during = snap(hidden, [secret(leaf, cas)], at=later, previous=before, errors=(f"lab: {error}",))
    loud = [f.code for f in during.findings if f.severity.rank >= Severity.WARNING.rank]
    assert loud == ["source-error"], during.findings
    assert all(t.stale_since is not None and t.leaf == leaf for t in during.targets)
    plain = [replace(hidden_fetch, api_down=False) for hidden_fetch in hidden]
    unmarked = snap(plain, [secret(leaf, cas)], at=later, previous=before, errors=(f"lab: {error}",))
    assert "component-unreachable" in {f.code for f in unmarked.findings}  # what the mark spares
