"""The Kubernetes readers load no generated API class nor model: ``CoreV1Api`` and friends import a few
hundred pydantic model modules (most of a second of ``gloomon check``'s start) that gloomon never uses."""

import subprocess
import sys
import textwrap
from pathlib import Path

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
"""


def test_kube_readers_import_no_generated_api_or_model(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        from datetime import UTC, datetime
        from gloomon.settings import Settings
        from gloomon.sources.kube.config import connect
        from gloomon.sources.kube.client import KubeReader
        from gloomon.sources.kube.webhook import WebhookReader

        async def main():
            (connection,) = await connect(Settings(kubeconfig={str(path)!r}))
            reader = KubeReader(connection, "gloo-system", timeout=2)
            WebhookReader(reader, clock=lambda: datetime.now(UTC))
            connection.core(websocket=True)  # what PodForward reads through
            await connection.close()

        asyncio.run(main())
        loaded = sorted(
            m for m in sys.modules
            if m.startswith(("kubernetes.aio.client.api.", "kubernetes.aio.client.models."))
        )
        print(",".join(loaded))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
