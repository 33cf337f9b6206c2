"""The header names the Gloo release the pods' images say (one answer: the domain's label)."""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.parse.gloo_version import gloo_release
from gloomon.lab import snapshots as fx
from gloomon.ui.widgets.header_bar import HeaderBar
from tests.ui.harness import SIZE, make_app, until


def _header_text(app) -> str:  # type: ignore[no-untyped-def]
    header = app.screen.query_one("#header", HeaderBar)
    return "".join(segment.text for line in header.render_lines(header.region) for segment in line)


async def test_the_header_names_the_gloo_release_and_nothing_without_one() -> None:
    release = gloo_release(["quay.io/solo-io/gloo-ee:1.17.4-fips"])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(replace(fx.steady(), gloo_release=release))
        await until(lambda: "Gloo EE 1.17.4 fips" in _header_text(app), pilot)
        app.show_snapshot(fx.steady())
        await until(lambda: "Gloo" not in _header_text(app), pilot)
