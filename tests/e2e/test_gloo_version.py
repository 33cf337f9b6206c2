"""The Gloo release the lab's images carry reaches ``gloomon check -o json`` (through the real API)."""

from __future__ import annotations

import json

import pytest

from gloomon.lab import Lab
from gloomon.lab.pods.sds import GLOO_VERSION
from tests.e2e.test_check import gloomon_check, lab_args

pytestmark = pytest.mark.lab


@pytest.mark.asyncio(loop_scope="module")
async def test_check_json_names_the_labs_gloo_release(healthy_lab: Lab) -> None:
    code, out, err = await gloomon_check(*lab_args(healthy_lab), "-o", "json")
    report = json.loads(out)
    assert code == 0, (report["findings"], err)
    release = report["gloo_version"]
    assert release["version"] == GLOO_VERSION and release["enterprise"] is False, release
    assert release["image"] == f"quay.io/solo-io/gloo:{GLOO_VERSION}"
    codes = {finding["code"] for finding in report["findings"]}
    assert not codes & {"certgen-single-write", "certgen-no-renew-before", "gloo-version-unknown"}
