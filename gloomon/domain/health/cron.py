"""Findings about the certgen CronJob: disabled or missing while the leaf nears expiry, schedules that
rotate less often than every 90 days, and schedules with two runs closer than a rotation takes (the Helm
default runs every minute).
"""

from __future__ import annotations

from collections.abc import Sequence

from gloomon.domain.health.policy import RENEW_WINDOW_SECONDS, Context
from gloomon.domain.model import Finding, ParseError, SecretStatus, Severity, TargetStatus
from gloomon.domain.parse.cron import longest_interval_seconds, parse_schedule, shortest_interval_seconds
from gloomon.domain.parse.durations import human_duration, human_time_left


def cronjob_findings(
    secrets: Sequence[SecretStatus], targets: Sequence[TargetStatus], ctx: Context
) -> list[Finding]:
    cron = ctx.cronjob
    if cron is None or cron.error is not None:
        return []
    ns = ctx.namespace
    out: list[Finding] = []
    leaves = [s.state.leaf for s in secrets if s.state.leaf is not None] or [
        t.leaf for t in targets if t.leaf is not None
    ]
    soonest = min(leaves, key=lambda leaf: leaf.not_after) if leaves else None
    disabled = cron.missing or cron.suspended
    if disabled and soonest is not None and soonest.seconds_left(ctx.now) < RENEW_WINDOW_SECONDS:
        fix = (
            f'kubectl -n {ns} patch cronjob {cron.name} -p \'{{"spec":{{"suspend":false}}}}\''
            if cron.suspended and not cron.missing
            else "helm upgrade with --set gateway.certGenJob.cron.enabled=true "
            "--set gateway.certGenJob.cron.schedule='0 0 1 * *'"
        )
        out.append(
            Finding(
                Severity.WARNING,
                "renewal-disabled",
                None,
                None,
                f"leaf expires in {human_time_left(soonest.seconds_left(ctx.now))}, "
                f"inside certgen's 90-day renew window, and the certgen CronJob is "
                f"{'suspended' if cron.suspended else 'missing'}: nothing will renew it",
                f"{fix}; or rotate once by hand: {ctx.rerun_hint()}",
            )
        )
    if cron.missing:
        out.append(
            Finding(
                Severity.INFO,
                "cronjob-disabled",
                None,
                None,
                "no certgen CronJob: certificates are only renewed when certgen is run by hand or on upgrade",
                "helm upgrade with --set gateway.certGenJob.cron.enabled=true --set "
                "gateway.certGenJob.cron.schedule='0 0 1 * *'",
            )
        )
        return out
    if cron.suspended:
        out.append(
            Finding(
                Severity.WARNING,
                "cronjob-disabled",
                None,
                None,
                f"CronJob {cron.name} is suspended",
                f'kubectl -n {ns} patch cronjob {cron.name} -p \'{{"spec":{{"suspend":false}}}}\'',
            )
        )
    parsed = parse_schedule(cron.schedule)
    if isinstance(parsed, ParseError):
        out.append(
            Finding(
                Severity.WARNING,
                "cronjob-bad-schedule",
                None,
                None,
                f"CronJob {cron.name}: cannot read schedule: {parsed.message}",
                "set gateway.certGenJob.cron.schedule to a 5-field cron, e.g. '0 0 1 * *'",
            )
        )
        return out
    longest = longest_interval_seconds(cron.schedule)
    if longest is None:
        out.append(
            Finding(
                Severity.WARNING,
                "cronjob-infrequent",
                None,
                None,
                f"CronJob {cron.name}: schedule {cron.schedule!r} never runs",
                "set gateway.certGenJob.cron.schedule to run at least every 90 days, e.g. '0 0 1 * *'",
            )
        )
    elif longest > RENEW_WINDOW_SECONDS:
        out.append(
            Finding(
                Severity.WARNING,
                "cronjob-infrequent",
                None,
                None,
                f"CronJob {cron.name} ({cron.schedule}) can go {human_duration(longest)} between runs: "
                f"certificates rotate less often than every 90 days",
                "set gateway.certGenJob.cron.schedule to run at least every 90 days, e.g. '0 0 1 * *'",
            )
        )
    shortest = shortest_interval_seconds(cron.schedule)
    if cron.force_rotation and shortest is not None and shortest < 2 * ctx.rotation_duration:
        out.append(
            Finding(
                Severity.WARNING,
                "cronjob-overlapping",
                None,
                None,
                f"CronJob {cron.name} ({cron.schedule}) can start runs {human_duration(shortest)} apart, "
                f"but a rotation takes at least 2×rotationDuration "
                f"({human_duration(2 * ctx.rotation_duration)}): runs overlap",
                "set gateway.certGenJob.cron.schedule to e.g. '0 0 1 * *' "
                "(the Helm default '* * * * *' runs every minute)",
            )
        )
    return out
