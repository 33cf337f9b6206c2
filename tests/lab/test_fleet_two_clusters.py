"""A fleet of two independent clusters behind one merged kubeconfig, as real kubectl and Envoy see it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from gloomon.domain.model import Component
from gloomon.lab import LabFleet
from tests.conftest import QUICK_KUBELET
from tests.lab.probes import active_secrets, bundle_state, secret_state

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fleet() -> AsyncIterator[LabFleet]:
    async with LabFleet("two-clusters", kubelet_delay=QUICK_KUBELET) as running:
        yield running


async def run_kubectl(kubectl: Path, kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    """Real kubectl, without blocking the loop the labs' API servers run on."""
    process = await asyncio.create_subprocess_exec(
        str(kubectl),
        "--kubeconfig",
        str(kubeconfig),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_merged_kubeconfig_names_both_clusters_each_with_its_own_server_and_token(
    fleet: LabFleet,
) -> None:
    config = yaml.safe_load(fleet.kubeconfig_path.read_text())
    contexts = {c["name"]: c["context"] for c in config["contexts"]}
    assert set(contexts) == {"east", "west"} == set(fleet.labs)
    servers = {c["name"]: c["cluster"]["server"] for c in config["clusters"]}
    tokens = {u["name"]: u["user"]["token"] for u in config["users"]}
    for name, context in contexts.items():
        lab = fleet.labs[name]
        assert servers[context["cluster"]] == lab.api_url
        assert tokens[context["user"]] == lab.token
    assert servers["east"] != servers["west"] and tokens["east-user"] != tokens["west-user"]


async def test_kubectl_sees_each_clusters_own_pods(fleet: LabFleet, kubectl: Path) -> None:
    for context, lab in fleet.labs.items():
        code, out, err = await run_kubectl(
            kubectl,
            fleet.kubeconfig_path,
            "--context",
            context,
            "get",
            "pods",
            "-n",
            "gloo-system",
            "-o",
            "name",
        )
        assert code == 0, err
        assert sorted(out.split()) == sorted(f"pod/{p}" for p in lab.pods()), context
        assert len(lab.pods(Component.GLOO)) == 1


async def test_through_the_exec_plugin_kubeconfig_each_cluster_shows_its_own_ca(
    fleet: LabFleet, kubectl: Path
) -> None:
    cas = {}
    for context, lab in fleet.labs.items():
        code, out, err = await run_kubectl(
            kubectl,
            fleet.exec_kubeconfig_path,
            "--context",
            context,
            "get",
            "secret",
            "gloo-mtls-certs",
            "-o",
            r"jsonpath={.data.ca\.crt}",
        )
        assert code == 0, err
        cas[context] = base64.b64decode(out)
        assert cas[context] == lab.store.secret.data.ca_crt  # type: ignore[union-attr]
    assert cas["east"] != cas["west"]


async def test_each_cluster_has_its_own_ca_and_its_envoys_hold_it(fleet: LabFleet) -> None:
    east, west = fleet.labs["east"], fleet.labs["west"]
    assert secret_state(east)[0] != secret_state(west)[0]  # CA serials
    for lab in (east, west):
        for pod in lab.pods():
            assert bundle_state(await active_secrets(lab, pod)) == secret_state(lab), pod
