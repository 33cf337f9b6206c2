"""The validation webhook in rows, one wording for ``check``'s table and the dashboard's panel: the
certificate gloo serves, the secret's, each webhook's ``caBundle`` and the certgen Jobs.

Each row says whether it is in order (``ok``: True, False, or None when not observed); the findings say
why and how to fix it. Renderers show these rows and never compare certificates themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.compare.webhook import matches_the_secret, presented, serves_the_secret, verifies
from gloomon.domain.model import WEBHOOK_SECRET_NAME, CertInfo, WebhookEntry, WebhookState
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import one_line


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """``label``: what the row is; ``cert``: the certificate it shows (the first CA for a caBundle);
    ``words``: its state in words; ``ok``: in order, broken, or not observed (None)."""

    label: str
    words: str
    ok: bool | None
    cert: CertInfo | None = None


def webhook_rows(state: WebhookState, now: datetime) -> tuple[WebhookRow, ...]:
    rows = [_served(state), _secret(state)]
    if state.config is not None:
        rows += [_bundle(entry, state) for entry in state.config.webhooks]
    elif state.config_forbidden:
        forbidden = "not read: get on validatingwebhookconfigurations is forbidden"
        rows.append(WebhookRow("caBundle", forbidden, None))
    elif state.config_missing:
        rows.append(WebhookRow("caBundle", "no ValidatingWebhookConfiguration", False))
    elif state.config_error is not None:
        rows.append(WebhookRow("caBundle", one_line(state.config_error, 120), None))
    if state.jobs:
        newest = state.jobs[-1]
        started = newest.started_at
        ago = f", {human_duration((now - started).total_seconds())} ago" if started is not None else ""
        outcome = "failed" if newest.failed else "running" if newest.active else "succeeded"
        count = f"{len(state.jobs)} Jobs, newest " if len(state.jobs) > 1 else ""
        rows.append(WebhookRow("certgen", f"{count}{newest.name} {outcome}{ago}", not newest.failed))
    return tuple(rows)


def _served(state: WebhookState) -> WebhookRow:
    if state.served is None:
        words = one_line(state.served_error, 120) if state.served_error else "no gloo pod to ask"
        return WebhookRow("served", words, None if state.served_error is None else False)
    where = f"by {state.served_pod}" if state.served_pod else "by gloo"
    same = serves_the_secret(state)
    if same is None:
        return WebhookRow("served", f"{where} on 8443", True, state.served)
    if same:
        return WebhookRow("served", f"{where} on 8443, the secret's", True, state.served)
    return WebhookRow("served", f"{where} on 8443, not the secret's: gloo not restarted", False, state.served)


def _secret(state: WebhookState) -> WebhookRow:
    if state.secret_missing:
        return WebhookRow("secret", f"{WEBHOOK_SECRET_NAME} not found", False)
    if state.secret_leaf is None:
        words = one_line(state.secret_error, 120) if state.secret_error else "no tls.crt"
        return WebhookRow("secret", words, None)
    return WebhookRow("secret", WEBHOOK_SECRET_NAME, True, state.secret_leaf)


def _bundle(entry: WebhookEntry, state: WebhookState) -> WebhookRow:
    policy = f"failurePolicy {entry.failure_policy or 'Fail (default)'}"
    label = f"caBundle {entry.name.split('.', 1)[0]}"
    if entry.ca_bundle_error is not None:
        return WebhookRow(label, f"{one_line(entry.ca_bundle_error, 80)}; {policy}", False)
    if not entry.ca_bundle.cas:
        return WebhookRow(label, f"empty; {policy}", False)
    first = entry.ca_bundle.cas[0]
    verified = verifies(entry.ca_bundle, presented(state))
    if verified is False:
        return WebhookRow(label, f"does not verify the served certificate; {policy}", False, first)
    if matches_the_secret(entry.ca_bundle, state) is False:
        return WebhookRow(label, f"differs from the secret's ca.crt; {policy}", False, first)
    words = "verifies the served certificate" if verified else "not compared: no certificate read"
    return WebhookRow(label, f"{words}; {policy}", True if verified else None, first)
