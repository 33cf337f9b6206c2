"""``gloomon check`` output: a Rich table report, JSON (schema 1) or YAML, and the exit code.

Rendering only: every judgement comes from the snapshot's findings (``domain/health/judge.py``).
Remote text (subjects, pod names, messages) is wrapped in ``rich.text.Text``, never parsed as markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gloomon.domain.cells import (
    MTLS_WORDS,
    name_words,
    phase_words,
    severity_counts,
    short_pod,
    sync_words,
    time_left_words,
    xds_words,
)
from gloomon.domain.export import snapshot_json, snapshot_to_dict, status_of
from gloomon.domain.model import (
    CertInfo,
    CronJobState,
    Finding,
    FleetSnapshot,
    MtlsState,
    Phase,
    SecretStatus,
    Severity,
    TargetStatus,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import inert
from gloomon.domain.webhook_view import webhook_rows
from gloomon.domain.words import counted

#: ``gloomon check`` exit codes (README "Exit codes"); 3 is also the CLI's code for "could not run".
EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_NOTHING_OBSERVED = 0, 1, 2, 3

_SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SEVERITY_GLYPH = {Severity.CRITICAL: "✗", Severity.WARNING: "‼", Severity.INFO: "i"}
_PHASE_STYLE = {
    Phase.STEADY: "green",
    Phase.CA_ADDED: "cyan",
    Phase.LEAF_ROTATED: "cyan",
    Phase.STALLED: "yellow",
    Phase.BROKEN: "bold red",
    Phase.UNKNOWN: "dim",
}


def exit_code(snapshot: FleetSnapshot, fail_on: str) -> int:
    """0 when no finding is at or above ``fail_on``; else 1 (worst is a warning or info) or 2 (critical).

    3 when nothing could be observed (status ``error``), whatever ``fail_on`` says: a check that saw no
    Envoy and no secret did not run, and a monitoring job must not stay green while every Envoy is down.
    """
    if status_of(snapshot) == "error":
        return EXIT_NOTHING_OBSERVED
    if fail_on == "never":
        return EXIT_OK
    threshold = Severity(fail_on).rank
    failing = [finding.severity for finding in snapshot.findings if finding.severity.rank >= threshold]
    if not failing:
        return EXIT_OK
    return EXIT_CRITICAL if Severity.CRITICAL in failing else EXIT_WARNING


def render_yaml(snapshot: FleetSnapshot) -> str:
    import yaml

    return yaml.safe_dump(snapshot_to_dict(snapshot), sort_keys=False, allow_unicode=True)


def print_report(snapshot: FleetSnapshot, output: str, console: Console | None = None) -> None:
    """The report on ``console`` (default: stdout, 100 columns). JSON and YAML go straight to its file:
    they are data, not layout, and Rich would split and measure every line (6 s for a 10,000-CA bundle).

    Raises BrokenPipeError when the reader has gone (``| head``), stdout already pointed at /dev/null so
    that the interpreter's last flush is quiet: the caller still owes the exit code of what was found.
    """
    console = console or _Console(width=100, soft_wrap=False, highlight=False)
    if output not in ("json", "yaml"):
        console.print(render_table(snapshot))
        return
    try:
        console.file.write(snapshot_json(snapshot) if output == "json" else render_yaml(snapshot))
        console.file.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise


class _Console(Console):
    """Rich's console, except that a broken pipe is raised to the caller, not Rich's ``SystemExit(1)``
    (1 means "warnings": a check that found an error must still exit with its own code)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _silence_stdout()
        raise BrokenPipeError


