"""README.txt of a bundle: what was collected, from where, when, by which gloomon, what was redacted.

Written last, so it can say what failed and what ``--max-size`` left out. Remote text in it (API error
lines, pod names) is made inert first: a ``cat README.txt`` hands no escape to the terminal.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from gloomon.domain.export import iso
from gloomon.domain.redact import KEY_DATA_FIELDS, PUBLIC_TLS_FIELDS, REDACTED, SECRET_FIELDS
from gloomon.domain.text import one_line
from gloomon.sources.bundle.archive import BundleArchive, human_size
from gloomon.sources.direct import without_userinfo

if TYPE_CHECKING:
    from gloomon.sources.bundle.collect import Collection

#: the most of one container's log kept (the API's ``limitBytes``)
LOG_CAP = 8 * 1024 * 1024

#: lines of failures and left-out members listed before "… and N more"
_MAX_LISTED = 200
_LINE = 300


def _wrapped(text: str) -> str:
    return textwrap.fill(text, 100, initial_indent="- ", subsequent_indent="  ")


REDACTION_WORDS = "\n".join(
    [
        f'What was redacted (replaced by "{REDACTED}" or left out):',
        _wrapped(
            "Envoy admin documents (config_dump, certs, clusters, stats, server_info): the value of every "
            f"{', '.join(sorted(SECRET_FIELDS))} field wherever it appears; inside tls_certificate "
            f"everything but {', '.join(sorted(PUBLIC_TLS_FIELDS))}; every inline_bytes / inline_string "
            "holding a private key."
        ),
        _wrapped(
            "Every file: PEM private-key blocks, text still naming a private key, and base64 that "
            "decodes to a PEM or DER private key."
        ),
        _wrapped(
            "The secrets gloo-mtls-certs and gateway-validation-certs: metadata only (name, namespace, "
            "uid, resourceVersion, labels, "
            "type), the keys each holds with their sizes, and their certificates' public metadata (serial, "
            f"subject, SANs, validity, SHA-256). No data value; {', '.join(sorted(KEY_DATA_FIELDS))} are "
            "sized, never read."
        ),
        _wrapped(
            "Pods, Jobs, CronJob: managedFields dropped; the last-applied-configuration annotation and "
            "the values of environment variables named like secrets (password, token, key, credential…) "
            "replaced."
        ),
        "Kept: certificates (PEM CERTIFICATE blocks), names, SDS versions, last_updated, the rest of "
        "config_dump.",
    ]
)


def _listed(lines: list[str]) -> list[str]:
    shown = [f"- {one_line(line, _LINE)}" for line in lines[:_MAX_LISTED]]
    if len(lines) > _MAX_LISTED:
        shown.append(f"- … and {len(lines) - _MAX_LISTED} more")
    return shown


def readme_text(run: Collection, archive: BundleArchive) -> str:
    settings, options = run.settings, run.options
    lines = [
        "gloomon support bundle",
        "",
        f"Created:   {iso(run.started)} (UTC)",
        f"By:        gloomon {options.version}",
    ]
    if settings.direct:
        lines.append("Source:    --target admin URLs (no Kubernetes: no objects, no logs)")
        lines += [f"           {t.name} = {without_userinfo(t.url)}" for t in settings.targets]
    else:
        contexts = ", ".join(run.contexts) or "(none answered)"
        lines.append(
            f"Source:    Kubernetes context(s) {one_line(contexts, _LINE)}; namespace {settings.namespace}"
        )
        lines.append(
            f"Logs:      the last {options.since_seconds} s (the API's sinceSeconds), "
            f"at most {human_size(LOG_CAP)} per container"
        )
    lines.append(f"Size cap:  --max-size {human_size(options.max_size)}")
    lines += [
        "",
        "Contents:",
        "- check.json: one poll, as `gloomon check -o json` prints it (certificates as public metadata)",
        "- targets/<context>/<pod>/: each Envoy's /certs, /config_dump (redacted), /clusters?format=json,",
        "  /stats and /server_info, fetched as gloomon polls them (port-forward or --target URL)",
    ]
    if not settings.direct:
        lines += [
            "- kubernetes/<context>/: pods.yaml, jobs.yaml, cronjob.yaml, secret-gloo-mtls-certs.yaml and",
            "  secret-gateway-validation-certs.yaml (metadata only)",
            "- logs/<context>/<pod>/<container>.log: sds, envoy-sidecar, the main container, certgen",
        ]
    lines += ["", "Files:"]
    lines += _listed([f"{name} ({human_size(size)})" for name, size in archive.members])
    lines += ["", REDACTION_WORDS, ""]
    if run.redacted:
        counts = ", ".join(f"{kind}: {count}" for kind, count in sorted(run.redacted.items()))
        lines += [f"Values redacted by gloomon (beyond Envoy's own): {counts}", ""]
    lines.append("Failures (the rest was collected):" if run.failures else "Failures: none")
    lines += _listed(run.failures)
    if archive.left_out:
        lines += ["", f"Left out (--max-size {human_size(options.max_size)} reached; nothing added after):"]
        lines += _listed(archive.left_out)
    return "\n".join(lines) + "\n"
