"""The validation webhook on the rotation timeline: per sample, which certificate its secret holds and gloo
serves and whether each ``caBundle`` verifies what the API server is shown; and the changes between them.

Folded by :class:`~gloomon.domain.compare.history.RotationHistory` from each FleetSnapshot, one per
context (each context's installed webhook). Every question is answered by
:mod:`gloomon.domain.compare.webhook`, here only remembered. Bounded like the rest of the history: fixed-size
certificate keys, at most :data:`MAX_CA_BUNDLES` caBundles per sample. Pure.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gloomon.domain.compare.sync import CertKey, bundle_digest, cert_key
from gloomon.domain.compare.webhook import matches_the_secret, presented, serves_the_secret, verifies
from gloomon.domain.model import WebhookState

#: caBundles kept per sample (gloo's configuration has one; a hostile one could have thousands)
MAX_CA_BUNDLES = 4
#: the longest ``webhooks[].name`` kept (Kubernetes names are at most 253 characters)
MAX_NAME = 64


class WebhookCell(StrEnum):
    """What a webhook row shows for one sample."""

    IN_SYNC = "in sync"
    #: gloo still serves an older certificate than the secret's; a caBundle verifies the served
    #: certificate but not the secret's CA (it breaks when gloo picks the secret up)
    STALE = "stale"
    #: a caBundle does not verify the certificate the API server is shown: every call fails
    BROKEN = "broken"
    UNKNOWN = "not read"


class WebhookEvent(StrEnum):
    """A change between two reads; ``CA_BUNDLE_STALE``: a caBundle stopped verifying what gloo serves."""

    SECRET_RENEWED = "webhook secret renewed"
    SERVED = "gloo serves the new webhook cert"
    CA_BUNDLE_UPDATED = "updated"
    CA_BUNDLE_STALE = "stale"


@dataclass(frozen=True, slots=True)
class CaBundleSample:
    name: str
    digest: str
    #: whether it verifies the presented certificate (:func:`verifies`); None without its DER
    verifies: bool | None
    #: whether it holds exactly the secret's ``ca.crt``; None when that is unknown
    matches_secret: bool | None

    @property
    def cell(self) -> WebhookCell:
        if self.verifies is False:
            return WebhookCell.BROKEN
        if self.matches_secret is False:
            return WebhookCell.STALE
        if self.verifies is None and self.matches_secret is None:
            return WebhookCell.UNKNOWN
        return WebhookCell.IN_SYNC


@dataclass(frozen=True, slots=True)
class WebhookSample:
    at: datetime
    secret: CertKey | None
    served: CertKey | None
    serves_secret: bool | None
    ca_bundles: tuple[CaBundleSample, ...]

    @property
    def served_cell(self) -> WebhookCell:
        if self.serves_secret is None:
            return WebhookCell.UNKNOWN
        return WebhookCell.IN_SYNC if self.serves_secret else WebhookCell.STALE

    def ca_bundle(self, name: str) -> CaBundleSample | None:
        return next((sample for sample in self.ca_bundles if sample.name == name), None)


@dataclass(frozen=True, slots=True)
class WebhookChange:
    at: datetime
    event: WebhookEvent
    #: for :attr:`WebhookEvent.SERVED`: seconds since the renewal it picked up, when that was observed
    lag_seconds: float | None = None
    #: for the caBundle events: which ``webhooks[]`` entry
    ca_bundle: str | None = None


def sample_of(webhook: WebhookState, at: datetime) -> WebhookSample:
    shown = presented(webhook)
    entries = webhook.config.webhooks[:MAX_CA_BUNDLES] if webhook.config else ()
    return WebhookSample(
        at=at,
        secret=cert_key(webhook.secret_leaf) if webhook.secret_leaf else None,
        served=cert_key(webhook.served) if webhook.served else None,
        serves_secret=serves_the_secret(webhook),
        ca_bundles=tuple(
            CaBundleSample(
                entry.name[:MAX_NAME],
                bundle_digest(entry.ca_bundle),
                verifies(entry.ca_bundle, shown),
                matches_the_secret(entry.ca_bundle, webhook),
            )
            for entry in entries
        ),
    )


class WebhookHistory:
    """The webhook's samples and changes, bounded as :class:`RotationHistory`'s are."""

    def __init__(self, max_samples: int = 720) -> None:
        self.samples: deque[WebhookSample] = deque(maxlen=max_samples)
        self.changes: deque[WebhookChange] = deque(maxlen=64)
        #: the renewal gloo has not served yet
        self._renewed: WebhookChange | None = None
        #: the last certificates and caBundles read (a poll that could not read one compares the next
        #: with these, so a renewal across a failed read is still seen)
        self._secret: CertKey | None = None
        self._served: CertKey | None = None
        self._bundles: dict[str, CaBundleSample] = {}

    @property
    def observed(self) -> bool:
        return bool(self.samples)

    @property
    def pending(self) -> WebhookChange | None:
        """The last renewal gloo does not serve yet, if any."""
        return self._renewed

    def add(self, webhook: WebhookState | None, at: datetime) -> None:
        """Fold in one snapshot's read of the webhook (taken ``at``); once a webhook was observed, a
        snapshot without one is a sample of nothing read (drawn as such), not a gap that carries the last
        state on."""
        if webhook is None and not self.samples:
            return
        if self.samples and at < self.samples[-1].at:
            return
        sample = sample_of(webhook, at) if webhook else WebhookSample(at, None, None, None, ())
        self._compare(sample)
        self.samples.append(sample)

    def _compare(self, after: WebhookSample) -> None:
        at = after.at
        if after.secret is not None:
            if self._secret is not None and after.secret != self._secret:
                self._renewed = WebhookChange(at, WebhookEvent.SECRET_RENEWED)
                self.changes.append(self._renewed)
            self._secret = after.secret
        if after.served is not None:
            if after.serves_secret and self._served is not None and after.served != self._served:
                renewed = self._renewed
                lag = (at - renewed.at).total_seconds() if renewed is not None else None
                self.changes.append(WebhookChange(at, WebhookEvent.SERVED, lag_seconds=lag))
            self._served = after.served
        if after.serves_secret:
            self._renewed = None
        for bundle in after.ca_bundles:
            previous = self._bundles.get(bundle.name)
            if previous is None:
                continue
            if bundle.verifies is False and previous.verifies is not False:
                self.changes.append(WebhookChange(at, WebhookEvent.CA_BUNDLE_STALE, ca_bundle=bundle.name))
            elif bundle.digest != previous.digest and bundle.verifies is not False:
                self.changes.append(WebhookChange(at, WebhookEvent.CA_BUNDLE_UPDATED, ca_bundle=bundle.name))
        if after.ca_bundles:
            self._bundles = {bundle.name: bundle for bundle in after.ca_bundles}

    def along(self, times: list[datetime]) -> list[WebhookSample | None]:
        """The sample in effect at each of ``times`` (ascending): one pass over the samples."""
        result: list[WebhookSample | None] = []
        current: WebhookSample | None = None
        samples = iter(self.samples)
        pending = next(samples, None)
        for at in times:
            while pending is not None and pending.at <= at:
                current = pending
                pending = next(samples, None)
            result.append(current)
        return result

    def ca_bundle_names(self) -> list[str]:
        """The caBundles last read, in the configuration's order."""
        return list(self._bundles)
