"""Render the dashboard's main states to SVG and PNG in ``screenshots/`` (``make screenshots``).

Today from the deterministic snapshots of ``tests/ui/fixtures.py`` (the same data as the snapshot
tests). ``--lab`` is reserved for rendering from a running lab instead, once the lab and sources are
wired; it exits with a message until then. PNGs need ``rsvg-convert`` (apt: librsvg2-bin, and
fonts-firacode for the intended font); without it only SVGs are written.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gloomon.domain.models import FleetSnapshot  # noqa: E402
from gloomon.ui.app import GloomonApp  # noqa: E402
from tests.ui import fixtures as fx  # noqa: E402


@dataclass(frozen=True)
class Shot:
    name: str
    snapshots: Callable[[], list[FleetSnapshot]]
    keys: tuple[str, ...] = ()
    size: tuple[int, int] = (120, 40)
    logs: bool = True
    certgen: bool = False


SHOTS = (
    Shot("steady", lambda: [fx.steady()]),
    Shot("ca-added", lambda: [fx.ca_added()]),
    Shot("leaf-rotated", lambda: [fx.leaf_rotated()]),
    Shot("lagging", lambda: [fx.lagging()], keys=("down", "down", "down")),
    Shot("expired", lambda: [fx.expired()]),
    Shot("untrusted", lambda: [fx.untrusted()], keys=("down", "down", "down", "down")),
    Shot("unreachable", lambda: [fx.unreachable()]),
    Shot("api-down", lambda: [fx.api_down()]),
    Shot("no-mtls", lambda: [fx.no_mtls()], logs=False),
    Shot("small-80x24", lambda: [fx.lagging()], size=(80, 24)),
    Shot("wide-160x48", lambda: [fx.leaf_rotated()], size=(160, 48)),
    Shot("details", lambda: [fx.lagging()], keys=("down", "down", "enter")),
    Shot("timeline", fx.rotation_series, keys=("t",), certgen=True),
    Shot("expiry", lambda: [fx.lagging()], keys=("e",)),
    Shot("findings", lambda: [fx.untrusted()], keys=("i",)),
    Shot("logs", lambda: [fx.steady()], keys=("l",)),
)


async def render(shot: Shot) -> str:
    """Drive the app headless through one state and return its SVG."""
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=shot.size) as pilot:
        for snapshot in shot.snapshots():
            app.show_snapshot(snapshot)
        if shot.certgen:
            app.add_log_events(fx.certgen_events())
        if shot.logs:
            app.add_log_events(fx.log_events())
        app.clear_notifications()
        await pilot.pause()
        for key in shot.keys:
            await pilot.press(key)
        await pilot.pause()
        return app.export_screenshot(title=f"gloomon · {shot.name}")


def to_png(svg: Path) -> Path | None:
    """Convert with rsvg-convert; ``xml:space="preserve"`` keeps the leading spaces of text runs."""
    converter = shutil.which("rsvg-convert")
    if converter is None:
        return None
    preserved = svg.with_suffix(".preserve.svg")
    preserved.write_text(svg.read_text().replace("<svg class=", '<svg xml:space="preserve" class=', 1))
    png = svg.with_suffix(".png")
    subprocess.run([converter, "-b", "#000000", "-o", str(png), str(preserved)], check=True)
    preserved.unlink()
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="output directory")
    parser.add_argument("--lab", action="store_true", help="render from a running lab (not wired yet)")
    parser.add_argument("--only", nargs="*", help="names of the shots to render")
    args = parser.parse_args(argv)
    if args.lab:
        print("--lab is not wired yet: rendering from a lab needs the sources session; use the fixtures.")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for shot in SHOTS:
        if args.only and shot.name not in args.only:
            continue
        svg = args.out / f"{shot.name}.svg"
        svg.write_text(asyncio.run(render(shot)))
        png = to_png(svg)
        print(f"{svg}" + (f"  {png}" if png else "  (no rsvg-convert: SVG only)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
