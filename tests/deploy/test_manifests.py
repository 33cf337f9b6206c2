"""``deploy/`` renders with kustomize, every object is valid, and the pieces fit together: the Service
selects the pod, Prometheus scrapes the port the container serves, the pod runs hardened, and its command
line is one ``gloomon serve`` accepts. No lab.

Built-in kinds are validated with the ``kubernetes`` client's models (pydantic, generated from the API's
OpenAPI schema: required fields, types, no unknown fields); ``kubectl apply --dry-run=client`` would need
a server that knows every kind, which the lab's API façade does not serve. The two Prometheus Operator
kinds are checked for the fields their CRDs require.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes import client
from pydantic import ValidationError

from gloomon.cli import build_parser

MODELS = {
    "ServiceAccount": client.V1ServiceAccount,
    "Role": client.V1Role,
    "RoleBinding": client.V1RoleBinding,
    "ClusterRole": client.V1ClusterRole,
    "ClusterRoleBinding": client.V1ClusterRoleBinding,
    "Deployment": client.V1Deployment,
    "Service": client.V1Service,
    "NetworkPolicy": client.V1NetworkPolicy,
}
CUSTOM = {"ServiceMonitor", "PrometheusRule"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}
NAMESPACE = "gloo-system"


def _container(by_kind: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (container,) = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_kustomize_renders_each_kind_once_in_the_gloo_namespace(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(obj["kind"] for obj in rendered)
    assert kinds == sorted({*MODELS, *CUSTOM})
    assert {obj["metadata"].get("namespace") for obj in rendered if obj["kind"] not in CLUSTER_SCOPED} == {
        NAMESPACE
    }
    assert all("namespace" not in obj["metadata"] for obj in rendered if obj["kind"] in CLUSTER_SCOPED)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_built_in_objects_validate_against_the_api_schema(kind: str, by_kind: dict[str, Any]) -> None:
    MODELS[kind].model_validate(by_kind[kind])


def test_the_schema_check_rejects_a_misspelt_field(by_kind: dict[str, Any]) -> None:
    broken = copy.deepcopy(by_kind["Deployment"])
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinessprobe"] = container.pop("readinessProbe")
    with pytest.raises(ValidationError, match="readinessprobe"):
        client.V1Deployment.model_validate(broken)


def test_custom_resources_carry_what_their_crds_require(by_kind: dict[str, Any]) -> None:
    monitor, rule = by_kind["ServiceMonitor"], by_kind["PrometheusRule"]
    for obj in (monitor, rule):
        assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["metadata"]["name"]
    assert monitor["spec"]["endpoints"] and all("port" in e for e in monitor["spec"]["endpoints"])
    groups = rule["spec"]["groups"]
    assert groups and all(g["name"] and g["rules"] for g in groups)
    for group in groups:
        for item in group["rules"]:
            assert item["expr"] and ("alert" in item) != ("record" in item), item


def test_service_and_service_monitor_reach_the_container_port(by_kind: dict[str, Any]) -> None:
    service, monitor = by_kind["Service"], by_kind["ServiceMonitor"]
    pod_labels = by_kind["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (port,) = _container(by_kind)["ports"]
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [service_port["name"]]


def test_network_policy_admits_only_prometheus_to_the_metrics_port(by_kind: dict[str, Any]) -> None:
    policy = by_kind["NetworkPolicy"]["spec"]
    pod_labels = by_kind["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [_container(by_kind)["ports"][0]["name"]]
    (peer,) = ingress["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    (egress,) = policy["egress"]
    assert sorted(p["port"] for p in egress["ports"]) == [443, 6443]


def test_the_pod_runs_hardened(by_kind: dict[str, Any]) -> None:
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    container = _container(by_kind)
    assert pod["serviceAccountName"] == by_kind["ServiceAccount"]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    for profile in (pod["securityContext"], context):
        assert profile["seccompProfile"] == {"type": "RuntimeDefault"}
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][bound].keys()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_the_container_command_is_one_gloomon_serve_accepts(by_kind: dict[str, Any]) -> None:
    args = build_parser().parse_args(_container(by_kind)["args"])
    assert args.command == "serve" and args.listen == "0.0.0.0:9745" and args.namespace == [NAMESPACE]
    assert _container(by_kind)["ports"][0]["containerPort"] == 9745


def test_the_role_reads_secrets_only_by_name(by_kind: dict[str, Any]) -> None:
    rules = by_kind["Role"]["rules"]
    secret_rules = [r for r in rules if "secrets" in r["resources"] or "*" in r["resources"]]
    assert secret_rules, "the Role grants nothing on secrets"
    for rule in secret_rules:
        assert rule["resources"] == ["secrets"] and rule["verbs"] == ["get"] and rule["resourceNames"]
    assert all("*" not in r["verbs"] and "*" not in r["apiGroups"] for r in rules)
    binding = by_kind["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": by_kind["Role"]["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": by_kind["ServiceAccount"]["metadata"]["name"],
            "namespace": NAMESPACE,
        }
    ]


def test_the_cluster_role_reads_only_gloos_webhook_configuration_by_name(by_kind: dict[str, Any]) -> None:
    (rule,) = by_kind["ClusterRole"]["rules"]
    assert rule == {
        "apiGroups": ["admissionregistration.k8s.io"],
        "resources": ["validatingwebhookconfigurations"],
        "resourceNames": [f"gloo-gateway-validation-webhook-{NAMESPACE}"],
        "verbs": ["get"],
    }
    binding = by_kind["ClusterRoleBinding"]
    assert binding["roleRef"]["kind"] == "ClusterRole"
    assert binding["roleRef"]["name"] == by_kind["ClusterRole"]["metadata"]["name"]
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": by_kind["ServiceAccount"]["metadata"]["name"],
            "namespace": NAMESPACE,
        }
    ]
