"""``gloomon check`` against the variety lab, whose kube-gateway runs in its Gateway's namespace ``apps`` on
the copy of ``gloo-mtls-certs`` gloo's Gateway deployer renders there: each target is compared with its
own namespace's copy, and a copy that is missing or does not follow certgen's writes (gloo's process
down: nothing renders it) is the copy's finding, naming ``apps``, gloo's deployer and that cause."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from rich.console import Console

from gloomon import report
from gloomon.domain.model import Component, FleetSnapshot, Severity
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession
from tests.conftest import Eventually
from tests.e2e.test_bundle import gloomon_bundle, key_forms, leaks, members
from tests.e2e.test_check import gloomon_check

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
NS, APPS = "gloo-system", "apps"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", NS, variety=True, rotation_duration=1.0) as running:
        yield running


def _settings(lab: Lab, **extra: object) -> Settings:
    return Settings(
        kubeconfig=str(lab.kubeconfig_path),
        contexts=(lab.context,),
        namespace=NS,
        **extra,  # type: ignore[arg-type]
    )


async def _poll(lab: Lab, **extra: object) -> FleetSnapshot:
    async with MonitorSession(_settings(lab, **extra)) as session:
        return await session.poll_once()


def _loud(snapshot: FleetSnapshot) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]


async def test_healthy_check_of_both_namespaces_exits_0_without_a_warning(lab: Lab) -> None:
    code, out, err = await gloomon_check(
        "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "-n", NS, "-n", APPS, "-o", "json"
    )
    doc = json.loads(out)
    loud = [(f["code"], f["message"]) for f in doc["findings"] if f["severity"] in ("warning", "critical")]
    assert (code, loud) == (0, []), err
    secrets = {s["namespace"]: s for s in doc["secrets"]}
    assert set(secrets) == {NS, APPS}
    assert secrets[APPS]["copied_by"] == "gloo's Gateway deployer, for Gateway apps/http"
    assert secrets[APPS]["leaf"]["serial"] == secrets[NS]["leaf"]["serial"]
    (gateway,) = [t for t in doc["targets"] if t["component"] == "kube-gateway"]
    assert (gateway["namespace"], gateway["secret_namespace"]) == (APPS, APPS)
    assert gateway["in_sync_with_secret"] is True and gateway["copy_behind_seconds"] is None
    assert {t["secret_namespace"] for t in doc["targets"] if t["component"] != "kube-gateway"} == {NS}


async def test_all_namespaces_reads_the_copy_where_the_kube_gateway_was_found(lab: Lab) -> None:
    snapshot = await _poll(lab, all_namespaces=True)
    assert [(s.state.namespace, s.state.observed) for s in snapshot.secrets] == [(NS, True), (APPS, True)]
    assert _loud(snapshot) == []


async def test_a_403_on_the_apps_copy_degrades_apps_only_and_keeps_its_last_content(lab: Lab) -> None:
    """RBAC without a RoleBinding in apps: its copy is secret-forbidden, compared as last read (the
    session read it once); gloo-system's secret is read as before, and no lag or copy finding appears."""
    async with MonitorSession(_settings(lab, extra_namespaces=(APPS,))) as session:
        before = await session.poll_once()
        lab.forbid_secrets(True, namespace=APPS)
        try:
            after = await session.poll_once()
        finally:
            lab.forbid_secrets(False, namespace=APPS)
    copy, source = after.secret_for(lab.context, APPS), after.secret_for(lab.context, NS)
    assert copy is not None and source is not None
    assert (copy.state.forbidden, copy.state.observed) == (True, False)
    assert (
        copy.state.leaf == before.secrets[1].state.leaf
        and copy.content_since == before.secrets[1].content_since
    )
    assert source.state.observed and not source.state.forbidden
    (forbidden,) = [f for f in after.findings if f.code == "secret-forbidden"]
    assert forbidden.namespace == APPS and "as last read" in forbidden.message
    (gateway,) = [t for t in after.targets if t.ref.component is Component.KUBE_GATEWAY]
    assert gateway.in_sync_with_secret is True and gateway.lag_seconds is None
    assert {f.code for f in after.findings} & {
        "secret-copy-stale",
        "secret-copy-missing",
        "target-lagging",
    } == set()


