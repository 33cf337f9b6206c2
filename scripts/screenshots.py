"""Render the dashboard's main states to SVG and PNG in ``screenshots/`` (``make screenshots``).

By default from real labs (``--lab``, what the README shows): the dashboard runs headless on the real
MonitorSession against a lab per scenario — healthy (steady, details, expiry, logs, 80×24, 160×48, an
API outage), rotating (phase 1/3, phase 2/3, the timeline of the whole rotation), lagging, untrusted
(and the findings view), sds-late, expiring, cabundle-stale (a broken validation webhook, and its findings),
the variety lab (its kube-gateway's copy in apps behind a rotation while gloo's process is down), and
lab fleets: two-clusters and split-planes (healthy; then edge's copy behind a rotation in mgmt), at 160×50
and 80×24.
States no lab produces (no mTLS, an expired leaf, an Envoy
refusing its admin port: a restarted pod's row leaves at once) come from the deterministic snapshots of
``gloomon/lab/snapshots``, and so does every shot with ``--fixtures`` (or when the lab cannot start: no
Envoy binary). PNGs need ``rsvg-convert`` (apt: librsvg2-bin, and fonts-firacode for the intended font);
without it only SVGs are written.
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

from gloomon.domain.model import Component, FleetSnapshot, Severity, TargetStatus  # noqa: E402
from gloomon.lab import snapshots as fx  # noqa: E402
from gloomon.lab.snapshots import contexts as fleets  # noqa: E402
from gloomon.lab.snapshots import namespaces  # noqa: E402
from gloomon.ui.app import GloomonApp  # noqa: E402
from gloomon.ui.widgets.fleet_table import FleetTable  # noqa: E402

SIZE = (120, 40)


@dataclass(frozen=True)
class Shot:
    name: str
    snapshots: Callable[[], list[FleetSnapshot]]
    keys: tuple[str, ...] = ()
    size: tuple[int, int] = SIZE
    logs: bool = True
    certgen: bool = False


FIXTURE_SHOTS = (
    Shot("steady", lambda: [fx.steady()]),
    Shot("ca-added", lambda: [fx.ca_added()]),
    Shot("rotating", lambda: [fx.leaf_rotated()]),
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
    Shot("two-clusters-160x50", lambda: [fleets.two_clusters()], size=(160, 50)),
    Shot("two-clusters-80x24", lambda: [fleets.two_clusters()], size=(80, 24)),
    Shot("split-planes-160x50", lambda: [fleets.split_planes()], size=(160, 50)),
    Shot("split-planes-copy-behind-160x50", lambda: [fleets.split_planes_stale()], size=(160, 50)),
    Shot("split-planes-copy-behind-80x24", lambda: [fleets.split_planes_stale()], size=(80, 24)),
    Shot("namespace-copy-behind-160x50", lambda: [namespaces.copy_frozen()], ("down",) * 3, (160, 50)),
    Shot("namespace-copy-behind-80x24", lambda: [namespaces.copy_frozen()], size=(80, 24)),
)
#: what no lab scenario shows; rendered from the fixtures alongside the lab's shots
FIXTURE_ONLY = ("no-mtls", "expired", "unreachable")


async def render_fixture(shot: Shot) -> str:
    """Drive the app headless through one deterministic state and return its SVG."""
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=shot.size) as pilot:
        for snapshot in shot.snapshots():
            app.show_snapshot(snapshot)
        if shot.certgen:
            app.add_log_events(fx.certgen_events())
        if shot.logs:
            app.add_log_events(fx.log_events())
        await pilot.pause()  # notify() posts a message: let the toasts arrive, then clear them
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


def save(out: Path, name: str, svg: str, source: str) -> None:
    path = out / f"{name}.svg"
    path.write_text(svg)
    png = to_png(path)
    print(f"{source:8} {path}" + (f"  {png.name}" if png else "  (no rsvg-convert: SVG only)"), flush=True)


# ------------------------------------------------------------------------------------------------ lab


class LabCamera:
    """The dashboard on one lab: wait for a state, put the cursor on a pod, open a view, shoot."""

    def __init__(self, app: GloomonApp, pilot, out: Path, wanted: set[str] | None) -> None:  # type: ignore[no-untyped-def]
        self.app, self.pilot, self.out, self.wanted = app, pilot, out, wanted

    @property
    def snapshot(self) -> FleetSnapshot | None:
        return self.app.state.snapshot

    async def wait(self, what: str, condition: Callable[[FleetSnapshot], bool], timeout: float = 40) -> None:
        """Until the latest snapshot satisfies ``condition``; on timeout say so and shoot what there is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.snapshot is None or not condition(self.snapshot):
            if loop.time() > deadline:
                print(f"  (waited {timeout:.0f} s for {what}; shooting the current state)", flush=True)
                return
            await asyncio.sleep(0.2)

    async def select(self, matches: Callable[[TargetStatus], bool]) -> None:
        """Put the table's cursor on the first target that matches."""
        if self.snapshot is None:
            return
        target = next((t for t in self.snapshot.targets if matches(t)), None)
        if target is not None:
            self.app.screen.query_one(FleetTable).select_key(target.key)
            await self.pilot.pause()

    async def shoot(self, name: str, *keys: str, size: tuple[int, int] | None = None) -> None:
        """Open a view with ``keys`` (and/or resize), save the screen, come back to the dashboard."""
        if self.wanted is not None and name not in self.wanted:
            return
        if size is not None:
            await self.pilot.resize_terminal(*size)
        for key in keys:
            await self.pilot.press(key)
        await self.pilot.pause(0.3)
        self.app.clear_notifications()  # the toasts of the moment would hide part of the screen
        await self.pilot.pause()
        save(self.out, name, self.app.export_screenshot(title=f"gloomon · {name}"), "lab")
        if keys:
            await self.pilot.press("escape")
        if size is not None:
            await self.pilot.resize_terminal(*SIZE)
        await self.pilot.pause()


