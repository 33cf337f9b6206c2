"""``component-unreachable`` is held back only for the Envoys an API outage hid (``api_down``: not
observed), never because some other source error exists: a refused log stream (no ``pods/log`` in a
least-privilege Role) or a failed CronJob read says nothing about the Envoys, and every gateway-proxy
down stays critical beside it."""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.export import status_of
from tests.domain.certs import make_ca, make_leaf
from tests.domain.fleet_helpers import codes, fetch, secret, snap

CA = make_ca()
LEAF = make_leaf(CA)
DOWN = "admin endpoint unreachable: connection refused"
NO_API = "port-forward: cannot reach the API"
LOGS_FORBIDDEN = 'logs: forbidden (403): pods "gloo-1" is forbidden: cannot get resource "pods/log"'


def test_a_refused_log_stream_does_not_hide_a_component_that_is_down() -> None:
    snapshot = snap(
        [
            fetch("gloo-1", LEAF.info, [CA.info]),
            fetch("gateway-proxy-1", None, [], error=DOWN),
            fetch("gateway-proxy-2", None, [], error=DOWN),
        ],
        [secret(LEAF.info, [CA.info])],
        errors=[LOGS_FORBIDDEN],
    )
    assert [sev for sev, _ in codes(snapshot)["component-unreachable"]] == ["critical"]
    assert status_of(snapshot) == "critical"


def test_envoys_hidden_by_an_api_outage_are_not_a_component_down() -> None:
    hidden = [
        replace(fetch("gateway-proxy-1", None, [], error=NO_API), api_down=True),
        replace(fetch("gateway-proxy-2", None, [], error=NO_API), api_down=True),
    ]
    snapshot = snap(
        [fetch("gloo-1", LEAF.info, [CA.info]), *hidden],
        [secret(LEAF.info, [CA.info])],
        errors=["cannot reach the Kubernetes API"],
    )
    assert "component-unreachable" not in codes(snapshot)