async def test_a_removed_copy_is_secret_copy_missing_for_apps(lab: Lab, eventually: Eventually) -> None:
    """gloo's process down, the removed copy stays missing: the finding names gloo's deployer (from the
    kube-gateway that mounts it) and gloo's process down as the cause; gloo back, the copy is back."""
    await lab.gloo_process_down()
    try:
        lab.deployers[APPS].remove_copy()
        async with MonitorSession(_settings(lab, extra_namespaces=(APPS,))) as session:
            snapshot = await eventually(
                session.poll_once,
                lambda s: any(f.code == "gloo-process-down" for f in s.findings),
                what="gloo's process down, seen",
            )
    finally:
        await lab.gloo_process_down(False)
    (missing,) = [f for f in snapshot.findings if f.code == "secret-copy-missing"]
    assert missing.namespace == APPS and f"namespace {APPS}" in missing.message
    assert missing.severity is Severity.CRITICAL and "gloo's Gateway deployer" in missing.hint
    assert "gloo's process is down (gloo-process-down)" in missing.message
    assert f"kubectl -n {NS} rollout restart deploy/gloo" in missing.hint
    assert "secret-missing" not in {f.code for f in snapshot.findings}
    assert report.exit_code(snapshot, "warning") == 2
    assert "secret-copy-missing" not in {
        f.code for f in (await _poll(lab, extra_namespaces=(APPS,))).findings
    }


async def test_a_frozen_copy_through_a_rotation_is_the_copys_finding(
    lab: Lab, eventually: Eventually
) -> None:
    """certgen rotates while gloo's process is down, so nothing renders the apps copy: gloo-system's pods
    follow, the apps copy and the kube-gateway's Envoy keep the old certificates. The copy is the
    finding, naming apps and gloo's deployer; the kube-gateway's row says its copy lags, and no
    target-lagging blames the pod."""
    await lab.gloo_process_down()
    try:
        await (await lab.rotate_now())

        async def rotated() -> FleetSnapshot:
            return await _poll(lab, extra_namespaces=(APPS,))

        snapshot = await eventually(
            rotated,
            lambda s: (
                all(t.in_sync_with_secret for t in s.targets if t.ref.namespace == NS)
                and any(f.code == "secret-copy-stale" for f in s.findings)
            ),
            what="gloo-system's pods on the new secret, the apps copy behind",
        )
    finally:
        await lab.gloo_process_down(False)
    (stale,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert stale.namespace == APPS and f"namespace {APPS}" in stale.message
    assert "(rendered by gloo's Gateway deployer, for Gateway apps/http)" in stale.message
    assert f"kubectl -n {NS} logs deploy/gloo -c gloo" in stale.hint
    (gateway,) = [t for t in snapshot.targets if t.ref.component is Component.KUBE_GATEWAY]
    assert gateway.secret_namespace == APPS and gateway.in_sync_with_secret is True
    assert gateway.copy_behind_seconds is not None and gateway.copy_behind_seconds > 0
    assert gateway.ref.pod in stale.subjects.pods
    lagging = [f for f in snapshot.findings if f.code == "target-lagging" and f.pod == gateway.ref.pod]
    assert lagging == []
    console = Console(file=io.StringIO(), width=200, no_color=True)
    console.print(report.render_table(snapshot))
    lines = console.file.getvalue().splitlines()
    assert any("copy lags" in line for line in lines if "kube-gateway" in line)


async def test_the_bundle_keeps_the_apps_copys_metadata_and_never_its_key(lab: Lab, tmp_path: Path) -> None:
    code, _, err = await gloomon_bundle(
        "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "-n", NS, "-n", APPS,
        "--output", "b.tar.gz", cwd=tmp_path,
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    files = members(tmp_path / "b.tar.gz")
    copy = yaml.safe_load(files[f"kubernetes/{lab.context}/secret-gloo-mtls-certs-{APPS}.yaml"])
    secret = lab.deployers[APPS].target.secret
    assert secret is not None
    assert (copy["metadata"]["namespace"], copy["metadata"]["uid"]) == (APPS, secret.uid)
    assert [k["key"] for k in copy["keys"]] == ["ca.crt", "tls.crt", "tls.key"]
    assert leaks(files, [b"PRIVATE KEY", *key_forms(secret.data.tls_key)]) == []
