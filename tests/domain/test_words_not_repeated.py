"""Words are built in one place: a line that quotes a reason does not say the reason's first words again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gloomon.domain.cells import secret_phase_words
from gloomon.domain.model import Phase
from tests.domain.certs import NOW, make_ca, make_leaf, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap


@pytest.mark.parametrize("with_leaf", [True, False])
def test_the_stalled_secret_line_says_its_ca_count_once(with_leaf: bool) -> None:
    cas = [make_ca(not_before=NOW - timedelta(days=3 - index)) for index in range(3)]
    leaf = make_leaf(cas[0]).info if with_leaf else None
    snapshot = snap([], [secret(leaf, [ca.info for ca in cas])])
    assert snapshot.secret is not None and snapshot.secret.verdict.phase is Phase.STALLED
    words, _ = secret_phase_words(snapshot, NOW)
    assert words.startswith("stalled · 3 CAs")
    assert words.count("3 CAs") == 1, words


def test_a_target_ahead_of_the_secret_says_newer_once() -> None:
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    result = snap(
        [fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info], at=t0)],
        [secret(rot.leaf_old.info, [rot.ca_old.info])],
        at=t0,
    )
    assert codes(result)["target-ahead"] == [("warning", "gloo-1")]
    message = next(item.message for item in result.findings if item.code == "target-ahead")
    assert message.startswith("holds newer certificates than the secret: ")
    assert message.count("newer") == 1, message
    assert f"leaf {rot.leaf_new.info.short_serial} ≠ secret's {rot.leaf_old.info.short_serial}" in message