def _silence_stdout() -> None:
    """Point stdout at /dev/null: what Python still holds for it would fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def render_table(snapshot: FleetSnapshot) -> RenderableType:
    now = snapshot.taken_at
    parts: list[RenderableType] = [_title(snapshot), Text()]
    for error in snapshot.errors:
        parts.append(Text.assemble(("✗ ", "bold red"), _t(error)))
    for secret in snapshot.secrets:
        parts.append(_secret(secret, now, multi_context=len(snapshot.contexts) > 1))
    if snapshot.mtls is MtlsState.NOT_OBSERVED:
        parts.append(Text(MTLS_WORDS[snapshot.mtls], "bold"))
    many = len(snapshot.contexts) > 1
    for cron in snapshot.cronjobs or ([snapshot.cronjob] if snapshot.cronjob is not None else []):
        parts.append(_cronjob(cron, snapshot, named=many and bool(cron.context)))
    if snapshot.webhook is not None:
        parts.append(_webhook(snapshot))
    if snapshot.missing_components:
        missing = ", ".join(str(component) for component in snapshot.missing_components)
        if len(snapshot.contexts) > 1:  # which cluster misses what
            missing = ", ".join(
                f"{state.name}: {', '.join(str(c) for c in state.missing)}"
                for state in snapshot.context_states
                if state.missing
            )
        parts.append(Text.assemble(("Missing: ", "bold"), _t(missing), " (no ready pod)"))
    if snapshot.not_installed:
        names = ", ".join(str(component) for component in snapshot.not_installed)
        parts.append(Text.assemble(("Not installed: ", "dim"), names, " (no Deployment, no pod)"))
    parts.append(Text())
    parts.append(_targets(snapshot.targets, now, snapshot.contexts))
    parts.append(Text())
    parts.append(_findings(snapshot.findings))
    return Group(*parts)


def _title(snapshot: FleetSnapshot) -> Text:
    status = status_of(snapshot).upper()
    worst = snapshot.worst_severity()
    style = (
        "bold green"
        if status == "OK"
        else "bold red"
        if status == "ERROR"
        else _SEVERITY_STYLE[worst or Severity.INFO]
    )
    counts = severity_counts(snapshot.findings)
    contexts = ", ".join(snapshot.contexts) or "direct targets"
    return Text.assemble(
        ("gloomon check", "bold"),
        _t(f" · namespace {snapshot.namespace} · {contexts} · {_iso(snapshot.taken_at)}\n"),
        ("Status: ", "bold"),
        (status, style),
        f"  ({counts[Severity.CRITICAL]} critical, {counts[Severity.WARNING]} warning, "
        f"{counts[Severity.INFO]} info; {counted(len(snapshot.targets), 'target')})",
    )


def _secret(secret: SecretStatus, now: datetime, *, multi_context: bool) -> RenderableType:
    state = secret.state
    label = f"Secret {state.namespace}/{state.name}"
    if multi_context:
        label += f" ({state.context})"
    if state.error:
        return Text.assemble(_t(label, "bold"), "  ", ("unreadable: ", "red"), _t(state.error))
    verdict = secret.verdict
    lines = Text.assemble(
        _t(label, "bold"),
        "  phase ",
        (verdict.phase.value, _PHASE_STYLE[verdict.phase]),
        " — ",
        _t(verdict.reason),
    )
    if state.leaf is not None:
        lines.append("\n")
        lines.append_text(_cert_line("leaf ", state.leaf, now))
    if state.bundle is not None:
        for index, ca in enumerate(state.bundle.cas):
            signer = " ← signs leaf" if index == secret.verdict.signer_index else ""
            lines.append("\n")
            lines.append_text(_cert_line(f"CA #{index + 1}", ca, now))
            lines.append(signer, style="green")
    return lines


def _cert_line(label: str, cert: CertInfo, now: datetime) -> Text:
    left = cert.seconds_left(now)
    return Text.assemble(
        _t(f"  {label}  serial {cert.short_serial}  "),
        _t(cert.common_name or cert.subject or "?"),
        f"  expires {_iso(cert.not_after)[:10]} ",
        (f"({time_left_words(cert, now)})", "red" if left <= 0 else ""),
        _t("".join(f"\n      note: {note}" for note in cert.notes), "yellow"),
    )


def _cronjob(cron: CronJobState, snapshot: FleetSnapshot, *, named: bool) -> Text:
    """One context's certgen CronJob (``named``: with several contexts, the context comes first)."""
    label = _t(f"CronJob ({cron.context})" if named else "CronJob", "bold")
    if cron.missing:
        return Text.assemble(label, "  none (gateway.certGenJob.cron.enabled=false)")
    if cron.error:
        return Text.assemble(label, "  unreadable: ", _t(cron.error))
    parts = Text.assemble(label, " ", _t(cron.name), "  schedule ", _t(repr(cron.schedule)))
    if cron.suspended:
        parts.append("  SUSPENDED", style="yellow")
    if cron.last_successful_time:
        ago = (snapshot.taken_at - cron.last_successful_time).total_seconds()
        parts.append(f"  last success {human_duration(ago)} ago")
    if cron.active_jobs:
        parts.append_text(_t(f"  running: {', '.join(job.name for job in cron.active_jobs)}", "cyan"))
    return parts


