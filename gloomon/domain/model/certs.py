"""Certificates and trust bundles as gloomon reads them (PEM or Envoy's ``/certs``), and phase verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gloomon.domain.model.vocabulary import Phase

# --------------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True, slots=True, weakref_slot=True)
class CertInfo:
    """One X.509 certificate, from PEM (complete) or from Envoy's ``/certs`` (partial).

    ``serial`` is lowercase hex spelled as Envoy spells it (BoringSSL ``BN_bn2hex``: whole bytes, no
    colons). Fields ``/certs`` does not give (subject, issuer, fingerprint, key) are None there.
    ``der`` is the public certificate's DER encoding when known, kept for signature checks and copying.
    Weak references are allowed so the parser can hand the same instance to every holder of one
    certificate (:func:`gloomon.domain.parse.x509.cert_info_from_der`).
    """

    serial: str
    not_before: datetime
    not_after: datetime
    sans: tuple[str, ...] = ()
    subject: str | None = None
    issuer: str | None = None
    common_name: str | None = None
    sha256: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    is_ca: bool | None = None
    der: bytes | None = field(default=None, repr=False, compare=False)
    #: what the parser noticed about this remote certificate (a library's warning, e.g. an attribute of
    #: illegal length), shown with it instead of on stderr
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def short_serial(self) -> str:
        return self.serial[:8]

    @property
    def lifetime_seconds(self) -> float:
        return (self.not_after - self.not_before).total_seconds()

    def seconds_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds()


@dataclass(frozen=True, slots=True)
class TrustBundle:
    """The CAs a target trusts, in bundle order (certgen appends the new CA after the old one).

    ``complete`` is False when the bundle came from ``/certs`` only, where older Envoys list just the
    first CA (envoy#4661).
    """

    cas: tuple[CertInfo, ...] = ()
    complete: bool = True

    def __len__(self) -> int:
        return len(self.cas)


@dataclass(frozen=True, slots=True)
class PhaseVerdict:
    """A phase with the reason in words and the facts it was read from."""

    phase: Phase
    reason: str
    ca_count: int = 0
    signer_index: int | None = None
