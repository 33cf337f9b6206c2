"""MonitorSession and its parts once closed or stopped open nothing and fail in words; a failure reading
the cluster is recorded, not raised. No lab."""

from __future__ import annotations

from datetime import datetime

import pytest

from gloomon.domain.model import Component, SecretState
from gloomon.settings import DirectTarget, Settings
from gloomon.sources.admin.http import AdminConnection, AdminHttpError
from gloomon.sources.admin.poller import AdminPoller
from gloomon.sources.direct import direct_targets
from gloomon.sources.kube.client import ApiError
from gloomon.sources.logs import follow as logs
from gloomon.sources.session import MonitorSession, _Cluster
from tests.sources.stubs import T0, Connection, Core, Reader, forward_set, pod


async def test_reconciles_after_close_open_nothing() -> None:
    forwards = forward_set()
    await forwards.close()
    await forwards.reconcile({Component.GLOO: [pod("gloo-1")]})
    assert forwards.forwards == {}

    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    await log_set.close()
    log_set.reconcile("ctx", Core(), "gloo-system", [pod("gloo-1")])
    assert log_set._followers == {} and log_set._flusher is None


async def test_admin_get_on_a_closed_session_is_a_clean_error() -> None:
    connection = AdminConnection("http://127.0.0.1:9", timeout=1.0)
    await connection.aclose()
    with pytest.raises(AdminHttpError) as caught:
        await connection.get("/ready")
    assert caught.value.kind == "closed"

    poller = AdminPoller(request_timeout=1.0, clock=lambda: T0)
    await poller.aclose()
    (ref,) = direct_targets([DirectTarget("gloo-1", Component.GLOO, "http://127.0.0.1:9")], "ns")
    fetch = await poller.fetch(ref)
    assert fetch.error == "monitoring stopped" and poller._connections == {}


async def test_poll_after_stop_opens_nothing() -> None:
    session = MonitorSession(
        Settings(targets=(DirectTarget("gloo-1", Component.GLOO, "http://127.0.0.1:9"),))
    )
    await session.start()
    await session.stop()
    snapshot = await session.poll_once()
    assert snapshot.errors == ("monitoring stopped",)
    assert session._admin._connections == {}


class _StateReader(Reader):
    """A reader with no CronJob and no components: a test overrides how the secrets read."""

    async def read_cronjob(self) -> None:
        return None

    async def component_presence(self, pods: object) -> tuple[tuple[Component, ...], tuple[Component, ...]]:
        return (), ()


async def test_unexpected_failure_reading_cluster_state_is_recorded() -> None:
    class FailingReader(_StateReader):
        async def read_secrets(self, now: datetime, pods: object) -> list[tuple[str, BaseException]]:
            return [("gloo-system", ValueError("odd answer"))]

    session = MonitorSession(Settings())
    cluster = _Cluster(Connection(), FailingReader(), forward_set())  # type: ignore[arg-type]
    await session._read_state(cluster)
    assert cluster.error == "reading cluster state: ValueError: odd answer"


async def test_a_secret_read_failing_in_one_namespace_leaves_the_others_observed() -> None:
    """A kube-gateway's namespace answers 500 for its copy: that copy is not observed this poll (the
    snapshot keeps its last content), the release namespace's is read, and the error is recorded."""
    read = SecretState("ctx", "gloo-system", read_at=T0, resource_version="7")

    class OneNamespaceFails(_StateReader):
        async def read_secrets(self, now: datetime, pods: object) -> list[tuple[str, object]]:
            return [("gloo-system", read), ("apps", ApiError(500, "secret gloo-mtls-certs in apps: 500"))]

    session = MonitorSession(Settings())
    cluster = _Cluster(Connection(), OneNamespaceFails(), forward_set())  # type: ignore[arg-type]
    await session._read_state(cluster)
    assert cluster.secrets[0] is read
    assert (cluster.secrets[1].namespace, cluster.secrets[1].observed) == ("apps", False)
    assert cluster.error == "secret gloo-mtls-certs in apps: 500" and not cluster.api_down


@pytest.mark.parametrize("status", [0, 403, 500, 503])
async def test_any_failed_pod_list_marks_the_context_api_down(status: int) -> None:
    """Not only a refused connection: a pod list the API answers with an error hides the Envoys too."""

    class FailingPods(Reader):
        async def all_pods(self) -> None:
            raise ApiError(status, f"pods: answered {status}")

    session = MonitorSession(Settings())
    cluster = _Cluster(Connection(), FailingPods(), forward_set())  # type: ignore[arg-type]
    await session._discover(cluster)
    assert cluster.api_down and cluster.error == f"pods: answered {status}"
