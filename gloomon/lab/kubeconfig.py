"""The lab's two kubeconfigs: one whose user holds the bearer token, one whose user runs an exec plugin.

Both name the lab's one context (``gloomon-lab`` unless the lab is given another) and its cluster entry
on the façade's URL with its CA inline. The exec plugin (``python -m gloomon.lab.credential``) gets
tokens valid ``token_validity`` seconds from the façade, so tests can see gloomon renew an expired
credential as a real cluster's would make it.

:func:`merge_kubeconfigs` joins several labs' kubeconfigs into one (a fleet's), as
``KUBECONFIG=a:b kubectl config view --flatten`` would: every cluster, user and context of each, the
first one's context current. Each context keeps its own server, CA and token (or exec plugin).
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
    cluster: str | None = None,
    token: str,
    namespace: str,
    token_validity: float,
) -> None:
    """``path`` with the bearer ``token``; ``exec_path`` (and its CA and secret files beside it)."""
    cluster = cluster or context
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
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
                "context": {"cluster": cluster, "user": f"{context}-user", "namespace": namespace},
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


def merge_kubeconfigs(sources: list[Path], path: Path) -> None:
    """``path``: every cluster, user and context of the kubeconfigs ``sources`` (names must not clash),
    the first source's current context current."""
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for source in sources:
        config = yaml.safe_load(source.read_text())
        for key in ("clusters", "users", "contexts"):
            taken = {entry["name"] for entry in merged[key]}
            clash = [entry["name"] for entry in config[key] if entry["name"] in taken]
            if clash:
                raise ValueError(f"kubeconfig {source}: {key} {', '.join(clash)} already named")
            merged[key] += config[key]
        merged.setdefault("current-context", config["current-context"])
    merged["preferences"] = {}
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
