"""Deterministic FleetSnapshots for the UI tests, the screenshots and the latency benchmark.

Lab-like inputs (real certificates from fixed keys, parsed admin answers, the secret as the API gives it)
go through :func:`gloomon.domain.fleet.build_snapshot`, so every state shown is one the domain produces.
The clock is fixed at :data:`NOW` (:data:`CLOCK`). ``certs`` makes the certificates, ``polls`` one poll of
the fleet, ``states`` the named states, ``logs`` the log events.
"""

from __future__ import annotations

from gloomon.clock import fixed_clock
from gloomon.lab.snapshots.certs import (
    CA_ADDED,
    CA_NEW,
    CA_OLD,
    LEAF_EXPIRED,
    LEAF_NEW,
    LEAF_OLD,
    LEAF_ROTATED,
    NOW,
    STEADY,
)
from gloomon.lab.snapshots.logs import HOSTILE, certgen_events, log_events
from gloomon.lab.snapshots.polls import CONTEXT, CRONJOB, NAMESPACE, PODS, POLLED, admin_fetch, poll
from gloomon.lab.snapshots.states import (
    BAD_POD,
    LAGGING_POD,
    api_down,
    ca_added,
    expired,
    lagging,
    leaf_rotated,
    no_gloo,
    no_mtls,
    rotation_series,
    steady,
    unreachable,
    untrusted,
)

CLOCK = fixed_clock(NOW)

__all__ = [
    "BAD_POD",
    "CA_ADDED",
    "CA_NEW",
    "CA_OLD",
    "CLOCK",
    "CONTEXT",
    "CRONJOB",
    "HOSTILE",
    "LAGGING_POD",
    "LEAF_EXPIRED",
    "LEAF_NEW",
    "LEAF_OLD",
    "LEAF_ROTATED",
    "NAMESPACE",
    "NOW",
    "PODS",
    "POLLED",
    "STEADY",
    "admin_fetch",
    "api_down",
    "ca_added",
    "certgen_events",
    "expired",
    "lagging",
    "leaf_rotated",
    "log_events",
    "no_gloo",
    "no_mtls",
    "poll",
    "rotation_series",
    "steady",
    "unreachable",
    "untrusted",
]
