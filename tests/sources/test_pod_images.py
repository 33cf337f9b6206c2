"""The pod list gives each pod's container images (what the Gloo release is read from), defensively."""

from __future__ import annotations

from gloomon.domain.model import Component
from gloomon.sources.kube.objects import pod_info


def test_images_in_spec_order_and_odd_entries_skipped() -> None:
    obj = {
        "metadata": {"name": "gloo-1", "namespace": "gloo-system"},
        "spec": {
            "containers": [
                {"name": "envoy-sidecar", "image": "quay.io/solo-io/gloo-envoy-wrapper:1.18.0"},
                {"name": "sds", "image": 42},
                {"name": "gloo", "image": "quay.io/solo-io/gloo:1.18.0"},
                "not a container",
                {"name": "no-image"},
            ]
        },
    }
    info = pod_info(obj, Component.GLOO)
    assert info.images == ("quay.io/solo-io/gloo-envoy-wrapper:1.18.0", "quay.io/solo-io/gloo:1.18.0")
    assert info.containers == ("envoy-sidecar", "sds", "gloo", "no-image")
    assert pod_info({"spec": {"containers": "x"}}, None).images == ()
