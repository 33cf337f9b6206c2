"""What a scenario finds when the lab starts: the secret as certgen last wrote it, the CronJob's past.

``expiring`` finds a leaf written long enough ago to have days left; ``stalled`` finds the two CAs a run
left when it died after phase 1, three hours ago, and the CronJob's record of that run. The rest of a
scenario (faults on pods, lagging volumes) is applied by :class:`gloomon.lab.lab.Lab` as it starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import CronJob, NamespaceStore
from gloomon.lab.cluster.util import now_utc
from gloomon.lab.pods.certgen_job import CRONJOB_NAME, CertgenConfig
from gloomon.lab.scenarios import Scenario


def initial_secret(spec: Scenario, namespace: str) -> tuple[SecretData, datetime]:
    """The secret as the scenario finds it, and when certgen last wrote it (runs in a thread)."""
    if spec.expiring_days is not None:
        back = certgen.LEAF_VALIDITY - timedelta(days=spec.expiring_days)
        return certgen.generate(namespace, now=now_utc() - back).secret(), now_utc() - back
    if spec.stalled:
        old = certgen.generate(namespace, now=now_utc() - timedelta(days=200))
        new = certgen.generate(namespace, now=now_utc() - timedelta(hours=3))
        data = SecretData(ca_crt=old.ca_pem + new.ca_pem, tls_crt=old.leaf_pem, tls_key=old.key_pem)
        return data, now_utc() - timedelta(hours=3)
    return certgen.generate(namespace).secret(), now_utc()


def seed_stalled_history(store: NamespaceStore, config: CertgenConfig) -> None:
    """The CronJob's record of the run that died after phase 1, three hours ago."""
    cron = store.cronjob
    if cron is None:
        cron = store.cronjob = CronJob(
            name=CRONJOB_NAME,
            schedule="0 */6 * * *",
            labels={"gloo": CRONJOB_NAME},
            args=config.args(),
        )
    cron.created = now_utc() - timedelta(days=200)
    cron.last_schedule = now_utc() - timedelta(hours=3)
    cron.last_successful = now_utc() - timedelta(hours=9)


def seed_failed_runs(store: NamespaceStore, runs: int) -> None:
    """The CronJob's record of its last ``runs`` scheduled runs, none of which succeeded: lastScheduleTime
    at the latest due time, lastSuccessfulTime just after the run before them (their failed Jobs are gone
    after ttlSecondsAfterFinished, as in a cluster)."""
    from gloomon.domain.parse.cron import longest_interval_seconds, next_run

    cron = store.cronjob
    if cron is None or runs < 1:
        return
    window = (runs + 2) * (longest_interval_seconds(cron.schedule) or 86400.0)
    due: list[datetime] = []
    at = now_utc() - timedelta(seconds=window)
    while (following := next_run(cron.schedule, at)) is not None and following <= now_utc():
        due.append(following)
        at = following
    if len(due) < runs + 1:
        return
    cron.created = due[0] - timedelta(days=30)
    cron.last_schedule = due[-1]
    cron.last_successful = due[-runs - 1] + timedelta(seconds=70)
