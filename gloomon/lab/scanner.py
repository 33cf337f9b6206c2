"""Internet noise on a gateway-proxy's user listeners, as every public gateway gets it all day.

A real gateway-proxy's user TLS scopes count failures that say nothing about Gloo's mTLS link
(reference/real-clusters.md §3). The scanner reproduces them against the lab's user listeners
(``pods/user_tls.py``, ``Lab(user_https=True)``), on loopback like everything else:

* plaintext HTTP to the HTTPS port (8443) and junk bytes there: ``listener.[__]_8443.ssl.connection_error``;
* a TLS client with a certificate from a CA the user does not trust, and one with no certificate, on the
  user's mTLS port (8444): ``listener.[__]_8444.ssl.fail_verify_error`` / ``fail_verify_no_cert`` (and
  ``connection_error``).

Nothing reaches Gloo's own scopes (``cluster.xds_cluster.ssl.*``, gloo's 9977/9976 listeners).
``await Scanner.for_lab(lab).sweep()`` runs one round; ``start(interval)`` / ``stop()`` keep it going.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

from gloomon.lab.pods.user_tls import USER_HTTPS_PORT, USER_MTLS_PORT, self_signed
from gloomon.tasks import cancel_and_wait

#: what a port scanner sends to an HTTPS port
PLAINTEXT = b"GET / HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: zgrab/0.x\r\n\r\n"
JUNK = b"\x16\x03\x01\x00\x05\x01\xff\xff\xff\xff" + os.urandom(16)


def _client_context(cert_pem: str | None, key_pem: str | None) -> ssl.SSLContext:
    """A client that checks nothing of the server and shows ``cert_pem`` (if any) as its certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if cert_pem is not None and key_pem is not None:
        with tempfile.TemporaryDirectory(prefix="gloomon-scanner-") as tmp:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert.write_text(cert_pem)
            key.touch(mode=0o600)
            key.write_text(key_pem)
            context.load_cert_chain(cert, key)
    return context


class Scanner:
    """Sends the noise to one gateway-proxy's user listeners (loopback ports)."""

    def __init__(self, https_port: int, mtls_port: int) -> None:
        self.https_port = https_port
        self.mtls_port = mtls_port
        #: a client certificate no user CA issued (a scanner's, or a misconfigured client's)
        self._untrusted = _client_context(*self_signed("scanner.invalid"))
        self._anonymous = _client_context(None, None)
        self.sweeps = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_lab(cls, lab: Any) -> Scanner:
        """The scanner of ``lab``'s gateway-proxy serving user TLS (``Lab(user_https=True)``)."""
        for name in lab.pods():
            runtime = lab.runtime(name)
            if runtime.traits.user_https:
                ports = runtime.pod.port_map
                return cls(ports[USER_HTTPS_PORT], ports[USER_MTLS_PORT])
        raise LookupError("no gateway-proxy serves user TLS: start the lab with user_https=True")

    async def _raw(self, port: int, data: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(data)
            await writer.drain()
            with contextlib.suppress(ConnectionError):
                async with asyncio.timeout(5):
                    await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    async def _tls(self, port: int, context: ssl.SSLContext) -> None:
        """A handshake and a request; the server refuses the client certificate (TLS 1.3: after the
        client's side of the handshake, as an alert on the first read)."""
        try:
            async with asyncio.timeout(5):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=context, server_hostname="shop.example.com"
                )
        except (ssl.SSLError, ConnectionError, TimeoutError):
            return
        try:
            writer.write(PLAINTEXT)
            with contextlib.suppress(ssl.SSLError, ConnectionError, TimeoutError):
                await writer.drain()
                async with asyncio.timeout(5):
                    await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(ssl.SSLError, ConnectionError, TimeoutError):
                async with asyncio.timeout(5):
                    await writer.wait_closed()

    async def sweep(self) -> None:
        """One round: plaintext and junk to the HTTPS port; an untrusted and an anonymous TLS client to the
        mTLS port."""
        await self._raw(self.https_port, PLAINTEXT)
        await self._raw(self.https_port, JUNK)
        await self._tls(self.mtls_port, self._untrusted)
        await self._tls(self.mtls_port, self._anonymous)
        self.sweeps += 1

    def start(self, interval: float = 1.0) -> None:
        """Sweep every ``interval`` seconds until :meth:`stop`."""

        async def loop() -> None:
            while True:
                with contextlib.suppress(OSError):
                    await self.sweep()
                await asyncio.sleep(interval)

        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(loop())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
