"""``SelfSubjectAccessReview`` (authorization.k8s.io/v1): ``kubectl auth can-i`` against the lab.

The lab's token may do everything the façade serves, except what a fault takes away, as a Role without
the permission would: ``forbid-secrets`` (secrets in every namespace or in the one named) and
``forbid-webhooks`` (the cluster-scoped validating webhook configurations). So ``kubectl auth can-i get
validatingwebhookconfigurations`` (docs/findings.md's check for ``webhook-rbac``) says ``no`` exactly when
gloomon's reads are refused. kubectl sends the review as Kubernetes protobuf (the ``k8s\\0`` envelope
around a ``runtime.Unknown``); :func:`decode_protobuf` reads the fields a review needs, the answer goes
back as JSON (kubectl accepts both).
"""

from __future__ import annotations

from typing import Any

#: ``ResourceAttributes``' protobuf field numbers (k8s.io/api authorization/v1)
_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_MAGIC = b"k8s\x00"


def _fields(data: bytes) -> dict[int, list[bytes | int]]:
    """The top-level fields of a protobuf message: varints as ints, length-delimited as bytes."""
    out: dict[int, list[bytes | int]] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            if pos >= len(data):
                raise ValueError("truncated protobuf")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.setdefault(number, []).append(varint())
        elif wire == 2:
            length = varint()
            if pos + length > len(data):
                raise ValueError("truncated protobuf")
            out.setdefault(number, []).append(data[pos : pos + length])
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def _message(fields: dict[int, list[bytes | int]], number: int) -> bytes:
    value = fields.get(number, [b""])[-1]
    return value if isinstance(value, bytes) else b""


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """A protobuf SelfSubjectAccessReview (in its ``k8s\\0`` envelope) as the JSON body it stands for."""
    if not body.startswith(_MAGIC):
        raise ValueError("not a Kubernetes protobuf body")
    review = _fields(_message(_fields(body[len(_MAGIC) :]), 2))  # runtime.Unknown.raw
    spec = _fields(_message(review, 2))
    attributes = _fields(_message(spec, 1)) if 1 in spec else None
    out: dict[str, Any] = {"spec": {}}
    if attributes is not None:
        out["spec"]["resourceAttributes"] = {
            name: _message(attributes, number).decode()
            for number, name in _ATTRIBUTES.items()
            if number in attributes
        }
    return out


#: what ``forbid-secrets`` / ``forbid-webhooks`` take away: (group, resource)
SECRETS = ("", "secrets")
WEBHOOKS = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")


def namespace_of(body: dict[str, Any]) -> str | None:
    """The namespace a review asks about; ``None`` for every namespace (``kubectl auth can-i … -A``)."""
    attributes = (body.get("spec") or {}).get("resourceAttributes")
    namespace = attributes.get("namespace") if isinstance(attributes, dict) else None
    return str(namespace) if namespace else None


def review(body: dict[str, Any], *, forbidden: set[tuple[str, str]]) -> dict[str, Any]:
    """The answered review: ``body`` with ``status.allowed`` (and RBAC's empty reason when denied)."""
    spec = body.get("spec") or {}
    attributes = spec.get("resourceAttributes")
    allowed = True
    if isinstance(attributes, dict):
        resource = (str(attributes.get("group", "")), str(attributes.get("resource", "")))
        allowed = resource not in forbidden
    status: dict[str, Any] = {"allowed": allowed}
    if allowed:
        status["reason"] = 'RBAC: allowed by ClusterRoleBinding "gloomon-lab" of ClusterRole "cluster-admin"'
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
