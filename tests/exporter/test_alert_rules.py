"""The alert rules: the committed files are the generator's default output, promtool accepts them, each
alert fires on synthetic series (rules_test.yaml), a healthy rotation fires none, and every runbook
anchor and every finding code the domain can emit has its section in docs/findings.md.

promtool comes from the Debian package ``prometheus`` (``make test`` installs it); without it these
tests fail rather than skip, so CI cannot pass by not running them.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gloomon.exporter.rules import RuleOptions, RulesError, document, main, render

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
PROMETHEUSRULE = ROOT / "deploy" / "prometheus" / "prometheusrule.yaml"
UNIT_TESTS = Path(__file__).with_name("rules_test.yaml")
FINDINGS_DOC = ROOT / "docs" / "findings.md"
HEALTH = ROOT / "gloomon" / "domain" / "health"


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: apt-get install -y prometheus (make test does it)"
    return path


def run_promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def rule_list(doc: dict[str, Any]) -> list[dict[str, Any]]:
    groups = doc["groups"] if "groups" in doc else doc["spec"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


# -- the committed files ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "output"), [(RULES, "rules"), (PROMETHEUSRULE, "prometheusrule")])
def test_committed_rules_are_the_generators_default_output(path: Path, output: str) -> None:
    assert path.read_text(encoding="utf-8") == render(output=output), (
        f"regenerate: python -m gloomon.exporter.rules --format {output} -o {path.relative_to(ROOT)}"
    )


def test_prometheusrule_carries_the_same_groups_as_the_rules_file() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    custom = yaml.safe_load(PROMETHEUSRULE.read_text(encoding="utf-8"))
    assert custom["apiVersion"] == "monitoring.coreos.com/v1"
    assert custom["kind"] == "PrometheusRule"
    assert custom["spec"]["groups"] == rules["groups"]


def test_promtool_checks_the_rules_file() -> None:
    result = run_promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_the_prometheusrules_groups_and_the_tuned_rules(tmp_path: Path) -> None:
    custom = yaml.safe_load(PROMETHEUSRULE.read_text(encoding="utf-8"))
    (tmp_path / "from-crd.yaml").write_text(yaml.safe_dump({"groups": custom["spec"]["groups"]}))
    tuned = RuleOptions(
        prefix="GlooMtls",
        labels={"team": "platform"},
        for_overrides={"LeafExpiring:critical": "5m", "TargetLagging": "90s"},
        thresholds={"expiry_warning_days": 14, "lag_grace_seconds": 40},
        job="gloomon|gloomon-.*",
    )
    (tmp_path / "tuned.yaml").write_text(render(tuned))
    result = run_promtool("check", "rules", tmp_path / "from-crd.yaml", tmp_path / "tuned.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_summary_description_and_a_runbook_url() -> None:
    for rule in rule_list(yaml.safe_load(RULES.read_text(encoding="utf-8"))):
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert annotations["runbook_url"].startswith("https://"), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]


# -- the knobs ----------------------------------------------------------------------------------


def test_knobs_set_the_prefix_labels_for_windows_thresholds_and_runbook_base() -> None:
    options = RuleOptions(
        prefix="GlooMtls",
        labels={"team": "platform"},
        for_overrides={"LeafExpiring:critical": "5m", "TargetLagging": "90s"},
        thresholds={"lag_grace_seconds": 40},
        runbook_base="https://wiki.example/findings",
        job="gloomon-prod",
    )
    rules = rule_list(document(options))
    assert all(rule["alert"].startswith("GlooMtls") for rule in rules)
    assert all(rule["labels"]["team"] == "platform" for rule in rules)
    by_band = {(rule["alert"], rule["labels"]["severity"]): rule for rule in rules}
    assert by_band["GlooMtlsLeafExpiring", "critical"]["for"] == "5m"
    assert by_band["GlooMtlsLeafExpiring", "warning"]["for"] == "1h"
    assert by_band["GlooMtlsTargetLagging", "warning"]["for"] == "90s"
    assert by_band["GlooMtlsTargetLagging", "critical"]["for"] == "90s"
    assert by_band["GlooMtlsTargetLagging", "warning"]["expr"] == "gloomon_target_lag_seconds > 40"
    assert 'up{job=~"gloomon-prod"}' in by_band["GlooMtlsExporterDown", "warning"]["expr"]
    url = by_band["GlooMtlsRotationStalled", "warning"]["annotations"]["runbook_url"]
    assert url == "https://wiki.example/findings#rotation-stalled"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--for", "NoSuchAlert=5m"], "no alert 'NoSuchAlert'"),
        (["--for", "LeafExpired:warning=5m"], "has no 'warning' band"),
        (["--for", "LeafExpiring=soon"], "a Prometheus duration"),
        (["--threshold", "lag_grace_seconds=-3"], "a positive number"),
        (["--threshold", "lag_grace_seconds=fast"], "a number"),
        (["--threshold", "nope=3"], "no such threshold"),
        (["--label", "severity=page"], "the rules set severity themselves"),
        (["--label", "bad-name=x"], "a label name"),
        (["--label", "team"], "expected NAME=VALUE"),
        (["--prefix", "Gloo Mon"], "--prefix"),
        (["--runbook-base", "docs/findings.md"], "an http(s) URL"),
        (["--job", "(unclosed"], "not a regular expression"),
    ],
)
def test_a_bad_knob_is_refused_with_its_reason(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert says in captured.err
    assert "Traceback" not in captured.err


def test_options_validate_raises_rules_error() -> None:
    with pytest.raises(RulesError):
        document(RuleOptions(thresholds={"expiry_warning_days": float("nan")}))


# -- promtool unit tests ------------------------------------------------------------------------


def test_promtool_unit_tests_fire_each_alert() -> None:
    result = run_promtool("test", "rules", UNIT_TESTS.name, cwd=UNIT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_cover_every_alert_and_band() -> None:
    bands = {
        (rule["alert"], rule["labels"]["severity"])
        for rule in rule_list(yaml.safe_load(RULES.read_text(encoding="utf-8")))
    }
    tests = yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {
        (check["alertname"], alert["exp_labels"]["severity"])
        for test in tests
        for check in test["alert_rule_test"]
        for alert in check["exp_alerts"]
    }
    assert bands - fired == set()


STEP = 15  # seconds between samples
STEPS = 160  # 40 minutes
POD_DELAY = {"gloo-1": 2, "gateway-proxy-1": 3, "gateway-proxy-2": 4, "extauth-1": 2}  # steps (≤ 60 s)
DAY = 86400
YEAR = 365 * DAY


def _secret_state(step: int) -> tuple[str, tuple[str, ...], str]:
    """certgen's three writes, rotationDuration 60 s apart, starting at 5 minutes: (phase, CAs, leaf)."""
    if step < 20:
        return "steady", ("ca-old",), "leaf-old"
    if step < 24:
        return "ca-added", ("ca-old", "ca-new"), "leaf-old"
    if step < 28:
        return "leaf-rotated", ("ca-old", "ca-new"), "leaf-new"
    return "steady", ("ca-new",), "leaf-new"


