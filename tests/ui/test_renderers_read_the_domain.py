"""The dashboard renders what the domain decided and never re-decides it: the same certificate identity
in the table and the detail pane, the same finding order in the findings view and ``check``, the same
words for the same state on the dashboard and in ``check``."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

from rich.console import Console, RenderableType

from gloomon.domain.cells import MTLS_HINT, MTLS_WORDS, secret_phase_words
from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import AdminFetch, FleetSnapshot, MtlsState, Phase, PodInfo, Severity
from gloomon.report import render_table
from gloomon.ui.format import Palette
from gloomon.ui.state import ViewState, banner_for
from gloomon.ui.widgets.detail_pane import concerns, detail_renderable
from gloomon.ui.widgets.findings_list import findings_renderable
from gloomon.ui.widgets.fleet_table import row_cells
from gloomon.ui.widgets.header_bar import status_words
from tests.domain.certs import NOW, make_ca, make_leaf
from tests.domain.fleet_helpers import NS, fetch, secret, snap

PALETTE = Palette.from_variables({"success": "#00ff00", "warning": "#ffaa00", "error": "#ff0000"})


def text_of(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def ca_added_read_through_certs() -> FleetSnapshot:
    """The secret is in phase 1 (old CA ‖ new CA, leaf of the old); an older Envoy answers only
    ``/certs``, which lists just the first CA of its bundle (envoy#4661)."""
    old = make_ca(not_before=NOW - timedelta(days=300))
    new = make_ca(not_before=NOW - timedelta(seconds=30))
    leaf = make_leaf(old)
    held = fetch("gateway-proxy-1", leaf.info, [old.info], via_certs=True)
    return snap([held], [secret(leaf.info, [old.info, new.info])])


def test_a_target_read_only_through_certs_is_in_sync_in_the_table_and_the_detail_pane() -> None:
    snapshot = ca_added_read_through_certs()
    (target,) = snapshot.targets
    assert not target.bundle.complete and target.in_sync_with_secret is True
    assert row_cells(target, NOW, PALETTE, HealthPolicy())["sync"].plain == "✓"
    pane = text_of(detail_renderable(target, snapshot, NOW, PALETTE, HealthPolicy()))
    assert "= the secret's bundle" in pane and "= the secret's leaf" in pane
    assert "≠" not in pane and "missing here" not in pane and "not in the secret" not in pane


def test_the_findings_view_and_check_list_the_findings_in_the_domains_order() -> None:
    """gateway-proxy sorts before extauth in the domain (component order), after it by name."""
    down = [fetch(pod, None, [], error=f"refused by {pod}") for pod in ("extauth-1", "gateway-proxy-1")]
    snapshot = snap([*down, fetch("gloo-1", None, [])], [])
    pods = [finding.pod for finding in snapshot.findings]
    assert pods.index("gateway-proxy-1") < pods.index("extauth-1")
    messages = [finding.message for finding in snapshot.findings]
    assert len(set(messages)) == len(messages) > 2

    def order(text: str) -> list[str]:
        return sorted(messages, key=text.index)

    view = text_of(findings_renderable(snapshot, PALETTE), width=300)
    check = text_of(render_table(snapshot), width=300)
    assert order(view) == order(check[check.index("Findings") :]) == messages


def test_the_detail_pane_lists_the_fleet_findings_whose_subjects_name_the_pod() -> None:
    """``gateway-proxy-1`` is a prefix of ``gateway-proxy-10``: a finding naming the one is not about
    the other."""
    same, odd = make_ca(), make_ca()
    leaf, odd_leaf = make_leaf(same), make_leaf(odd)
    snapshot = snap(
        [
            fetch("gloo-1", leaf.info, [same.info]),
            fetch("gateway-proxy-1", leaf.info, [same.info]),
            fetch("gateway-proxy-10", odd_leaf.info, [odd.info]),
        ]
    )
    (mismatch,) = [f for f in snapshot.findings if f.code == "bundle-mismatch"]
    assert mismatch.pod is None and mismatch.subjects.pods == ("gateway-proxy-10",)
    first, tenth = (
        next(t for t in snapshot.targets if t.ref.pod == pod)
        for pod in ("gateway-proxy-1", "gateway-proxy-10")
    )
    assert concerns(mismatch, tenth) and not concerns(mismatch, first)
    assert mismatch.message not in text_of(
        detail_renderable(first, snapshot, NOW, PALETTE, HealthPolicy()), 300
    )
    assert snapshot_to_dict(snapshot)["findings"][snapshot.findings.index(mismatch)]["subjects"] == {
        "pods": ["gateway-proxy-10"],
        "serials": [],
    }


def test_a_secret_certificate_finding_names_the_certificate_for_every_pod_holding_it() -> None:
    ca = make_ca()
    expired = make_leaf(ca, not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
    other = make_leaf(ca)
    snapshot = snap(
        [fetch("gloo-1", expired.info, [ca.info]), fetch("gateway-proxy-1", other.info, [ca.info])],
        [secret(expired.info, [ca.info])],
    )
    (finding,) = [f for f in snapshot.findings if f.code == "leaf-expired" and f.pod is None]
    assert finding.subjects.certs == (expired.info,)
    holder, not_holder = snapshot.targets
    assert concerns(finding, holder) and not concerns(finding, not_holder)
    assert snapshot_to_dict(snapshot)["findings"][snapshot.findings.index(finding)]["subjects"] == {
        "pods": [],
        "serials": [expired.info.serial],
    }


def rotating_secret(held_for: timedelta, policy: HealthPolicy) -> FleetSnapshot:
    """The secret in phase 1 (two CAs, leaf of the old one) since ``held_for``, and gloo holding it."""
    old = make_ca(not_before=NOW - timedelta(days=300))
    new = make_ca(not_before=NOW - held_for)
    leaf = make_leaf(old)
    cas = [old.info, new.info]
    return snap(
        [fetch("gloo-1", leaf.info, cas)],
        [secret(leaf.info, cas, updated_at=NOW - held_for)],
        policy=policy,
    )


def test_the_header_is_loud_about_a_rotation_when_the_domain_calls_it_stalled_and_not_before() -> None:
    """With --lag-grace 10m, two CAs held 200 s are a rotation in progress (the domain allows 2×65 s +
    10 m), not a stall: the header stays calm, as check does; past the limit both say it stalled."""
    patient = HealthPolicy(lag_grace_seconds=600)
    in_progress = rotating_secret(timedelta(seconds=200), patient)
    assert in_progress.secret is not None and in_progress.secret.verdict.phase is Phase.CA_ADDED
    assert "rotation-stalled" not in {finding.code for finding in in_progress.findings}
    words, loudness = secret_phase_words(in_progress, NOW)
    assert loudness is Severity.INFO and words.endswith("135 s past the 65 s phase")

    stalled = rotating_secret(timedelta(seconds=800), patient)
    words, loudness = secret_phase_words(stalled, NOW)
    (finding,) = [f for f in stalled.findings if f.code == "rotation-stalled"]
    assert stalled.secret is not None and loudness is Severity.WARNING
    reason = stalled.secret.verdict.reason
    assert reason in words and reason in finding.message


def with_pod(fetched: AdminFetch, containers: tuple[str, ...]) -> AdminFetch:
    pod = PodInfo(fetched.target.pod, NS, fetched.target.component, "Running", True, 0, containers=containers)
    return replace(fetched, target=replace(fetched.target, pod_info=pod))


def test_mtls_not_enabled_is_one_state_in_the_same_words_on_the_banner_and_in_check() -> None:
    plain = with_pod(fetch("gateway-proxy-1", None, []), ("gateway-proxy",))
    snapshot = snap([plain], [secret(None, [], missing=True)])
    assert snapshot.mtls is MtlsState.NOT_ENABLED
    words = MTLS_WORDS[MtlsState.NOT_ENABLED]
    banner = banner_for(ViewState(snapshot=snapshot))
    assert banner is not None and banner.text.startswith(words) and MTLS_HINT in banner.text
    (missing,) = [f for f in snapshot.findings if f.code == "secret-missing"]
    assert missing.message.startswith(words) and missing.hint == MTLS_HINT
    assert words in text_of(render_table(snapshot), width=300)

    with_sidecar = snap(
        [with_pod(fetch("gateway-proxy-1", None, []), ("sds",))], [secret(None, [], missing=True)]
    )
    assert with_sidecar.mtls is MtlsState.ENABLED and banner_for(ViewState(snapshot=with_sidecar)) is None


def test_without_a_secret_read_at_all_the_secret_is_not_observed_rather_than_mtls_off() -> None:
    """``--target`` mode reads no secret and no pod spec: nothing says mTLS is off."""
    ca = make_ca()
    leaf = make_leaf(ca)
    snapshot = snap([fetch("gateway-proxy-1", leaf.info, [ca.info])], [])
    assert snapshot.mtls is MtlsState.NOT_OBSERVED
    assert banner_for(ViewState(snapshot=snapshot)) is None
    words = MTLS_WORDS[MtlsState.NOT_OBSERVED]
    assert secret_phase_words(snapshot, NOW) == (words, None)
    assert words in text_of(render_table(snapshot), width=300)


def test_the_header_says_the_checks_status_while_the_api_is_down_but_envoys_answered() -> None:
    ca = make_ca()
    leaf = make_leaf(ca)
    snapshot = snap(
        [fetch("gloo-1", leaf.info, [ca.info])],
        [secret(leaf.info, [ca.info])],
        errors=("Kubernetes API unreachable: connection refused",),
    )
    status = status_words(snapshot, None, PALETTE).plain
    check = text_of(render_table(snapshot))
    title = check[check.index("Status: ") + len("Status: ") :].split()[0]
    assert title == "WARNING" and "▲ WARNING" in status and "ERROR" not in status
