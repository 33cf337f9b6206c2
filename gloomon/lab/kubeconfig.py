"""The lab's two kubeconfigs: one whose user holds the bearer token, one whose user runs an exec plugin.

Both name the one context ``gloomon-lab`` on the façade's URL with its CA inline. The exec plugin
(``python -m gloomon.lab.credential``) gets tokens valid ``token_validity`` seconds from the façade, so
tests can see gloomon renew an expired credential as a real cluster's would make it.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import yaml

from gloomon.lab.api.server import ApiServer


def write_kubeconfigs(
    api: ApiServer,
    path: Path,
    exec_path: Path,
    *,
    context: str,
    token: str,
    namespace: str,
    token_validity: float,
) -> None:
    """``path`` with the bearer ``token``; ``exec_path`` (and its CA and secret files beside it)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": api.url,
                    "certificate-authority-data": base64.b64encode(api.ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace},
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    _write_exec_kubeconfig(api, exec_path, config, context=context, token_validity=token_validity)


def _write_exec_kubeconfig(
    api: ApiServer, path: Path, config: dict[str, Any], *, context: str, token_validity: float
) -> None:
    """``path``: ``config`` whose user runs ``python -m gloomon.lab.credential``."""
    api.tokens.validity = token_validity
    ca, secret = path.parent / "apiserver-ca.crt", path.parent / "credential-secret"
    ca.write_bytes(api.ca_pem)
    secret.touch(mode=0o600)
    secret.write_text(api.tokens.refresh_secret)
    args = ["-m", "gloomon.lab.credential", "--server", api.url, "--ca", str(ca)]
    plugin = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [*args, "--secret-file", str(secret)],
        "interactiveMode": "Never",
    }
    exec_config = {**config, "users": [{"name": f"{context}-user", "user": {"exec": plugin}}]}
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(exec_config, sort_keys=False))
