"""Pure presentation logic: log filter, banners, change toasts, rotation history, cell words."""

from __future__ import annotations

from datetime import timedelta

from gloomon.domain.cells import secret_phase_words
from gloomon.domain.compare.history import RotationHistory
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, Severity
from gloomon.lab import snapshots as fx
from gloomon.ui.format import bundle_cell, keep_end, sanitize, time_left
from gloomon.ui.state import ViewState, banner_for, notices
from gloomon.ui.widgets.log_pane import LogFilter
from gloomon.ui.widgets.log_view import event_line
from tests.ui.harness import PALETTE


def test_log_filter_words_and_components() -> None:
    events = fx.log_events(12)
    only_extauth = LogFilter.parse("@extauth")
    assert {e.component for e in events if only_extauth.matches(e)} == {Component.EXTAUTH}
    certgen = LogFilter.parse("@certgen")
    assert all(e.container == "certgen" for e in events if certgen.matches(e))
    assert LogFilter.parse("TLS @extauth").words == ("tls",)
    assert not LogFilter.parse("  ").active


def test_remote_text_is_sanitized_not_interpreted() -> None:
    line = event_line(fx.log_events(0)[-1], PALETTE)
    assert "[bold red]x[/]" in line.plain
    assert "\x1b" not in line.plain and "[31m" not in line.plain and "[bold red]x[/] red bell" in line.plain
    assert sanitize("a\tb\x00") == "a    b\\x00"


def test_secret_phase_words() -> None:
    assert secret_phase_words(fx.steady(), fx.NOW) == ("steady · 1 CA", None)
    words, loudness = secret_phase_words(fx.leaf_rotated(), fx.NOW)
    assert words == "rotation · phase 2/3 · new server cert · 41 s of 65 s"
    assert loudness is Severity.INFO
    assert secret_phase_words(fx.no_mtls(), fx.NOW)[1] is Severity.CRITICAL  # as secret-missing is


def test_a_contexts_phase_time_is_against_its_own_certgens_wait() -> None:
    """Two clusters' certgens may wait differently between phases: west's secret, in its second phase,
    is timed against west's rotationDuration, not east's."""
    from dataclasses import replace

    two = fx.leaf_rotated()
    secret = two.secrets[0]
    west = replace(secret, state=replace(secret.state, context="west"))
    crons = (
        replace(two.cronjob, context="east"),
        replace(two.cronjob, context="west", rotation_duration_seconds=300),
    )
    both = replace(two, contexts=("east", "west"), secrets=(west,), cronjobs=crons)
    words, _ = secret_phase_words(both, fx.NOW, secret=west)
    assert words.endswith("41 s of 300 s"), words


def test_banners_for_empty_and_failing_states() -> None:
    assert banner_for(ViewState(snapshot=fx.steady())) is None
    assert "global.glooMtls.enabled=true" in banner_for(ViewState(snapshot=fx.no_mtls())).text  # type: ignore[union-attr]
    assert "No Gloo in namespace" in banner_for(ViewState(snapshot=fx.no_gloo())).text  # type: ignore[union-attr]
    down = banner_for(ViewState(snapshot=fx.api_down()))
    assert down is not None and down.severity is Severity.CRITICAL and "showing the last data" in down.text


def test_notices_only_on_change() -> None:
    assert notices(None, fx.steady()) == []
    assert notices(fx.steady(), fx.steady()) == []
    changed = notices(fx.steady(), fx.lagging())
    assert ("secret phase steady → leaf-rotated", Severity.INFO) in changed
    (lag,) = fx.lagging().findings
    cleared = notices(fx.lagging(), fx.leaf_rotated())
    assert cleared == [(f"cleared: {lag.message}", Severity.INFO)]


def test_history_records_changes_and_pickup_lags() -> None:
    history = RotationHistory()
    for snapshot in fx.rotation_series():
        history.add_snapshot(snapshot)
    (timeline,) = history.timelines
    assert [change.phase.value for change in timeline.changes] == [
        "steady",
        "ca-added",
        "leaf-rotated",
        "steady",
    ]
    ca_added = timeline.changes[1]
    picked = timeline.pickup(f"{fx.CONTEXT}/{fx.NAMESPACE}/{fx.LAGGING_POD}", ca_added)
    assert picked is not None and picked - ca_added.at == timedelta(seconds=70)


def test_cells() -> None:
    assert keep_end("7d9f8b6c5-x2k4p", 11) == "…b6c5-x2k4p"
    assert time_left(fx.LEAF_EXPIRED, fx.NOW, PALETTE, HealthPolicy()).plain == "expired 3d ago"
    cell = bundle_cell(fx.LEAF_ROTATED[0], 1, PALETTE)
    assert cell.plain == f"2× {fx.CA_OLD.sha256[:6]} ◆{fx.CA_NEW.sha256[:6]}"  # type: ignore[index]
