"""The validation webhook's comparisons, answered once for the findings and the rows that show them:
does gloo serve the secret's certificate, does a caBundle verify it, does a caBundle match the secret."""

from __future__ import annotations

from gloomon.domain.compare.sync import bundle_key, same_cert
from gloomon.domain.model import CertInfo, TrustBundle, WebhookState
from gloomon.domain.parse.x509 import find_signer


def presented(state: WebhookState) -> CertInfo | None:
    """The certificate the API server is shown: the served one, else (not read) the secret's."""
    return state.served or state.secret_leaf


def serves_the_secret(state: WebhookState) -> bool | None:
    """Whether gloo serves the secret's ``tls.crt``; None when either is unknown."""
    if state.served is None or state.secret_leaf is None:
        return None
    return same_cert(state.served, state.secret_leaf)


def verifies(ca_bundle: TrustBundle, cert: CertInfo | None) -> bool | None:
    """Whether a CA of ``ca_bundle`` signed ``cert``; None without the certificate's DER."""
    if cert is None or cert.der is None:
        return None
    return find_signer(cert, ca_bundle) is not None


def matches_the_secret(ca_bundle: TrustBundle, state: WebhookState) -> bool | None:
    """Whether ``ca_bundle`` holds exactly the secret's ``ca.crt``; None when the secret's is unknown."""
    secret = state.secret_bundle
    if secret is None or not secret.cas:
        return None
    return bundle_key(secret) == bundle_key(ca_bundle)
