"""Nothing crashes past the domain boundary: random admin bodies, parsed, go through build_snapshot (twice,
so carried state is exercised) and export.snapshot_to_dict; absurd uptimes and cron schedules included."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import AdminFetch, Component, CronJobState, SecretState, ServerInfo, TrustBundle
from gloomon.domain.parse.cron import longest_interval_seconds, next_run, shortest_interval_seconds
from gloomon.domain.parse.envoy import (
    parse_certs,
    parse_clusters,
    parse_secrets_dump,
    parse_server_info,
    parse_stats,
)
from gloomon.domain.parse.x509 import parse_pem_bundle
from tests.domain.certs import NOW
from tests.domain.fleet_helpers import CTX, NS, ref, snap
from tests.domain.strategies import json_values

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("certs", "secrets_active", "clusters", "stats", "server_info")
SAMPLES = {
    kind: sorted(
        p.read_bytes() for p in FIXTURES.glob(f"envoy140_*_{kind}.*") if p.suffix in (".json", ".txt")
    )
    for kind in KINDS
}
PEM = (FIXTURES / "envoy140_certs.pem").read_bytes()

durations = st.builds(
    lambda n, unit: f"{n}{unit}",
    st.integers(min_value=-5, max_value=10**15),
    st.sampled_from(["s", "m", "h", "d", "w", ""]),
)
schedules = st.one_of(
    st.sampled_from(
        ["* * * * *", "0 0 1 * *", "@monthly", "0,1 0 * * *", "0 0 31 2 *", "@every 99999999999d"]
    ),
    st.builds(lambda d: f"@every {d}", durations),
    st.lists(
        st.sampled_from(["*", "*/7", "0", "1-5", "0,30", "59", "31", "2", "jan", "mon-fri", "60", "x"]),
        min_size=5,
        max_size=5,
    ).map(" ".join),
    st.text(max_size=30),
)


def body(kind: str) -> st.SearchStrategy[bytes]:
    """A real body, a real body cut short, or random JSON (with an uptime for /server_info)."""
    real = st.sampled_from(SAMPLES[kind])
    cut = real.flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n]))
    random = json_values.map(lambda v: json.dumps(v).encode())
    uptime = st.builds(
        lambda d, state: json.dumps({"version": "x/1.40.0/Clean", "state": state, "uptime_current_epoch": d}),
        durations,
        st.sampled_from(["LIVE", "DRAINING", "weird"]),
    ).map(str.encode)
    options = [real, cut, random] + ([uptime] if kind == "server_info" else [])
    return st.one_of(*options)


@st.composite
def fetches(draw: st.DrawFn, pod: str) -> AdminFetch:
    at = NOW + timedelta(seconds=draw(st.integers(0, 600)))
    return AdminFetch(
        ref(pod),
        at,
        0.01,
        server=parse_server_info(draw(body("server_info"))),
        certs=parse_certs(draw(body("certs"))),
        secrets=parse_secrets_dump(draw(body("secrets_active"))),
        clusters=parse_clusters(draw(body("clusters"))),
        stats=parse_stats(draw(body("stats"))),
    )


@st.composite
def secrets(draw: st.DrawFn) -> SecretState:
    parsed = parse_pem_bundle(draw(st.sampled_from([PEM, PEM[: len(PEM) // 2], b"junk"])))
    certs = parsed if isinstance(parsed, tuple) else ()
    leaf = next((c for c in certs if not c.is_ca), None)
    cas = tuple(c for c in certs if c.is_ca)
    updated = draw(st.none() | st.integers(-(10**6), 10**6).map(lambda s: NOW + timedelta(seconds=s)))
    return SecretState(CTX, NS, bundle=TrustBundle(cas) if cas else None, leaf=leaf, updated_at=updated)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["gloo-1", "gateway-proxy-1", "extauth-1"]), min_size=1, max_size=3, unique=True
    ),
    st.data(),
    schedules,
    st.one_of(st.none(), st.floats(min_value=1, max_value=1e9)),
)
def test_snapshot_of_random_bodies(
    pods: list[str], data: st.DataObject, schedule: str, rd: float | None
) -> None:
    cron = CronJobState("gloo-mtls-certgen-cronjob", schedule, False, rotation_duration_seconds=rd)
    previous = None
    for poll in range(2):
        polled = [data.draw(fetches(pod)) for pod in pods]
        state = [data.draw(secrets())]
        at = NOW + timedelta(seconds=600 * (poll + 1))
        previous = build_snapshot(
            taken_at=at,
            namespace=NS,
            contexts=[CTX],
            fetches=polled,
            secrets=state,
            cronjob=cron,
            policy=HealthPolicy(),
            previous=previous,
        )
        document = snapshot_to_dict(previous)
        assert json.loads(json.dumps(document))["schema"] == 1


@SETTINGS
@given(schedules)
def test_random_cron_schedules(schedule: str) -> None:
    for after in (NOW, NOW.replace(year=9999, month=12, day=31)):
        assert next_run(schedule, after) is None or next_run(schedule, after) > after  # type: ignore[operator]
    longest_interval_seconds(schedule)
    shortest_interval_seconds(schedule)


def test_absurd_uptime_and_every() -> None:
    """These raised OverflowError from timedelta before."""
    info = parse_server_info(
        b'{"version": "x/1.40.0/Clean", "state": "LIVE", "uptime_current_epoch": "9e15s"}'
    )
    assert isinstance(info, ServerInfo) and info.uptime_seconds is None and info.state == "LIVE"
    assert next_run("@every 99999999999d", NOW) is None
    base = AdminFetch(ref("gloo-1"), NOW, 0.01, server=ServerInfo("1.40.0", None, "LIVE", 1e20))
    result = snap([base], [])
    assert result.targets[0].envoy_started_at is None
    assert result.targets[0].ref.component is Component.GLOO
    snapshot_to_dict(result)
