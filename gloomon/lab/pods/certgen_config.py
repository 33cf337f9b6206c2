"""How certgen runs in a lab (Helm ``gateway.certGenJob.*`` equivalents), and how its runs fail."""

from __future__ import annotations

from dataclasses import dataclass

from gloomon.domain.model import SECRET_NAME

SVC_NAME = "gloo"


@dataclass(frozen=True, slots=True)
class CertgenConfig:
    """How certgen runs in this lab (Helm ``gateway.certGenJob.*`` equivalents)."""

    rotation_duration: float = 65.0
    #: cron schedule of the CronJob; None: no CronJob (``cron.enabled=false``).
    schedule: str | None = None
    #: seconds after lab start of an extra first run (so a demo shows a rotation soon).
    first_run_after: float | None = None
    ttl_after_finished: float = 60.0
    force_rotation: bool = True
    #: ``activeDeadlineSeconds``: a run still going after this long is killed (stalled rotations).
    active_deadline: float | None = None
    #: seconds between ``N seconds remaining`` lines during a grace period (certgen: 5).
    tick: float = 5.0
    #: the CronJob's ``concurrencyPolicy``: Gloo's chart sets none (Allow), so with its every-minute default
    #: runs overlap and each appends a CA; "Forbid" skips a scheduled run while one is still going.
    concurrency_policy: str = "Allow"
    #: how a run fails: None (it does not), "forbidden" (its ServiceAccount may not update the secret:
    #: certgen exits 1 on every attempt, the kubelet restarts it in place until the backoff limit)
    failure: str | None = None
    #: the ``certgen`` ServiceAccount is gone (deleted by an upgrade hook): Jobs cannot create their pod
    service_account_missing: bool = False
    #: the Job's ``backoffLimit`` (Kubernetes' default, as Gloo's chart leaves it)
    backoff_limit: int = 6
    #: the first back-off before a failed certgen container (or pod creation) is retried; it doubles up
    #: to 300 s, as the kubelet's and the job controller's do (10 s in a cluster)
    retry_backoff: float = 10.0
    #: seconds a failing run takes before its error (its API round trips), so a restarted run shows Running
    failing_after: float = 0.2

    def args(self) -> tuple[str, ...]:
        args = [
            f"--secret-name={SECRET_NAME}",
            f"--svc-name={SVC_NAME}",
            f"--rotation-duration={self.rotation_duration:g}s",
        ]
        if self.force_rotation:
            args.append("--force-rotation=true")
        return tuple(args)
