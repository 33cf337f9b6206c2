"""The lab: an embedded, faithful Gloo mTLS installation on loopback (real Envoys behind a Kubernetes API).

``Lab`` (async) and ``start_background`` (sync, for ``gloomon --demo``) are the public entry points; see
README.md beside this file. Importing this package is cheap: the heavy parts load when a lab starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gloomon.lab.background import RunningLab
    from gloomon.lab.lab import Lab
    from gloomon.lab.pods.process import LabStartError

__all__ = ["SCENARIO_NAMES", "Lab", "LabStartError", "RunningLab", "start_background"]

SCENARIO_NAMES = (
    "healthy",
    "rotating",
    "expiring",
    "lagging",
    "untrusted",
    "stalled",
    "sds-down",
    "webhook-expired",
    "cabundle-stale",
    "webhook-wrong-sans",
    "certgen-every-sync",
)


def __getattr__(name: str) -> Any:
    if name == "Lab":
        from gloomon.lab.lab import Lab

        return Lab
    if name == "RunningLab":
        from gloomon.lab.background import RunningLab

        return RunningLab
    if name == "LabStartError":
        from gloomon.lab.pods.process import LabStartError

        return LabStartError
    raise AttributeError(name)


def start_background(scenario: str = "healthy", namespace: str = "gloo-system", **kwargs: Any) -> RunningLab:
    """Start a lab in a daemon thread with its own event loop; returns once every pod serves certs."""
    from gloomon.lab.background import start_background as start

    return start(scenario=scenario, namespace=namespace, **kwargs)
