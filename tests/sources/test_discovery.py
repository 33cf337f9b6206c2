"""Discovery, port-forward, secret and direct targets against one healthy lab (real Envoys, real TLS)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from gloomon.domain.model import (
    CertsReport,
    ClustersReport,
    Component,
    EnvoyStats,
    ForwardStatus,
    LogBatch,
    SecretsDump,
    ServerInfo,
)
from gloomon.lab import Lab
from gloomon.settings import DirectTarget, Settings
from gloomon.sources.errors import SourceError
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.lab]


@pytest.fixture(scope="module")
def lab(healthy_lab: Lab) -> Lab:
    """The session's healthy lab: these tests only read it."""
    return healthy_lab


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(lab: Lab, lab_settings: Callable[..., Settings]) -> AsyncIterator[MonitorSession]:
    async with MonitorSession(lab_settings(lab)) as running:
        yield running


async def test_discovery_finds_every_pod_of_every_component(lab: Lab, session: MonitorSession) -> None:
    targets = session.targets()
    assert sorted(ref.pod for ref in targets) == sorted(lab.pods())
    by_component = {c: [ref.pod for ref in targets if ref.component is c] for c in Component}
    assert len(by_component[Component.GATEWAY_PROXY]) == 2
    # the healthy lab installs no Gateway API proxy (the variety lab does: tests/lab/test_proxy_variety.py)
    assert all(by_component[c] for c in Component if c is not Component.KUBE_GATEWAY)
    assert all(ref.context == lab.context and ref.namespace == lab.namespace for ref in targets)


async def test_port_forward_serves_certs_on_a_loopback_address(session: MonitorSession) -> None:
    for ref in session.targets():
        assert ref.admin_url is not None and ref.admin_url.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client,
            client.get(f"{ref.admin_url}/certs") as response,
        ):
            assert response.status == 200
            assert "certificates" in await response.json(content_type=None)


async def test_poll_once_reaches_every_target_and_reads_the_secret(session: MonitorSession) -> None:
    snapshot = await session.poll_once()
    assert snapshot.errors == ()
    assert len(snapshot.targets) == 5
    assert all(target.reachable for target in snapshot.targets), [t.fetch for t in snapshot.targets]
    assert all(
        t.ref.forward is not None and t.ref.forward.status is ForwardStatus.UP for t in snapshot.targets
    )
    assert all(t.envoy_version for t in snapshot.targets)
    secret = snapshot.secret
    assert secret is not None and secret.state.bundle is not None and secret.state.leaf is not None
    assert snapshot.cronjob is not None and snapshot.cronjob.rotation_duration_seconds == 65.0
    assert snapshot.missing_components == ()
    assert snapshot.timings.slowest_target_seconds > 0 and len(snapshot.timings.per_target) == 5


async def test_no_private_key_anywhere_in_session_state(
    lab: Lab, session: MonitorSession, key_leaks: Callable[..., list[str]]
) -> None:
    snapshot = await session.poll_once()
    assert lab.store.secret is not None
    key = lab.store.secret.data.tls_key  # neither its PEM body nor the API's base64 of it, anywhere
    assert key_leaks((snapshot, session), keys=(key,)) == []


async def test_direct_targets_are_polled_without_kubernetes(
    lab: Lab, lab_settings: Callable[..., Settings]
) -> None:
    pods = lab.pods()
    components = {pod: next(c for c in Component if pod.startswith(f"{c}-")) for pod in pods}
    targets = tuple(DirectTarget(pod, components[pod], lab.admin_url(pod)) for pod in pods)
    async with MonitorSession(lab_settings(lab, targets=targets)) as direct:
        snapshot = await direct.poll_once()
    assert sorted(t.ref.pod for t in snapshot.targets) == sorted(pods)
    assert all(t.reachable for t in snapshot.targets)
    assert all(
        t.ref.forward is not None and t.ref.forward.status is ForwardStatus.DIRECT for t in snapshot.targets
    )
    assert snapshot.secrets == ()


async def test_direct_target_credentials_are_used_but_never_shown_or_exported(
    lab: Lab, lab_settings: Callable[..., Settings]
) -> None:
    import json

    from gloomon.domain.export import snapshot_to_dict

    pod = lab.pods(Component.GLOO)[0]
    url = lab.admin_url(pod).replace("://", "://watcher:s3cr3t@", 1)
    settings = lab_settings(lab, targets=(DirectTarget(pod, Component.GLOO, url),))
    async with MonitorSession(settings) as direct:
        snapshot = await direct.poll_once()
    (target,) = snapshot.targets
    assert target.reachable
    assert target.ref.admin_url == lab.admin_url(pod).rstrip("/")
    assert target.ref.forward is not None and "@" not in (target.ref.forward.local_address or "")
    assert "s3cr3t" not in json.dumps(snapshot_to_dict(snapshot), default=str)
    assert "s3cr3t" not in repr(snapshot)


