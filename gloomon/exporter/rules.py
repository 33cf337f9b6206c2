"""Prometheus alert rules for gloomon's metrics: a plain rules file or a PrometheusRule.

``python -m gloomon.exporter.rules`` prints them; with no flags its output is the committed
``deploy/prometheus/rules.yaml`` (``--format rules``) and ``deploy/prometheus/prometheusrule.yaml``
(``--format prometheusrule``). The knobs are those of the peers' rule sets (x509-certificate-exporter's
chart, cert-manager's mixin): a prefix for the alert names, extra labels on every alert, ``for:`` and
threshold overrides, and the runbook's base URL. Pure: no prometheus_client, no IO but the CLI's.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

import yaml

from gloomon.exporter.alerts import ALERTS, THRESHOLDS, Alert, Band

DEFAULT_RUNBOOK_BASE = "https://github.com/gloomon/gloomon/blob/main/docs/findings.md"
DEFAULT_PREFIX = "Gloomon"
DEFAULT_JOB = "gloomon"
FORMATS = ("rules", "prometheusrule")

_DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PREFIX = re.compile(r"^[a-zA-Z_:]?[a-zA-Z0-9_:]*$")
#: labels the rules set themselves
_RESERVED = frozenset({"severity", "alertname"})


class RulesError(ValueError):
    """A knob that cannot make valid rules; the message says which and why."""


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """The knobs. ``for_overrides`` keys are ``Alert`` (both bands) or ``Alert:severity``."""

    prefix: str = DEFAULT_PREFIX
    labels: Mapping[str, str] = field(default_factory=dict)
    for_overrides: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    runbook_base: str = DEFAULT_RUNBOOK_BASE
    job: str = DEFAULT_JOB

    def validate(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise RulesError(f"--prefix {self.prefix!r}: an alert name is letters, digits, _ and :")
        for name in self.labels:
            if not _LABEL_NAME.match(name):
                raise RulesError(f"--label {name!r}: a label name is letters, digits and _")
            if name in _RESERVED:
                raise RulesError(f"--label {name}: the rules set {name} themselves")
        names = {alert.name for alert in ALERTS}
        for key, duration in self.for_overrides.items():
            alert, _, severity = key.partition(":")
            if alert not in names:
                raise RulesError(f"--for {key}: no alert {alert!r} (one of {', '.join(sorted(names))})")
            bands = {band.severity for a in ALERTS if a.name == alert for band in a.bands}
            if severity and severity not in bands:
                raise RulesError(
                    f"--for {key}: {alert} has no {severity!r} band ({', '.join(sorted(bands))})"
                )
            if not duration or not _DURATION.match(duration):
                raise RulesError(f"--for {key}={duration}: a Prometheus duration like 90s, 15m or 1h30m")
        for name, value in self.thresholds.items():
            if name not in THRESHOLDS:
                raise RulesError(f"--threshold {name}: no such threshold (one of {', '.join(THRESHOLDS)})")
            if not math.isfinite(value) or value <= 0:
                raise RulesError(f"--threshold {name}={value}: a positive number")
        if not self.runbook_base.startswith(("http://", "https://")):
            raise RulesError(f"--runbook-base {self.runbook_base!r}: an http(s) URL")
        try:
            re.compile(self.job)
        except re.error as error:
            raise RulesError(f"--job {self.job!r}: not a regular expression ({error})") from None


def _number(value: float) -> str:
    return f"{value:g}"


def _rule(alert: Alert, band: Band, options: RuleOptions) -> dict[str, Any]:
    values = {name: _number(options.thresholds.get(name, t.default)) for name, t in THRESHOLDS.items()}
    duration = options.for_overrides.get(
        f"{alert.name}:{band.severity}", options.for_overrides.get(alert.name, band.for_)
    )
    return {
        "alert": options.prefix + alert.name,
        "expr": Template(band.expr).substitute(values, job=options.job),
        "for": duration,
        "labels": {**dict(sorted(options.labels.items())), "severity": band.severity},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": f"{options.runbook_base}#{alert.anchor}",
        },
    }


def _group_name(prefix: str, group: str) -> str:
    return f"{prefix.lower()}-{group}" if prefix else group


def build_groups(options: RuleOptions | None = None) -> list[dict[str, Any]]:
    """The rule groups, in catalogue order; raises :class:`RulesError` for a bad knob."""
    options = options or RuleOptions()
    options.validate()
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in ALERTS:
        rules = groups.setdefault(_group_name(options.prefix, alert.group), [])
        rules.extend(_rule(alert, band, options) for band in alert.bands)
    return [{"name": name, "rules": rules} for name, rules in groups.items()]


def document(options: RuleOptions | None = None, output: str = "rules") -> dict[str, Any]:
    """The rules file (``{"groups": …}``) or a monitoring.coreos.com/v1 PrometheusRule."""
    groups = build_groups(options)
    if output == "rules":
        return {"groups": groups}
    if output == "prometheusrule":
        return {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "gloomon", "labels": {"app.kubernetes.io/name": "gloomon"}},
            "spec": {"groups": groups},
        }
    raise RulesError(f"--format {output!r}: one of {', '.join(FORMATS)}")


class _Dumper(yaml.SafeDumper):
    """Multi-line text (expressions) as YAML block scalars, so the file reads like hand-written rules."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)

_HEADER = (
    "# Made by `python -m gloomon.exporter.rules --format {output}` (knobs: --help);\n"
    "# the alerts are defined in gloomon/exporter/alerts.py.\n"
)


def render(options: RuleOptions | None = None, output: str = "rules") -> str:
    """The YAML text, headed by the command that makes it."""
    body = yaml.dump(
        document(options, output), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110
    )
    return _HEADER.format(output=output) + body


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RulesError(f"{flag} {item!r}: expected NAME=VALUE")
        out[key] = value
    return out


def options_from(args: argparse.Namespace) -> RuleOptions:
    thresholds: dict[str, float] = {}
    for name, text in _pairs(args.threshold, "--threshold").items():
        try:
            thresholds[name] = float(text)
        except ValueError:
            raise RulesError(f"--threshold {name}={text}: a number") from None
    return RuleOptions(
        prefix=args.prefix,
        labels=_pairs(args.label, "--label"),
        for_overrides=_pairs(getattr(args, "for"), "--for"),
        thresholds=thresholds,
        runbook_base=args.runbook_base,
        job=args.job,
    )


def parser() -> argparse.ArgumentParser:
    knobs = "\n".join(f"  {name} (default {t.default:g}): {t.meaning}" for name, t in THRESHOLDS.items())
    alerts = ", ".join(alert.name for alert in ALERTS)
    p = argparse.ArgumentParser(
        prog="python -m gloomon.exporter.rules",
        description="Print Prometheus alert rules for gloomon's metrics.",
        epilog=f"alerts: {alerts}\n\nthresholds:\n{knobs}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", choices=FORMATS, default="rules", help="a rules file or a PrometheusRule")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="prepended to every alert name")
    p.add_argument("--label", action="append", default=[], metavar="K=V", help="extra label on every alert")
    p.add_argument(
        "--for", action="append", default=[], metavar="ALERT[:SEVERITY]=DURATION", help="override a for:"
    )
    p.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE", help="see below")
    p.add_argument(
        "--runbook-base", default=DEFAULT_RUNBOOK_BASE, metavar="URL", help="docs/findings.md's URL"
    )
    p.add_argument("--job", default=DEFAULT_JOB, metavar="REGEX", help="Prometheus job label of gloomon")
    p.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        text = render(options_from(args), args.format)
    except RulesError as error:
        print(f"gloomon rules: {error}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