CERTS = {  # serial: (not_before, not_after): the old leaf is inside the renew window, not near expiry
    "leaf-old": (85 * DAY - YEAR, 85 * DAY),
    "leaf-new": (300, 300 + YEAR),
    "ca-old": (85 * DAY - 10 * YEAR, 9 * YEAR),
    "ca-new": (0, 10 * YEAR),
}


def _series(values: dict[str, list[float | None]]) -> list[dict[str, str]]:
    return [
        {"series": name, "values": " ".join("_" if v is None else f"{v:g}" for v in samples)}
        for name, samples in values.items()
    ]


def rotation_timeline(stuck: str | None = None) -> list[dict[str, str]]:
    """The series gloomon exports through one rotation; each pod picks each write up within 60 s
    (the kubelet's secret sync), except ``stuck``, which keeps the first state it held."""
    values: dict[str, list[float | None]] = {}

    def put(name: str, step: int, value: float | None) -> None:
        values.setdefault(name, [None] * STEPS)[step] = value

    def cert_series(
        step: int, source: str, pod: str, component: str, cas: tuple[str, ...], leaf: str
    ) -> None:
        for role, index, serial in [("leaf", "", leaf), *(("ca", str(i), s) for i, s in enumerate(cas))]:
            labels = (
                f'cluster="lab", namespace="gloo-system", component="{component}", pod="{pod}", '
                f'source="{source}", role="{role}", bundle_index="{index}", serial="{serial}"'
            )
            before, after = CERTS[serial]
            put(f"gloomon_cert_not_after_timestamp_seconds{{{labels}}}", step, after)
            put(f"gloomon_cert_not_before_timestamp_seconds{{{labels}}}", step, before)

    phases = ("steady", "ca-added", "leaf-rotated", "stalled", "broken", "unknown")
    for step in range(STEPS):
        phase, cas, leaf = _secret_state(step)
        cert_series(step, "secret", "", "", cas, leaf)
        for name in phases:
            put(f'gloomon_rotation_phase{{cluster="lab", scope="secret", pod="", phase="{name}"}}', step, 0)
        put(f'gloomon_rotation_phase{{cluster="lab", scope="secret", pod="", phase="{phase}"}}', step, 1)
        propagating = False
        for pod, delay in POD_DELAY.items():
            component = pod.rsplit("-", 1)[0]
            held_step = 0 if pod == stuck else max(step - delay, 0)
            held_phase, held_cas, held_leaf = _secret_state(held_step)
            cert_series(step, "envoy", pod, component, held_cas, held_leaf)
            labels = f'cluster="lab", namespace="gloo-system", component="{component}", pod="{pod}"'
            in_sync = (held_cas, held_leaf) == (cas, leaf)
            # lagging since the secret's first write after the state the pod holds
            changed = next(
                (s for s in range(held_step + 1, step + 1) if _secret_state(s)[1:] != (held_cas, held_leaf)),
                step,
            )
            lag = 0.0 if in_sync else (step - changed) * STEP
            propagating = propagating or not in_sync
            put(f"gloomon_target_in_sync{{{labels}}}", step, 1 if in_sync else 0)
            put(f"gloomon_target_lag_seconds{{{labels}}}", step, lag)
            put(f"gloomon_target_up{{{labels}}}", step, 1)
            put(f"gloomon_xds_connected{{{labels}}}", step, 1)
            for name in phases:
                value = 1 if name == held_phase else 0
                put(
                    f'gloomon_rotation_phase{{cluster="lab", scope="target", pod="{pod}", phase="{name}"}}',
                    step,
                    value,
                )
        # the domain's info while a rotation propagates within the grace
        put(
            'gloomon_findings{code="bundle-mismatch", severity="info", component=""}',
            step,
            1 if propagating else None,
        )
        put('up{job="gloomon", instance="10.0.0.1:9745"}', step, 1)
        put('gloomon_source_up{cluster="lab", source="kubernetes"}', step, 1)
        put('gloomon_source_up{cluster="lab", source="secret"}', step, 1)
        cronjob = 'namespace="gloo-system", cronjob="gloo-mtls-certgen-cronjob"'
        put(f"gloomon_certgen_next_run_timestamp_seconds{{{cronjob}}}", step, 7 * DAY)
        put(f"gloomon_certgen_last_success_timestamp_seconds{{{cronjob}}}", step, 300 if step >= 28 else None)
    return _series(values)


