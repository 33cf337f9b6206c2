"""Credentials that rotate during a long session: kubeconfig ``exec`` plugins, token files, OIDC.

``kubernetes.aio`` reads a kubeconfig user once: an EKS ``aws eks get-token`` or GKE
``gke-gcloud-auth-plugin`` token (15 min to 1 h), a projected token file or an OIDC id-token expires and
an hours-long dashboard then gets 401 on every call. :class:`Credentials` is installed as the connection's
``refresh_api_key_hook``, which the client awaits before every request (REST calls, log streams and the
port-forward websockets alike), and renews the bearer token:

- exec plugin: re-run it shortly before the ``status.expirationTimestamp`` of its ExecCredential, and
  after a 401 (a plugin that gives no expiry is re-run only then, as client-go does);
- ``tokenFile``: re-read at most every minute (the kubelet rewrites projected tokens), and after a 401;
- OIDC ``auth-provider``: re-checked every minute (the loader refreshes an expired id-token).

Certificates that a plugin returns instead of a token are read once, at connect. A plugin that fails
keeps the last token, and its error is kept for the 401 message (:func:`renewal_error`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gloomon.domain.text import one_line

#: renew an exec token this long before its expiry (at most; a fifth of a short lifetime), so no request
#: carries one that just expired
EXPIRY_SKEW = 10.0
#: how often token files and OIDC id-tokens are looked at again
RECHECK_PERIOD = 60.0
#: the longest a plugin may take (it may prompt nobody: the dashboard holds the terminal)
PLUGIN_TIMEOUT = 30.0


class Credentials:
    """Renews one connection's bearer token (see the module docstring)."""

    def __init__(
        self,
        user: Any,
        configuration: Any,
        loader: Any,
        *,
        base_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._user = user
        self._configuration = configuration
        self._loader = loader
        self._base_path = base_path
        self._clock = clock
        self._lock = asyncio.Lock()
        self.kind = _kind(user)
        #: monotonic time at which the token is due for renewal (None: only after a 401)
        self._due: float | None = None
        #: how many times the token was renewed (exec plugin runs, file reads) since connect
        self.renewals = 0
        self.error: str | None = None
        self._schedule(getattr(loader, "exec_plugin_expiry", None))

    def install(self) -> None:
        """Make the client await :meth:`hook` before every request."""
        self._configuration.refresh_api_key_hook = self.hook

    async def hook(self, _configuration: Any) -> None:
        """Before a request: renew the token when it is due (cheap when it is not)."""
        if self._due is not None and self._clock() >= self._due:
            await self.renew(force=False)

    @property
    def token(self) -> str | None:
        """The bearer token requests carry now."""
        token = self._configuration.api_key.get("BearerToken")
        return token if isinstance(token, str) else None

    async def renew(self, *, force: bool, sent: str | None = None) -> bool:
        """Renew the token now (``force``: after a 401 for a request that carried ``sent``) or when due;
        True when the token changed (also when another request renewed it since ``sent``)."""
        async with self._lock:
            now = self._clock()
            if force and sent is not None and self.token != sent:
                return True  # renewed since that request was sent: retry with the new token
            if not force and (self._due is None or now < self._due):
                return False  # another request renewed it while this one waited
            before = self._configuration.api_key.get("BearerToken")
            try:
                async with asyncio.timeout(PLUGIN_TIMEOUT):
                    expiry = await self._fetch()
            except Exception as exc:  # the plugin failed, the file is gone: keep the last token
                self.error = one_line(f"renewing the credentials failed: {exc}", 300)
                self._due = now + RECHECK_PERIOD if self.kind != "exec" else now + EXPIRY_SKEW
                return False
            self.error = None
            self.renewals += 1
            self._schedule(expiry)
            return self._configuration.api_key.get("BearerToken") != before

    def _schedule(self, expiry: datetime | None) -> None:
        if self.kind == "exec":
            if expiry is None:
                self._due = None
                return
            left = (expiry.astimezone(UTC) - datetime.now(UTC)).total_seconds()
            self._due = self._clock() + max(left - min(EXPIRY_SKEW, left / 5), 0.0)
        elif self.kind in ("token-file", "oidc"):
            self._due = self._clock() + RECHECK_PERIOD
        else:
            self._due = None

    async def _fetch(self) -> datetime | None:
        """Get a fresh token into the configuration; the exec credential's expiry, when it gives one."""
        if self.kind == "exec":
            from kubernetes.aio.config.exec_provider import ExecProvider

            status = await ExecProvider(self._user["exec"]).run()
            token = status.get("token") if isinstance(status, dict) else None
            if not isinstance(token, str) or not token:
                raise ValueError("the exec plugin gave no token")
            self._configuration.api_key["BearerToken"] = f"Bearer {token}"
            stamp = status.get("expirationTimestamp")
            return _parse_expiry(stamp) if isinstance(stamp, str) else None
        if self.kind == "token-file":
            path = Path(str(self._user["tokenFile"])).expanduser()
            if not path.is_absolute() and self._base_path is not None:
                path = self._base_path / path
            token = path.read_text(encoding="utf-8").strip()
            if not token:
                raise ValueError(f"token file {path} is empty")
            self._configuration.api_key["BearerToken"] = f"Bearer {token}"
            return None
        await self._loader.load_and_set(self._configuration)  # oidc: refreshes an expired id-token
        return None


def _kind(user: Any) -> str:
    """``exec``, ``token-file``, ``oidc`` or ``static`` (a token, a certificate, a password: read once)."""
    try:
        if "exec" in user:
            return "exec"
        provider = user.safe_get("auth-provider")
        if provider is not None and provider["name"] == "oidc":
            return "oidc"
        if "tokenFile" in user and not user.safe_get("token"):
            return "token-file"
    except Exception:  # a malformed user section was reported by the loader, or it works as it is
        return "static"
    return "static"


def _parse_expiry(stamp: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def credentials_of(client: Any) -> Credentials | None:
    """The :class:`Credentials` behind an API object (a ``RawApi``), client or configuration, if any."""
    configuration = getattr(getattr(client, "api_client", client), "configuration", client)
    hook = getattr(configuration, "refresh_api_key_hook", None)
    owner = getattr(hook, "__self__", None)
    return owner if isinstance(owner, Credentials) else None


def token_of(client: Any) -> str | None:
    """The token ``client``'s requests carry now (to pass to :func:`renew_after_unauthorized`)."""
    credentials = credentials_of(client)
    return credentials.token if credentials is not None else None


async def renew_after_unauthorized(client: Any, sent: str | None) -> bool:
    """After a 401 from ``client`` for a request sent with token ``sent`` (:func:`token_of` before it):
    renew its credentials unless that already happened since; True when a retry may now succeed."""
    credentials = credentials_of(client)
    if credentials is None or credentials.kind == "static":
        return False
    return await credentials.renew(force=True, sent=sent)


def renewal_error(client: Any) -> str | None:
    """Why the last renewal of ``client``'s credentials failed, for a 401's message."""
    credentials = credentials_of(client)
    return credentials.error if credentials is not None else None
