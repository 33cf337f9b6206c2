"""Which Gloo release runs, as read from its pods' images (``quay.io/solo-io/gloo:1.18.0``).

Behaviour the checks depend on changed between releases (reference/real-clusters.md §4): the three-phase
rotation, certgen's renew-before window, Gateway API proxies. The parser is ``parse/gloo_version.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GlooRelease:
    """The Gloo release of the control plane, from one image reference."""

    image: str  # the reference it was read from, as the pod spec gives it
    tag: str | None  # None: pinned by digest only
    version: tuple[int, int, int] | None  # None: the tag names no release (``latest``, a branch build)
    prerelease: str | None = None  # ``beta5``, ``rc1``
    enterprise: bool = False  # an EE image (``gloo-ee``, ``sds-ee``, ``gloo-ee-envoy-wrapper``)
    variants: tuple[str, ...] = ()  # ``fips``, ``distroless``

    @property
    def version_text(self) -> str | None:
        """``1.18.0``, ``1.19.0-beta5``; None when the tag names no release."""
        if self.version is None:
            return None
        text = ".".join(str(part) for part in self.version)
        return f"{text}-{self.prerelease}" if self.prerelease else text

    @property
    def label(self) -> str:
        """How renderers name it: ``Gloo 1.18.0``, ``Gloo EE 1.17.4 fips``, ``Gloo (tag latest)``."""
        name = "Gloo EE" if self.enterprise else "Gloo"
        if self.version_text is not None:
            return " ".join((name, self.version_text, *self.variants))
        return f"{name} (tag {self.tag})" if self.tag else f"{name} (digest only)"