def silence_test(series: list[dict[str, str]]) -> dict[str, Any]:
    """No alert at any minute of the timeline, for every alert of the rules file."""
    names = sorted({rule["alert"] for rule in rule_list(yaml.safe_load(RULES.read_text(encoding="utf-8")))})
    return {
        "rule_files": [str(RULES)],
        "evaluation_interval": f"{STEP}s",
        "tests": [
            {
                "interval": f"{STEP}s",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": f"{minute}m", "alertname": name, "exp_alerts": []}
                    for minute in range(0, STEPS * STEP // 60, 2)
                    for name in names
                ],
            }
        ],
    }


def test_a_healthy_rotation_fires_no_alert(tmp_path: Path) -> None:
    path = tmp_path / "healthy_rotation_test.yaml"
    path.write_text(yaml.safe_dump(silence_test(rotation_timeline())))
    result = run_promtool("test", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_same_rotation_with_a_stuck_pod_is_not_silent(tmp_path: Path) -> None:
    """The silence above is not vacuous: one pod that never picks the rotation up breaks it, and it
    is the lag alert (and only the rotation's alerts) that speaks."""
    path = tmp_path / "stuck_rotation_test.yaml"
    path.write_text(yaml.safe_dump(silence_test(rotation_timeline(stuck="gateway-proxy-2"))))
    result = run_promtool("test", "rules", path)
    assert result.returncode != 0
    fired = set(re.findall(r"alertname: (\w+),", result.stdout + result.stderr))
    assert "GloomonTargetLagging" in fired
    assert fired <= {"GloomonTargetLagging"}


# -- runbooks -----------------------------------------------------------------------------------


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lowercase, punctuation but - and _ dropped, spaces → -."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def emitted_codes() -> set[str]:
    """Every finding code in gloomon/domain/health: the code argument of each ``Finding(...)``; a code
    that is a parameter (``code``, ``f"{code}-expired"``) is resolved through the calls of its function."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(HEALTH.glob("*.py"))}
    functions = {
        node.name: node
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    calls = [node for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def called(node: ast.Call) -> str | None:
        return node.func.id if isinstance(node.func, ast.Name) else None

    def arguments(function: str, parameter: str) -> set[str]:
        params = [a.arg for a in functions[function].args.args]
        out = set()
        for call in calls:
            if called(call) != function:
                continue
            value = next((k.value for k in call.keywords if k.arg == parameter), None)
            if value is None and params.index(parameter) < len(call.args):
                value = call.args[params.index(parameter)]
            assert isinstance(value, ast.Constant), ast.unparse(call)
            out.add(value.value)
        return out

    codes: set[str] = set()
    for function in functions.values():
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and called(node) == "Finding"):
                continue
            code = (
                node.args[1]
                if len(node.args) > 1
                else next(k.value for k in node.keywords if k.arg == "code")
            )
            if isinstance(code, ast.Constant):
                codes.add(code.value)
                continue
            if isinstance(code, ast.Name):  # a parameter: the codes its callers pass
                codes |= arguments(function.name, code.id)
                continue
            assert isinstance(code, ast.JoinedStr), ast.unparse(node)
            head, *rest = code.values
            assert isinstance(head, ast.FormattedValue), ast.unparse(code)
            assert isinstance(head.value, ast.Name), ast.unparse(code)
            suffix = "".join(part.value for part in rest if isinstance(part, ast.Constant))
            codes |= {prefix + suffix for prefix in arguments(function.name, head.value.id)}
    return codes


def readme_codes() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme.split("Codes: ", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", paragraph))


def test_the_code_collector_sees_the_f_string_codes() -> None:
    codes = emitted_codes()
    assert {"leaf-expiring", "leaf-expired", "ca-expiring", "ca-expired", "target-lagging"} <= codes


def test_every_finding_code_has_its_section_in_docs_findings() -> None:
    anchors = github_anchors(FINDINGS_DOC.read_text(encoding="utf-8"))
    assert (emitted_codes() | readme_codes()) - anchors == set()


def test_every_runbook_url_points_at_a_section_of_docs_findings() -> None:
    anchors = github_anchors(FINDINGS_DOC.read_text(encoding="utf-8"))
    for rule in rule_list(yaml.safe_load(RULES.read_text(encoding="utf-8"))):
        base, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert base.endswith("/docs/findings.md"), rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: #{anchor}"