def all_up(snapshot: FleetSnapshot) -> bool:
    return bool(snapshot.targets) and all(t.reachable for t in snapshot.targets)


def calm(snapshot: FleetSnapshot) -> bool:
    return all_up(snapshot) and all(f.severity is Severity.INFO for f in snapshot.findings)


def has_finding(*codes: str) -> Callable[[FleetSnapshot], bool]:
    return lambda snapshot: any(f.code in codes for f in snapshot.findings)


def phase_words(words: str) -> Callable[[FleetSnapshot], bool]:
    from gloomon.domain.cells import PHASE_WORDS

    return lambda s: s.secret is not None and PHASE_WORDS[s.secret.verdict.phase].startswith(words)


async def healthy(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("every pod reachable and in sync", calm)
    await asyncio.sleep(2)  # a few polls: sds versions and log lines settle
    await camera.shoot("steady")
    await camera.select(lambda t: t.ref.component is Component.GATEWAY_PROXY)
    await camera.shoot("details", "enter")
    await camera.shoot("expiry", "e")
    await camera.shoot("logs", "l")
    await camera.shoot("small-80x24", size=(80, 24))
    await camera.shoot("wide-160x48", size=(160, 48))
    await lab.api_outage(12)
    await camera.wait("the API outage on screen", lambda s: bool(s.errors))
    await camera.select(lambda t: t.ref.component is Component.GLOO)
    await camera.shoot("api-down")


async def rotating(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("phase 1/3", phase_words("rotation · phase 1/3"), timeout=60)
    await asyncio.sleep(2)
    await camera.shoot("ca-added")
    await camera.wait("phase 2/3", phase_words("rotation · phase 2/3"), timeout=60)
    await asyncio.sleep(2)
    await camera.shoot("rotating")
    await camera.wait("steady again", lambda s: phase_words("steady")(s) and all_up(s), timeout=60)
    await asyncio.sleep(6)  # the new steady state shows on the timeline too
    await camera.shoot("timeline", "t")


async def lagging(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("the lagging finding", has_finding("target-lagging"))
    await camera.select(lambda t: t.in_sync_with_secret is False)
    await camera.shoot("lagging")


async def untrusted(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("the untrusted findings", has_finding("peer-untrusted", "leaf-untrusted"))
    await asyncio.sleep(3)  # handshake failures accumulate
    await camera.select(lambda t: t.ref.component is Component.EXTAUTH)
    await camera.shoot("untrusted")
    await camera.shoot("findings", "i")


async def sds_late(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("the sds finding", has_finding("sds-not-delivered", "sds-initial-fetch-timeout"))
    await camera.select(lambda t: t.ref.component is Component.RATE_LIMIT)
    await camera.shoot("sds-late")


async def expiring(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("the expiry finding", has_finding("leaf-expiring"))
    await asyncio.sleep(2)
    await camera.shoot("expiring")


async def cabundle_stale(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("the caBundle findings", has_finding("cabundle-untrusted"))
    await asyncio.sleep(2)
    await camera.shoot("broken-webhook")
    await camera.shoot("broken-webhook-findings", "i")


async def namespace_copy(camera: LabCamera, lab) -> None:  # type: ignore[no-untyped-def]
    """The variety lab's kube-gateway in apps: gloo's process down through a rotation, so its Gateway
    deployer does not render the copy there again."""
    await camera.wait("every pod reachable and calm", calm)
    await lab.gloo_process_down()  # the apps copy stops following gloo-system's secret
    await lab.rotate_now()
    behind = has_finding("secret-copy-stale")
    rotated = phase_words("steady")  # certgen's three writes done, the copy still on the old CA
    await camera.wait("the apps copy behind a whole rotation", lambda s: behind(s) and rotated(s), timeout=60)
    await asyncio.sleep(2)
    await camera.select(lambda t: t.ref.component is Component.KUBE_GATEWAY)
    await camera.shoot("namespace-copy-behind-160x50", size=(160, 50))
    await camera.shoot("namespace-copy-behind-80x24", size=(80, 24))
    await lab.gloo_process_down(False)


#: scenario (or a name for the keyword arguments' own ``scenario``) → (Lab keyword arguments, the script
#: that shoots it, the shots it makes)
LAB_SCRIPTS = {
    "healthy": (
        {},
        healthy,
        ("steady", "details", "expiry", "logs", "small-80x24", "wide-160x48", "api-down"),
    ),
    "rotating": (
        {"rotation_duration": 10.0, "first_run_after": 8.0},
        rotating,
        ("ca-added", "rotating", "timeline"),
    ),
    "lagging": ({}, lagging, ("lagging",)),
    "untrusted": ({}, untrusted, ("untrusted", "findings")),
    "sds-late": ({}, sds_late, ("sds-late",)),
    "expiring": ({}, expiring, ("expiring",)),
    "cabundle-stale": ({}, cabundle_stale, ("broken-webhook", "broken-webhook-findings")),
    "variety": (
        {"scenario": "healthy", "variety": True, "rotation_duration": 5.0},
        namespace_copy,
        ("namespace-copy-behind-160x50", "namespace-copy-behind-80x24"),
    ),
}


async def shoot_lab(scenario: str, out: Path, wanted: set[str] | None) -> None:
    from gloomon.lab import Lab
    from gloomon.settings import Settings
    from gloomon.sources.session import MonitorSession

    kwargs, script, _ = LAB_SCRIPTS[scenario]
    async with Lab(**{"scenario": scenario, **kwargs}) as lab:
        settings = Settings(
            kubeconfig=str(lab.kubeconfig_path),
            contexts=(lab.context,),
            namespace=lab.namespace,
            extra_namespaces=tuple(lab.copy_namespaces),
            interval=1.0,
        )
        app = GloomonApp(session=MonitorSession(settings), settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await script(LabCamera(app, pilot, out, wanted), lab)
            await app.action_quit()


async def two_clusters(camera: LabCamera, fleet) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("both clusters reachable and calm", calm)
    await asyncio.sleep(2)
    await camera.shoot("two-clusters-160x50", size=(160, 50))
    await camera.shoot("two-clusters-80x24", size=(80, 24))


async def split_planes(camera: LabCamera, fleet) -> None:  # type: ignore[no-untyped-def]
    await camera.wait("mgmt and edge reachable and calm", calm)
    await asyncio.sleep(2)
    await camera.shoot("split-planes-160x50", size=(160, 50))
    fleet.syncs["edge"].freeze()  # the copy stops following mgmt's secret
    await fleet.lab("mgmt").rotate_now()
    await camera.wait("edge's copy behind", has_finding("secret-copy-stale"), timeout=60)
    await asyncio.sleep(2)
    await camera.shoot("split-planes-copy-behind-160x50", size=(160, 50))
    await camera.shoot("split-planes-copy-behind-80x24", size=(80, 24))
    fleet.syncs["edge"].freeze(False)
    await camera.wait("edge's copy caught up", lambda s: not has_finding("secret-copy-stale")(s), timeout=60)
    await asyncio.sleep(4)  # the copy's arrival and edge's pickups show on the timeline
    await camera.shoot("split-planes-timeline-160x50", "t", size=(160, 50))
    await camera.shoot("split-planes-timeline-80x24", "t", size=(80, 24))


#: fleet topology → (the script that shoots it, the shots it makes)
FLEET_SCRIPTS = {
    "two-clusters": (two_clusters, ("two-clusters-160x50", "two-clusters-80x24")),
    "split-planes": (
        split_planes,
        (
            "split-planes-160x50",
            "split-planes-copy-behind-160x50",
            "split-planes-copy-behind-80x24",
            "split-planes-timeline-160x50",
            "split-planes-timeline-80x24",
        ),
    ),
}


async def shoot_fleet(topology: str, out: Path, wanted: set[str] | None) -> None:
    from gloomon.lab import LabFleet
    from gloomon.settings import Settings
    from gloomon.sources.session import MonitorSession

    script, _ = FLEET_SCRIPTS[topology]
    async with LabFleet(topology) as fleet:
        settings = Settings(
            kubeconfig=str(fleet.kubeconfig_path),
            contexts=fleet.contexts,
            namespace=fleet.namespace,
            interval=1.0,
        )
        app = GloomonApp(session=MonitorSession(settings), settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await script(LabCamera(app, pilot, out, wanted), fleet)
            await app.action_quit()


def lab_available() -> str | None:
    """Why the lab cannot run here, or None."""
    try:
        from gloomon.lab.pods.bootstrap import envoy_binary

        envoy_binary()
    except Exception as error:  # ImportError (no lab extra) or no Envoy binary
        return str(error) or type(error).__name__
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="output directory")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--lab", action="store_true", help="from real labs (the default)")
    source.add_argument("--fixtures", action="store_true", help="only from the deterministic fixtures")
    parser.add_argument("--only", nargs="*", help="names of the shots to render")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only) if args.only else None
    fixture_names = {shot.name for shot in FIXTURE_SHOTS}
    if not args.fixtures:
        problem = lab_available()
        if problem is None:
            for scenario, (_, _, names) in LAB_SCRIPTS.items():
                if wanted is None or wanted & set(names):
                    asyncio.run(shoot_lab(scenario, args.out, wanted))
            for topology, (_, names) in FLEET_SCRIPTS.items():
                if wanted is None or wanted & set(names):
                    asyncio.run(shoot_fleet(topology, args.out, wanted))
            fixture_names = set(FIXTURE_ONLY)
        else:
            print(f"the lab cannot run here ({problem}): rendering every shot from the fixtures")
    for shot in FIXTURE_SHOTS:
        if shot.name in fixture_names and (wanted is None or shot.name in wanted):
            save(args.out, shot.name, asyncio.run(render_fixture(shot)), "fixture")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
