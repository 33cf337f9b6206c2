"""A snapshot as the stable JSON document of ``gloomon check -o json`` (schema 1, README), also written by
the dashboard's save key. Times are ISO-8601 UTC strings; certificates appear as public metadata only
(no PEM, no DER, never key material).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gloomon.domain.model import (
    CertInfo,
    CronJobState,
    Finding,
    FleetSnapshot,
    GlooRelease,
    JobState,
    SecretStatus,
    Severity,
    TargetStatus,
    TrustBundle,
    WebhookState,
)
from gloomon.domain.model.webhook import WEBHOOK_SECRET_NAME, webhook_config_name
from gloomon.domain.parse.cron import next_run
from gloomon.domain.text import inert_tree

SCHEMA = 1


def iso(when: datetime | None) -> str | None:
    """``2026-11-25T20:52:32Z`` (microseconds kept when present), or None."""
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat().replace("+00:00", "Z")


def status_of(snapshot: FleetSnapshot) -> str:
    """``error`` when nothing could be observed (no Envoy answered and no secret was read: source
    errors, or every ``--target`` down), else the worst severity. A secret this poll could not read
    (``observed`` False: a 403, a 5xx, a timeout) is no observation, even with its last content carried;
    the API saying it is missing is one."""
    observed = any(t.reachable for t in snapshot.targets) or any(
        (s.state.observed and s.state.error is None) or s.state.missing for s in snapshot.secrets
    )
    if not observed and (snapshot.errors or snapshot.targets):
        return "error"
    worst = snapshot.worst_severity()
    if worst is Severity.CRITICAL:
        return "critical"
    if worst is Severity.WARNING:
        return "warning"
    return "ok"


def snapshot_json(snapshot: FleetSnapshot) -> str:
    """The check document as JSON text ending in a newline, the one encoding of ``check -o json``,
    ``/snapshot.json``, the dashboard's saved snapshot and a bundle's check.json: two-space indent,
    ASCII only (remote text arrives escaped, whatever the reader's encoding)."""
    return json.dumps(snapshot_to_dict(snapshot), indent=2, ensure_ascii=True) + "\n"


def snapshot_to_dict(snapshot: FleetSnapshot) -> dict[str, Any]:
    """The schema-1 document (plain dicts, lists, strings, numbers, booleans and None), every string
    inert (:func:`gloomon.domain.text.inert_tree`): a ``jq -r`` of it hands no escape to a terminal."""
    now = snapshot.taken_at
    return inert_tree(
        {
            "schema": SCHEMA,
            "status": status_of(snapshot),
            "generated_at": iso(now),
            "namespace": snapshot.namespace,
            "contexts": list(snapshot.contexts),
            "planes": [
                {"context": state.name, "plane": state.plane.value, "error": state.error}
                for state in snapshot.context_states
            ],
            "secret": _secret(snapshot.secret, now),
            "secrets": [
                {
                    "context": item.state.context,
                    "namespace": item.state.namespace,
                    "copied_by": item.state.copied_by,
                    "syncs_by": item.state.syncs_by,
                    **(_secret(item, now) or {}),
                }
                for item in snapshot.secrets
            ],
            "cronjob": _cronjob(snapshot.cronjob, now),
            "cronjobs": [_cronjob(cron, now) for cron in snapshot.cronjobs],
            "gloo_version": _release(snapshot.gloo_release),
            "webhook": webhook_to_dict(snapshot.webhook, now),
            "targets": [_target(target, now) for target in snapshot.targets],
            "not_installed": [component.value for component in snapshot.not_installed],
            "findings": [finding_to_dict(item) for item in snapshot.findings],
        }
    )


def _release(release: GlooRelease | None) -> dict[str, Any] | None:
    """The Gloo release the pods' images say: ``version`` is None when the tag names no release."""
    if release is None:
        return None
    return {
        "version": release.version_text,
        "enterprise": release.enterprise,
        "variants": list(release.variants),
        "image": release.image,
    }


def cert_to_dict(cert: CertInfo, now: datetime) -> dict[str, Any]:
    return {
        "serial": cert.serial,
        "subject": cert.subject,
        "sans": list(cert.sans),
        "not_before": iso(cert.not_before),
        "not_after": iso(cert.not_after),
        "seconds_left": round(cert.seconds_left(now), 3),
        "sha256": cert.sha256,
        "notes": list(cert.notes),
    }


def _bundle(bundle: TrustBundle | None, now: datetime) -> list[dict[str, Any]]:
    return [cert_to_dict(ca, now) for ca in (bundle.cas if bundle else ())]


def _secret(secret: SecretStatus | None, now: datetime) -> dict[str, Any] | None:
    if secret is None:
        return None
    state = secret.state
    return {
        "phase": secret.verdict.phase.value,
        "bundle": _bundle(state.bundle, now),
        "leaf": cert_to_dict(state.leaf, now) if state.leaf is not None else None,
    }


def _cronjob(cron: CronJobState | None, now: datetime) -> dict[str, Any] | None:
    if cron is None:
        return None
    return {
        "context": cron.context,
        "name": cron.name,
        "schedule": cron.schedule,
        "suspended": cron.suspended,
        "missing": cron.missing,
        "last_schedule_time": iso(cron.last_schedule_time),
        "last_successful_time": iso(cron.last_successful_time),
        "next_run": None if cron.missing or cron.suspended else iso(next_run(cron.schedule, now)),
        "rotation_duration_seconds": cron.rotation_duration_seconds,
        "active_jobs": len(cron.active_jobs),
        "jobs": [
            {**_job(job), "failure_reason": job.failure_reason, "failed_pods": job.failed_pods}
            for job in cron.jobs
        ],
    }


def _job(job: JobState) -> dict[str, Any]:
    """A certgen Job as both the CronJob's and gateway-certgen's lists show it."""
    return {
        "name": job.name,
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "active": job.active,
        "succeeded": job.succeeded,
        "failed": job.failed,
    }


def webhook_to_dict(webhook: WebhookState | None, now: datetime) -> dict[str, Any] | None:
    """gloo's validation webhook as read (the findings say what is wrong with it); None when the
    context runs none."""
    if webhook is None:
        return None
    config = webhook.config
    return {
        "context": webhook.context,
        "secret": {
            "name": WEBHOOK_SECRET_NAME,
            "missing": webhook.secret_missing,
            "error": webhook.secret_error,
            "bundle": _bundle(webhook.secret_bundle, now),
            "leaf": cert_to_dict(webhook.secret_leaf, now) if webhook.secret_leaf is not None else None,
        },
        "served": {
            "pod": webhook.served_pod,
            "cert": cert_to_dict(webhook.served, now) if webhook.served is not None else None,
            "error": webhook.served_error,
        },
        "configuration": {
            "name": config.name if config is not None else webhook_config_name(webhook.namespace),
            "missing": webhook.config_missing,
            "forbidden": webhook.config_forbidden,
            "error": webhook.config_error,
            "webhooks": [
                {
                    "name": entry.name,
                    "failure_policy": entry.failure_policy,
                    "service": entry.service_host,
                    "port": entry.port,
                    "path": entry.path,
                    "ca_bundle": _bundle(entry.ca_bundle, now),
                    "ca_bundle_error": entry.ca_bundle_error,
                }
                for entry in (config.webhooks if config is not None else ())
            ],
        },
        "certgen_jobs": [_job(job) for job in webhook.jobs],
    }


def _target(target: TargetStatus, now: datetime) -> dict[str, Any]:
    ref = target.ref
    xds = target.xds
    return {
        "context": ref.context,
        "component": ref.component.value,
        "pod": ref.pod,
        "namespace": ref.namespace,
        "proxy": ref.proxy,
        "envoy_container": ref.envoy_container,
        "containers": list(ref.pod_info.containers) if ref.pod_info is not None else [],
        "admin_url": ref.admin_url,
        "reachable": target.reachable,
        "envoy_version": target.envoy_version,
        "leaf": cert_to_dict(target.leaf, now) if target.leaf is not None else None,
        "bundle": _bundle(target.bundle, now),
        "leaf_signed_by": target.verdict.signer_index,
        "phase": target.verdict.phase.value,
        "in_sync_with_secret": target.in_sync_with_secret,
        "lag_seconds": None if target.lag_seconds is None else round(target.lag_seconds, 3),
        "secret_namespace": target.secret_namespace,
        "copy_behind_seconds": None
        if target.copy_behind_seconds is None
        else round(target.copy_behind_seconds, 3),
        "last_pickup_seconds": None
        if target.last_pickup_seconds is None
        else round(target.last_pickup_seconds, 3),
        "sds_version": target.sds_version,
        "xds": None
        if xds is None
        else {
            "cluster": xds.cluster,
            "healthy": xds.healthy,  # no trouble seen: connected, or idle ("state" says which)
            "cx_connect_fail": xds.cx_connect_fail,
            "state": xds.state.value,
            "connected": xds.connected,
            "down_since": iso(target.xds_down_since),
        },
        "tls_errors": target.tls_errors,
        "stale_since": iso(target.stale_since),  # set while the API is down: the rest is as last read
    }


def finding_to_dict(item: Finding) -> dict[str, Any]:
    return {
        "severity": item.severity.value,
        "code": item.code,
        "context": item.context,
        "namespace": item.namespace,
        "component": item.component.value if item.component is not None else None,
        "pod": item.pod,
        "message": item.message,
        "hint": item.hint,
        "subjects": {
            "pods": list(item.subjects.pods),
            "serials": [cert.serial for cert in item.subjects.certs],
        },
    }
