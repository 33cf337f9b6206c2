"""Short-lived bearer tokens, as a managed cluster's authenticator issues them (EKS, GKE, OIDC).

The lab's exec-plugin kubeconfig (``Lab.exec_kubeconfig_path``) runs ``python -m gloomon.lab.credential``,
which trades the lab's refresh secret for a token valid ``validity`` seconds at ``POST /lab/v1/token``;
the API accepts that token until it expires, then answers 401 as a real API server does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: where the credential plugin asks for a token (authenticated by the refresh secret, not a token)
TOKEN_PATH = "/lab/v1/token"


@dataclass
class TokenIssuer:
    """Issues tokens and says whether one is valid now."""

    validity: float = 30.0
    clock: Callable[[], float] = time.time
    #: what the plugin presents to get a token (never accepted by the API itself)
    refresh_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: how many tokens were issued: one per plugin run
    issued: int = 0
    #: how many requests came with an expired or revoked token (answered 401)
    rejected: int = 0
    _expiry: dict[str, float] = field(default_factory=dict, repr=False)

    def issue(self, validity: float | None = None) -> tuple[str, float]:
        """A new token valid ``validity`` seconds (default :attr:`validity`) and its expiry (Unix time)."""
        token = "lab-exec-" + secrets.token_urlsafe(24)  # kept after expiry: a 401 for it is counted
        expires = self.clock() + (self.validity if validity is None else validity)
        self._expiry[token] = expires
        self.issued += 1
        return token, expires

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of the issued ones and has not expired; counts the rejected ones."""
        expires = self._expiry.get(token)
        if expires is None:
            return False
        if expires <= self.clock():
            self.rejected += 1
            return False
        return True

    def expire_all(self) -> None:
        """Every issued token expires now (as if the server's clock ran ahead of the client's)."""
        now = self.clock()
        self._expiry = dict.fromkeys(self._expiry, now)