def _webhook(snapshot: FleetSnapshot) -> Text:
    """The validation webhook's rows (:func:`webhook_rows`): served cert, secret, caBundles, certgen."""
    webhook = snapshot.webhook
    assert webhook is not None
    lines = Text("Validation webhook", style="bold")
    for row in webhook_rows(webhook, snapshot.taken_at):
        mark = ("✓ ", "green") if row.ok else ("✗ ", "red") if row.ok is False else ("? ", "yellow")
        lines.append("\n  ")
        lines.append_text(Text.assemble(mark, _t(f"{row.label}: {row.words}")))
        if row.cert is not None:
            lines.append("\n  ")
            lines.append_text(_cert_line("   ", row.cert, snapshot.taken_at))
    return lines


def _targets(targets: Iterable[TargetStatus], now: datetime, contexts: Sequence[str] = ()) -> Table:
    """One row per target; with several contexts a CONTEXT column first, rows grouped by context."""
    many = len(contexts) > 1
    table = Table(title="Targets", title_justify="left", expand=False, pad_edge=False, box=None)
    headers = ("NAME", "POD", "UP", "LEAF", "LEFT", "CAS", "PHASE", "SYNC", "XDS", "TLS ERR")
    for header in ("CONTEXT", *headers) if many else headers:
        table.add_column(header, no_wrap=True, overflow="ellipsis")
    table.columns[2 if many else 1].max_width = 26
    if many:
        table.columns[0].max_width = 20
        order = {context: index for index, context in enumerate(contexts)}
        targets = sorted(targets, key=lambda t: order.get(t.ref.context, len(order)))  # stable: grouped
    for target in targets:
        reach = Text("yes", "green") if target.reachable else Text("no", "red")
        leaf = target.leaf
        left = Text(time_left_words(leaf, now), "" if leaf else "dim")
        in_sync, link = target.in_sync_with_secret, target.xds
        green = in_sync and target.copy_behind_seconds is None  # else its namespace's copy lags
        sync = Text(sync_words(target), "dim" if in_sync is None else "green" if green else "yellow")
        xds = Text(xds_words(target), "dim" if link is None else "green" if link.healthy else "red")
        table.add_row(
            *((_t(target.ref.context),) if many else ()),
            _t(name_words(target.ref)),
            _t(short_pod(target.ref)),
            reach,
            _t(leaf.short_serial if leaf else "—"),
            left,
            Text(str(len(target.bundle))),
            Text(phase_words(target), _PHASE_STYLE[target.verdict.phase]),
            sync,
            xds,
            Text(str(target.tls_errors), "red" if target.tls_errors else ""),
        )
    return table


def _findings(findings: Iterable[Finding]) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        style = _SEVERITY_STYLE[finding.severity]
        where = "/".join(str(part) for part in (finding.component, finding.pod) if part)
        body = Text.assemble((finding.code, "bold"), "  ", _t(where), "\n", _t(finding.message), "\n")
        body.append_text(_t(f"hint: {finding.hint}", style="dim"))
        grid.add_row(Text(f" {_SEVERITY_GLYPH[finding.severity]} {finding.severity.value:<8}", style), body)
    if not grid.rows:
        return Group(Text("Findings", style="bold"), Text(" √ no findings", style="green"))
    return Group(Text("Findings", style="bold"), grid)


def _t(text: str, style: str = "") -> Text:
    """Remote text as a literal: no markup, made inert by :func:`gloomon.domain.text.inert` (no escape
    sequence or ``[31m`` tail, no control or bidi character)."""
    return Text(inert(text, multiline=True), style=style)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
