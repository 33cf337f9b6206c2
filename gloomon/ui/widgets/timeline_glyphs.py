"""The rotation timeline's glyphs, one table: a glyph per phase, so the timeline reads the same without
colour (``NO_COLOR``), and the validation webhook's rows drawn with the glyph of the phase each of their
states resembles. :mod:`rotation_timeline` and :mod:`timeline_webhook` both read it from here.
"""

from __future__ import annotations

from gloomon.domain.compare.webhook_history import WebhookCell
from gloomon.domain.model import Phase

GLYPHS = {
    Phase.STEADY: "█",
    Phase.CA_ADDED: "▓",
    Phase.LEAF_ROTATED: "▒",
    Phase.STALLED: "░",
    Phase.BROKEN: "!",
    Phase.UNKNOWN: "·",
}
#: each webhook state drawn as the phase it resembles: in sync as steady, stale as stalled
WEBHOOK_GLYPHS = {
    cell: GLYPHS[phase]
    for cell, phase in {
        WebhookCell.IN_SYNC: Phase.STEADY,
        WebhookCell.STALE: Phase.STALLED,
        WebhookCell.BROKEN: Phase.BROKEN,
        WebhookCell.UNKNOWN: Phase.UNKNOWN,
    }.items()
}
UNREACHABLE = "✕"
CERTGEN_MARK = "▲"
