"""A long session on a cluster whose credentials rotate: the lab's exec-plugin kubeconfig issues tokens
valid a few seconds (``Lab(token_validity=…)``); API calls, log streams and port-forwards keep working
across expiries and after a 401 for a token the server expired early."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from gloomon.domain.model import FleetSnapshot
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.errors import SourceError
from gloomon.sources.logs.follow import AUTH_BACKOFF
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.lab]

VALIDITY = 3.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", token_validity=VALIDITY) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(lab: Lab, lab_settings: Callable[..., Settings]) -> AsyncIterator[MonitorSession]:
    settings = lab_settings(lab, kubeconfig=str(lab.exec_kubeconfig_path), interval=0.5)
    async with MonitorSession(settings) as running:
        yield running


def _healthy(snapshot: FleetSnapshot, lab: Lab) -> bool:
    """No source error (a 401 would be one) and every lab pod reachable through its port-forward."""
    reachable = {t.ref.pod for t in snapshot.targets if t.reachable}
    return not snapshot.errors and set(lab.pods()) <= reachable


def _issued(lab: Lab) -> int:
    assert lab.api is not None
    return lab.api.tokens.issued


async def test_polls_keep_succeeding_across_token_expiries(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    await eventually(session.poll_once, lambda s: _healthy(s, lab), timeout=20, what="a healthy first poll")
    start = _issued(lab)
    polls: list[tuple[int, FleetSnapshot]] = []

    async def poll() -> int:
        snapshot = await session.poll_once()
        polls.append((_issued(lab), snapshot))
        return _issued(lab)

    await eventually(poll, lambda runs: runs >= start + 3, timeout=30, interval=0.3, what="3 plugin runs")
    await poll()
    assert all(not snapshot.errors for _, snapshot in polls), [s.errors for _, s in polls if s.errors]
    after_each = {runs for runs, snapshot in polls if _healthy(snapshot, lab)}
    assert set(range(start + 1, start + 4)) <= after_each, (start, after_each)


async def test_a_401_mid_session_renews_for_api_calls_forwards_and_log_streams(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    """The server expires every token before the client thinks it should: the next request of each kind
    gets 401, the plugin runs again and it is retried (log streams without waiting ``AUTH_BACKOFF``)."""
    assert lab.api is not None
    await eventually(session.poll_once, lambda s: _healthy(s, lab), timeout=20, what="a healthy poll")
    follows = await eventually(lambda: lab.api.streams.open_log_follows, timeout=20, what="log follows")
    rejected, runs = lab.api.tokens.rejected, _issued(lab)
    lab.expire_tokens()
    await lab.cut_log_streams()
    await lab.cut_port_forwards()
    snapshot = await session.poll_once()
    assert not snapshot.errors, snapshot.errors
    assert lab.api.tokens.rejected > rejected and _issued(lab) > runs
    await eventually(session.poll_once, lambda s: _healthy(s, lab), timeout=20, what="forwards back up")
    assert lab.api.streams.open_port_forwards > 0
    await eventually(
        lambda: lab.api.streams.open_log_follows,  # type: ignore[union-attr]
        lambda count: count >= follows,
        timeout=AUTH_BACKOFF / 3,
        what="every log stream reopened",
    )


def _kubeconfig_with_user(lab: Lab, path: Any, user: dict[str, Any]) -> str:
    """``lab``'s exec kubeconfig with another user section, written to ``path``."""
    import yaml

    config = yaml.safe_load(lab.exec_kubeconfig_path.read_text())
    config["users"][0]["user"] = user
    path.write_text(yaml.safe_dump(config))
    return str(path)


async def test_a_token_file_is_read_again_after_a_401(
    lab: Lab, lab_settings: Callable[..., Settings], eventually: Callable[..., Any], tmp_path: Any
) -> None:
    """A projected token rewritten by the kubelet: the old token expires, the file holds the new one."""
    assert lab.api is not None
    token_file = tmp_path / "token"
    token_file.write_text(lab.api.tokens.issue(validity=600)[0])
    kubeconfig = _kubeconfig_with_user(lab, tmp_path / "kubeconfig", {"tokenFile": str(token_file)})
    async with MonitorSession(lab_settings(lab, kubeconfig=kubeconfig)) as fresh:
        await eventually(fresh.poll_once, lambda s: _healthy(s, lab), timeout=20, what="a healthy poll")
        lab.expire_tokens()
        token_file.write_text(lab.api.tokens.issue(validity=600)[0])
        rejected = lab.api.tokens.rejected
        snapshot = await fresh.poll_once()
        assert not snapshot.errors, snapshot.errors
        assert lab.api.tokens.rejected > rejected


async def test_a_failing_plugin_says_why_in_the_401(
    lab: Lab, lab_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    import yaml

    config = yaml.safe_load(lab.exec_kubeconfig_path.read_text())
    plugin = config["users"][0]["user"]["exec"]
    plugin["args"] = [*plugin["args"][:-1], str(tmp_path / "no-such-secret")]
    kubeconfig = _kubeconfig_with_user(lab, tmp_path / "kubeconfig", {"exec": plugin})
    with pytest.raises(SourceError) as caught:
        async with MonitorSession(lab_settings(lab, kubeconfig=kubeconfig)):
            pass
    error = str(caught.value)
    assert "401" in error and "renewing the credentials failed" in error and "no-such-secret" in error, error
