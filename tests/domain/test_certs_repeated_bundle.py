"""/certs lists a bundle again for every TLS context that trusts it: it is read once."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import gloomon.domain.parse.envoy as envoy_module
from gloomon.domain.model import CertsReport
from gloomon.domain.parse.envoy import parse_certs

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_bundle_repeated_in_another_context_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads((FIXTURES / "envoy140_ca_added_certs.json").read_text())
    first = doc["certificates"][0]
    other = copy.deepcopy(first)
    other["cert_chain"] = []  # another context (an upstream's) trusting the same CAs
    doc["certificates"] = [first, other]
    reads: list[object] = []
    real = envoy_module._cert_details

    def counting(items: object):  # type: ignore[no-untyped-def]
        reads.append(items)
        return real(items)

    monkeypatch.setattr(envoy_module, "_cert_details", counting)
    report = parse_certs(json.dumps(doc).encode())
    assert isinstance(report, CertsReport) and len(report.contexts) == 2
    first_cas, other_cas = (context.ca_certs for context in report.contexts)
    assert first_cas == other_cas and len(first_cas) == 2
    assert len(reads) == 3  # the CAs, the chain, the empty chain: the second context's CAs are not read again
