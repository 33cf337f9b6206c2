"""A kubeconfig exec credential plugin for the lab: ``python -m gloomon.lab.credential --server URL
--ca FILE --secret-file FILE``.

Trades the lab's refresh secret for a short-lived token at the API façade's ``/lab/v1/token`` and prints
an ``ExecCredential`` (``client.authentication.k8s.io/v1``) with ``status.token`` and
``status.expirationTimestamp``, as ``aws eks get-token`` or ``gke-gcloud-auth-plugin`` do. Fails with a
one-line message on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

API_VERSION = "client.authentication.k8s.io/v1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gloomon.lab.credential")
    parser.add_argument("--server", required=True, help="the lab's API URL")
    parser.add_argument("--ca", required=True, help="the API's CA certificate (PEM file)")
    parser.add_argument("--secret-file", required=True, help="the lab's refresh secret")
    args = parser.parse_args(argv)
    try:
        secret = Path(args.secret_file).read_text(encoding="utf-8").strip()
        context = ssl.create_default_context(cafile=args.ca)
        request = urllib.request.Request(
            f"{args.server}/lab/v1/token", method="POST", headers={"Authorization": f"Bearer {secret}"}
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            issued = json.loads(response.read())
        expires = datetime.fromtimestamp(float(issued["expires"]), UTC)
        credential = {
            "apiVersion": API_VERSION,
            "kind": "ExecCredential",
            "status": {
                "token": str(issued["token"]),
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
    except Exception as exc:  # every failure is one line for the client to show
        print(f"gloomon.lab.credential: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(credential, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
