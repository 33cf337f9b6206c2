"""Which rows of the fleet table a poll left as they were: a row's key, and the row as it was drawn.

A row whose target a poll left as it was (:func:`row_key`: what its cells are drawn from) keeps its
cells: of 200 rows, most polls change a few, and building and comparing every row's cells was most of a
poll's redraw. Only the time left, which moves with the clock, is drawn again for every row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rich.text import Text

from gloomon.domain.compare.sync import bundle_digest
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import TargetStatus
from gloomon.ui.format import Palette

#: the fields of a TargetStatus no cell of its row is drawn from (clocks carried between polls and shown
#: in the details; the ref, the fetch and the bundle are keyed by what the row reads of them)
NOT_IN_ROW = frozenset(
    {
        "ref",
        "fetch",
        "bundle",
        "lag_since",
        "last_pickup_seconds",
        "user_tls_errors",
        "multi_ca_since",
        "envoy_started_at",
        "certs_since",
        "bundle_differs_since",
        "tls_errors_last_rise",
        "xds_connect_fail_last_rise",
        "sds_rejected_last_rise",
        "sds_down_since",
    }
)
_IN_ROW = tuple(field.name for field in fields(TargetStatus) if field.name not in NOT_IN_ROW)


def row_key(target: TargetStatus) -> tuple[object, ...]:
    """What the row's cells but the time left are drawn from: every field but :data:`NOT_IN_ROW` (a new
    field is in, so the key errs on drawing again), the target's names and its port-forward's state (not
    its address or age), the bundle by digest, the fetch's reachability and error. Equal keys, equal
    cells."""
    ref, fetch = target.ref, target.fetch
    forward = (ref.forward.status, ref.forward.error) if ref.forward is not None else None
    return (
        *(getattr(target, name) for name in _IN_ROW),
        (ref.context, ref.namespace, ref.component, ref.pod, ref.proxy, forward),
        bundle_digest(target.bundle),
        target.bundle.complete,
        target.reachable,
        fetch.error if fetch is not None else None,
    )


def same_text(left: Text, right: Text) -> bool:
    """Text equality including the base style (``Text.__eq__`` compares only plain text and spans)."""
    return left.plain == right.plain and left.style == right.style and left.spans == right.spans


@dataclass(frozen=True, slots=True)
class DrawnRow:
    """A row as drawn: its key, palette and policy, its time left before styling, its cells, and the
    values the table holds for the ``columns`` they were fitted to."""

    key: tuple[object, ...]
    palette: Palette
    policy: HealthPolicy
    left: Text
    cells: dict[str, Text]
    columns: tuple[object, ...]
    values: list[Text]

    def holds(self, key: tuple[object, ...], palette: Palette, policy: HealthPolicy, left: Text) -> bool:
        """Whether a target of this :func:`row_key` and time left is drawn as this row already is."""
        return (
            self.key == key
            and self.palette == palette
            and self.policy == policy
            and same_text(self.left, left)
        )
