"""User TLS noise against a real Envoy: plaintext sent to a gateway-proxy's own HTTPS listener (as
scanners do all day) grows ``listener.[__]_8443.ssl.connection_error``; gloomon shows it as the target's
user TLS count and raises no ``tls-verify-failures`` about the mTLS link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gloomon.domain.model import Component, FleetSnapshot, Severity
from gloomon.lab import Lab
from gloomon.lab.pods.user_tls import USER_HTTPS_PORT
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.lab]


async def _scan(port: int, times: int) -> None:
    """Plain HTTP to the HTTPS port: each connection fails its TLS handshake."""
    for _ in range(times):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        await writer.wait_closed()


def _user_tls(snapshot: FleetSnapshot, pod: str) -> int:
    return next((t.user_tls_errors for t in snapshot.targets if t.ref.pod == pod and t.reachable), -1)


async def test_scanners_on_the_user_https_listener_are_no_mtls_finding(
    make_lab: Callable[..., Lab], lab_settings: Callable[..., Settings], eventually: Callable[..., Any]
) -> None:
    async with make_lab("healthy", user_https=True) as lab:
        pod = next(p for p in lab.pods(Component.GATEWAY_PROXY) if lab.runtime(p).traits.user_https)
        port = lab.runtime(pod).pod.port_map[USER_HTTPS_PORT]
        async with MonitorSession(lab_settings(lab)) as session:
            await eventually(session.poll_once, lambda s: _user_tls(s, pod) == 0, timeout=20, what="a poll")
            seen = []
            for total in (5, 10):
                await _scan(port, 5)
                seen.append(
                    await eventually(
                        session.poll_once,
                        lambda s, n=total: _user_tls(s, pod) >= n,
                        timeout=15,
                        what=f"{total}",
                    )
                )
        for snapshot in seen:
            assert snapshot.worst_severity() in (None, Severity.INFO), snapshot.findings
            assert not [f for f in snapshot.findings if f.code == "tls-verify-failures"], snapshot.findings
            assert all(t.tls_errors == 0 for t in snapshot.targets), [
                (t.ref.pod, t.tls_errors) for t in snapshot.targets
            ]
