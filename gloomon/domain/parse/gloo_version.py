"""The Gloo release from container image references (``registry[:port]/path/name[:tag][@digest]``).

Gloo's images carry the release as their tag: ``quay.io/solo-io/gloo:1.18.0``, ``sds:1.17.4-fips``,
``gloo-envoy-wrapper:1.18.0-distroless``, Enterprise ``gloo-ee``, ``sds-ee``, ``gloo-ee-envoy-wrapper``,
pre-releases ``1.19.0-beta5``, a mirror's ``registry.local:5000/solo-io/gloo:1.18.0``, and a digest with
or without a tag (``gloo:1.18.0@sha256:…``, ``gloo@sha256:…``). Only Gloo's own images count; the pod
spec's text is untrusted, so anything else gives None rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gloomon.domain.model.release import GlooRelease

#: Gloo's images, by how much they say about the control plane's release (lower first)
_PRIORITY = {
    "gloo": 0,
    "gloo-ee": 0,
    "sds": 1,
    "sds-ee": 1,
    "gloo-envoy-wrapper": 2,
    "gloo-ee-envoy-wrapper": 2,
    "certgen": 3,
}
_VARIANTS = ("fips", "distroless")
_TAG = re.compile(r"^v?(\d{1,4})\.(\d{1,4})\.(\d{1,6})((?:-[0-9A-Za-z.]+)*)$")
_MAX_REFERENCE = 512
#: the characters of an image reference (OCI distribution grammar): anything else is not one
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")


def _split(image: str) -> tuple[str, str | None] | None:
    """``(image name, tag)`` of a reference; None when it is not one."""
    reference = image.strip()
    if len(reference) > _MAX_REFERENCE or _REFERENCE.match(reference) is None:
        return None
    reference = reference.partition("@")[0]
    last = reference.rpartition("/")[2]
    name, colon, tag = last.partition(":")
    if not name:
        return None
    return name, (tag if colon and tag else None)


def gloo_release(images: Iterable[str]) -> GlooRelease | None:
    """The control plane's release from a set of pods' images: the gloo container's, else sds's, else
    the Envoy wrapper's, else certgen's; a tag that names a release wins over one that does not."""
    best: tuple[tuple[int, int], GlooRelease] | None = None
    for image in dict.fromkeys(images):  # every replica repeats the same few images: each read once
        read = _read(image) if isinstance(image, str) else None
        if read is None:
            continue
        rank = (0 if read[1].version is not None else 1, read[0])
        if best is None or rank < best[0]:
            best = (rank, read[1])
    return best[1] if best is not None else None


def _read(image: str) -> tuple[int, GlooRelease] | None:
    """The image's priority (:data:`_PRIORITY`) and the release it says."""
    split = _split(image)
    if split is None:
        return None
    name, tag = split
    variants: list[str] = []
    if name.endswith("-fips"):
        name, variants = name.removesuffix("-fips"), ["fips"]
    priority = _PRIORITY.get(name)
    if priority is None:
        return None
    enterprise = "-ee" in name
    match = _TAG.match(tag) if tag is not None else None
    if match is None:
        return priority, GlooRelease(
            image.strip(), tag, None, enterprise=enterprise, variants=tuple(variants)
        )
    major, minor, patch, suffix = match.groups()
    prerelease: list[str] = []
    for part in suffix.split("-")[1:]:
        if part not in _VARIANTS:
            prerelease.append(part)
        elif part not in variants:
            variants.append(part)
    release = GlooRelease(
        image.strip(),
        tag,
        (int(major), int(minor), int(patch)),
        prerelease="-".join(prerelease) or None,
        enterprise=enterprise,
        variants=tuple(variants),
    )
    return priority, release
