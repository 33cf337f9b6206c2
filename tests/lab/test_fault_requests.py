"""The lab's fault endpoint answers a malformed request with 400 and a sentence saying what to send."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from gloomon.lab import Lab

pytestmark = pytest.mark.lab


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab() -> AsyncIterator[Lab]:
    async with Lab(scenario="healthy") as running:
        yield running


async def _post(lab: Lab, fault: str, **kwargs: object) -> tuple[int, dict]:
    context = ssl.create_default_context(cadata=lab.api.ca_pem.decode())
    headers = {"Authorization": f"Bearer {lab.token}"}
    url = f"{lab.api_url}/lab/v1/faults/{fault}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, ssl=context, headers=headers, **kwargs) as response,  # type: ignore[arg-type]
    ):
        return response.status, await response.json(content_type=None)


NOT_AN_OBJECT = 'fault restart-pod: the body must be a JSON object, e.g. {"pod": "<name>"}'
NEEDS_POD = 'the JSON body needs "pod", e.g. {"pod": "<value>"}'
NOT_A_NUMBER = "could not convert string to float: 'x'"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("fault", "body", "message"),
    [
        ("restart-pod", {"data": b"pod=gloo"}, NOT_AN_OBJECT),
        ("restart-pod", {"json": ["gloo"]}, NOT_AN_OBJECT),
        ("restart-pod", {"json": {}}, f"fault restart-pod: {NEEDS_POD}"),
        ("freeze-pod", {"json": {"name": "x"}}, f"fault freeze-pod: {NEEDS_POD}"),
        ("restart-pod", {"json": {"pod": "nope"}}, "fault restart-pod: no such pod: nope"),
        ("api-outage", {"json": {"seconds": "x"}}, f"fault api-outage: {NOT_A_NUMBER}"),
        ("explode", {"json": {}}, "fault explode: unknown fault 'explode'"),
    ],
)  # fmt: skip
async def test_a_malformed_fault_request_is_a_400_saying_what_to_send(
    lab: Lab, fault: str, body: dict, message: str
) -> None:
    status, answer = await _post(lab, fault, **body)
    assert (status, answer.get("reason"), answer.get("message")) == (400, "BadRequest", message)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_well_formed_fault_request_still_works(lab: Lab) -> None:
    status, answer = await _post(lab, "forbid-secrets", json={"enabled": True})
    assert (status, answer) == (200, {"ok": True})
    assert lab.api.forbid_secrets
    status, _ = await _post(lab, "forbid-secrets", json={"enabled": False})
    assert status == 200 and not lab.api.forbid_secrets