async def test_unknown_context_is_a_clear_source_error(
    lab: Lab, lab_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(
        SourceError, match=r"^kubeconfig: context 'nope' not found \(contexts: gloomon-lab\)$"
    ):
        await MonitorSession(lab_settings(lab, contexts=("nope",))).start()


async def test_missing_namespace_is_a_clear_source_error(
    lab: Lab, lab_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(SourceError, match=r"^namespace nope not found"):
        await MonitorSession(lab_settings(lab, namespace="nope")).start()


async def test_unreachable_api_is_a_clear_source_error(
    lab: Lab, tmp_path: Path, lab_settings: Callable[..., Settings]
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(lab.kubeconfig_path, kubeconfig)
    text = kubeconfig.read_text().replace(lab.api_url, f"https://127.0.0.1:{closed_port}")
    kubeconfig.write_text(text)
    with pytest.raises(SourceError) as raised:
        await MonitorSession(lab_settings(lab, kubeconfig=str(kubeconfig))).start()
    assert (
        str(raised.value)
        == f"cannot reach the Kubernetes API at https://127.0.0.1:{closed_port}: connection refused"
    )


async def test_missing_kubeconfig_is_a_clear_source_error(
    lab: Lab, tmp_path: Path, lab_settings: Callable[..., Settings]
) -> None:
    with pytest.raises(SourceError, match=r"^kubeconfig: file not found: "):
        await MonitorSession(lab_settings(lab, kubeconfig=str(tmp_path / "absent"))).start()


async def test_every_admin_response_parses(session: MonitorSession) -> None:
    snapshot = await session.poll_once()
    for target in snapshot.targets:
        fetch = target.fetch
        assert fetch is not None and fetch.error is None
        assert isinstance(fetch.certs, CertsReport) and fetch.certs.delivered
        assert isinstance(fetch.secrets, SecretsDump)
        assert isinstance(fetch.clusters, ClustersReport)
        assert isinstance(fetch.stats, EnvoyStats) and fetch.stats.sds
        assert isinstance(fetch.server, ServerInfo) and fetch.server.state == "LIVE"


async def test_secret_updated_at_is_certgens_last_write(lab: Lab, session: MonitorSession) -> None:
    snapshot = await session.poll_once()
    assert snapshot.secret is not None and lab.store.secret is not None
    expected = lab.store.secret.updated.astimezone(UTC).replace(microsecond=0)  # metav1.Time: seconds
    assert snapshot.secret.state.updated_at == expected


async def test_steady_polls_ask_only_config_dump_clusters_and_stats(
    session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    """After the first poll, /certs, /ready and /server_info are not fetched again while nothing changes
    (``/ready`` only until Envoy's first stats flush gives ``server.state``)."""

    async def requests_per_target() -> float:
        before = session.admin_requests_sent
        snapshot = await session.poll_once()
        assert all(t.reachable for t in snapshot.targets)
        return (session.admin_requests_sent - before) / len(snapshot.targets)

    await eventually(requests_per_target, lambda n: n == 3, timeout=15, what="3 admin requests per target")
    snapshot = await session.poll_once()
    for target in snapshot.targets:  # the last /certs report and server info are still handed on
        assert target.fetch is not None and isinstance(target.fetch.certs, CertsReport)
        assert isinstance(target.fetch.server, ServerInfo) and target.fetch.server.state == "LIVE"
        assert target.fetch.server.version


async def test_stop_closes_listeners_and_streams(lab: Lab, lab_settings: Callable[..., Settings]) -> None:
    import asyncio

    session = MonitorSession(lab_settings(lab))
    await session.start()
    await session.poll_once()
    addresses = [ref.forward.local_address for ref in session.targets() if ref.forward]
    assert addresses and all(address and address.startswith("127.0.0.1:") for address in addresses)
    await session.stop()
    for address in addresses:
        assert address is not None
        host, port = address.rsplit(":", 1)
        with pytest.raises(OSError):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
    batches = [batch async for batch in session.log_batches()]  # ends at once: the session is stopped
    assert all(isinstance(batch, LogBatch) for batch in batches)
