"""Which Gloo runs, from its pods' images, and what that changes in the judgement (real-clusters.md §4)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.model import PodInfo
from gloomon.domain.parse.gloo_version import gloo_release
from tests.domain.certs import rotation
from tests.domain.fleet_helpers import CRON, codes, fetch, secret, snap

Q = "quay.io/solo-io"


@pytest.mark.parametrize(
    ("image", "version", "enterprise", "variants", "label"),
    [
        (f"{Q}/gloo:1.18.0", (1, 18, 0), False, (), "Gloo 1.18.0"),
        (f"{Q}/gloo:v1.17.4", (1, 17, 4), False, (), "Gloo 1.17.4"),
        (f"{Q}/sds:1.17.4-fips", (1, 17, 4), False, ("fips",), "Gloo 1.17.4 fips"),
        (f"{Q}/certgen:1.16.2-distroless", (1, 16, 2), False, ("distroless",), "Gloo 1.16.2 distroless"),
        (f"{Q}/gloo-envoy-wrapper:1.17.0-fips-distroless", (1, 17, 0), False, ("fips", "distroless"), None),
        (f"{Q}/gloo-ee-envoy-wrapper:1.16.2", (1, 16, 2), True, (), "Gloo EE 1.16.2"),
        (f"{Q}/sds-ee:1.18.3", (1, 18, 3), True, (), "Gloo EE 1.18.3"),
        (f"{Q}/gloo-ee:1.17.0-fips", (1, 17, 0), True, ("fips",), "Gloo EE 1.17.0 fips"),
        (f"{Q}/gloo-ee-fips:1.17.0", (1, 17, 0), True, ("fips",), "Gloo EE 1.17.0 fips"),
        (f"{Q}/gloo:1.19.0-beta5", (1, 19, 0), False, (), "Gloo 1.19.0-beta5"),
        ("registry.corp.local:5000/mirror/solo-io/gloo:1.14.29", (1, 14, 29), False, (), "Gloo 1.14.29"),
        (f"{Q}/gloo:1.18.0@sha256:{'a' * 64}", (1, 18, 0), False, (), "Gloo 1.18.0"),
        ("localhost:5000/gloo:1.15.13@sha256:00", (1, 15, 13), False, (), "Gloo 1.15.13"),
        (f"{Q}/gloo@sha256:{'b' * 64}", None, False, (), "Gloo (digest only)"),
        ("registry.local:5000/gloo", None, False, (), "Gloo (digest only)"),
        (f"{Q}/gloo:latest", None, False, (), "Gloo (tag latest)"),
        (f"{Q}/gloo:1.18", None, False, (), "Gloo (tag 1.18)"),
    ],
)
def test_gloo_images_name_their_release(image, version, enterprise, variants, label) -> None:  # type: ignore[no-untyped-def]
    release = gloo_release([image])
    assert release is not None
    assert (release.version, release.enterprise, release.variants) == (version, enterprise, variants)
    if label is not None:
        assert release.label == label


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.25.3",
        f"{Q}/extauth-ee:1.18.0",  # the EE extauth server: not one the release is read from
        "docker.io/library/gloo-helper:1.0.0",
        "",
        " ",
        f"{Q}/gloo:1.18.0\x1b[31m",
        f"{Q}/gloo: 1.18.0",
        "x" * 600,
    ],
)
def test_other_and_hostile_references_are_no_release(image: str) -> None:
    assert gloo_release([image]) is None


@given(st.text(max_size=200))
def test_any_text_parses_or_is_none(text: str) -> None:
    release = gloo_release([text])
    assert release is None or release.label.isprintable()


def test_the_gloo_container_wins_over_sds_envoy_and_certgen() -> None:
    images = [f"{Q}/certgen:1.15.3", f"{Q}/gloo-envoy-wrapper:1.16.1", f"{Q}/sds:1.16.1", f"{Q}/gloo:1.16.2"]
    assert gloo_release(images).version == (1, 16, 2)  # type: ignore[union-attr]
    assert gloo_release(images[:3]).version == (1, 16, 1)  # type: ignore[union-attr]
    assert gloo_release([f"{Q}/gloo:latest", f"{Q}/sds:1.17.2"]).version == (1, 17, 2)  # type: ignore[union-attr]
    assert gloo_release(["nginx:1.0.0"]) is None and gloo_release([]) is None


def _judged(*images: str, cron: bool = True):  # type: ignore[no-untyped-def]
    rot = rotation()
    leaf, cas = rot.leaf_new.info, [rot.ca_new.info]
    gloo = fetch("gloo-1", leaf, cas)
    pod = PodInfo("gloo-1", "gloo-system", gloo.target.component, "Running", True, 0, images=images)
    gloo = replace(gloo, target=replace(gloo.target, pod_info=pod))
    return snap([gloo], [secret(leaf, cas)], cronjob=CRON if cron else None)


RELEASE_CODES = {"certgen-single-write", "certgen-no-renew-before", "gloo-version-unknown"}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("1.14.5", {"certgen-single-write": "warning", "certgen-no-renew-before": "info"}),
        ("1.14.29", {"certgen-single-write": "warning", "certgen-no-renew-before": "info"}),
        ("1.14.30", {"certgen-single-write": "warning"}),
        ("1.15.12", {"certgen-single-write": "warning", "certgen-no-renew-before": "info"}),
        ("1.15.13", {}),
        ("1.16.0", {}),
        ("1.16.0-beta3", {}),
        ("1.18.0", {}),
        ("1.22.4", {}),
        ("1.13.0-fips", {"certgen-single-write": "warning", "certgen-no-renew-before": "info"}),
        ("1.23.0", {"gloo-version-unknown": "info"}),  # future: judged as the newest known, said once
        ("2.0.0", {"gloo-version-unknown": "info"}),
        ("latest", {"gloo-version-unknown": "info"}),
    ],
)
def test_judged_by_the_release(tag: str, expected: dict[str, str]) -> None:
    result = _judged(f"{Q}/gloo-envoy-wrapper:{tag}", f"{Q}/sds:{tag}", f"{Q}/gloo:{tag}")
    found = {code: [severity for severity, _ in pods] for code, pods in codes(result).items()}
    assert {code: severities for code, severities in found.items() if code in RELEASE_CODES} == {
        code: [severity] for code, severity in expected.items()
    }


def test_single_write_is_info_without_a_cronjob_and_the_hint_is_the_upgrade() -> None:
    result = _judged(f"{Q}/gloo:1.15.2", cron=False)
    (finding,) = [f for f in result.findings if f.code == "certgen-single-write"]
    assert finding.severity.value == "info" and "1.15.13" in finding.hint and "1.16.0" in finding.hint
    assert "one write" in finding.message and "Gloo 1.15.2" in finding.message


def test_the_release_reaches_the_snapshot_and_json_and_is_carried() -> None:
    result = _judged(f"{Q}/sds-ee:1.17.4-fips", f"{Q}/gloo-ee:1.17.4-fips")
    assert result.gloo_release is not None and result.gloo_release.label == "Gloo EE 1.17.4 fips"
    assert snapshot_to_dict(result)["gloo_version"] == {
        "version": "1.17.4",
        "enterprise": True,
        "variants": ["fips"],
        "image": f"{Q}/gloo-ee:1.17.4-fips",
    }
    rot = rotation()
    later = snap([fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info])], previous=result)
    assert later.gloo_release == result.gloo_release
    assert snapshot_to_dict(snap([fetch("gloo-1", None, [])]))["gloo_version"] is None  # --target
