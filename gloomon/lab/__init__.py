"""The lab: an embedded, faithful Gloo mTLS installation on loopback (real Envoys behind a Kubernetes API).

``Lab`` and ``LabFleet`` (async; a fleet is several clusters behind one kubeconfig) and
``start_background`` / ``start_demo`` (sync, for ``gloomon --demo``) are the public entry points; see
README.md beside this file. Importing this package is cheap: the heavy parts load when a lab starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gloomon.lab.background import RunningFleet, RunningLab
    from gloomon.lab.fleet import LabFleet
    from gloomon.lab.lab import Lab
    from gloomon.lab.pods.process import LabStartError

__all__ = [
    "SCENARIO_NAMES",
    "TOPOLOGY_NAMES",
    "Lab",
    "LabFleet",
    "LabStartError",
    "RunningFleet",
    "RunningLab",
    "start_background",
    "start_demo",
]

SCENARIO_NAMES = (
    "healthy",
    "rotating",
    "expiring",
    "lagging",
    "untrusted",
    "stalled",
    "sds-late",
    "sds-dead",
    "secret-key-missing",
    "gloo-process-down",
    "certgen-failing",
    "certgen-killed",
    "certgen-no-sa",
    "secret-deleted",
    "webhook-expired",
    "cabundle-stale",
    "webhook-wrong-sans",
    "certgen-every-sync",
)
#: scenarios that start a fleet of clusters (``topologies.py``), accepted wherever a scenario is
TOPOLOGY_NAMES = ("two-clusters", "split-planes")


def __getattr__(name: str) -> Any:
    if name == "Lab":
        from gloomon.lab.lab import Lab

        return Lab
    if name == "LabFleet":
        from gloomon.lab.fleet import LabFleet

        return LabFleet
    if name in ("RunningLab", "RunningFleet"):
        from gloomon.lab import background

        return getattr(background, name)
    if name == "LabStartError":
        from gloomon.lab.pods.process import LabStartError

        return LabStartError
    raise AttributeError(name)


def start_background(scenario: str = "healthy", namespace: str = "gloo-system", **kwargs: Any) -> RunningLab:
    """Start a lab in a daemon thread with its own event loop; returns once every pod serves certs."""
    from gloomon.lab.background import start_background as start

    return start(scenario=scenario, namespace=namespace, **kwargs)


def start_demo(scenario: str, namespace: str = "gloo-system", **kwargs: Any) -> RunningLab | RunningFleet:
    """``gloomon --demo``'s lab in a daemon thread: a fleet for a name in ``TOPOLOGY_NAMES``, else one lab."""
    from gloomon.lab.background import start_demo as start

    return start(scenario, namespace, **kwargs)
