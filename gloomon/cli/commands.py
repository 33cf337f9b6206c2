"""The commands: ``check`` (one poll, a report, an exit code), ``serve`` (the exporter), ``bundle``
(the support archive), the dashboard, and the embedded lab ``--demo`` starts for any of them.

Heavy packages (textual, kubernetes, the lab) are imported inside the function that needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from gloomon import __version__
from gloomon.cli.flags import EXIT_ERROR, UsageError, parse_listen, parse_size

if TYPE_CHECKING:
    from gloomon.domain.model import FleetSnapshot
    from gloomon.lab import RunningFleet, RunningLab
    from gloomon.settings import Settings


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """One poll and a report; exit 0 ok, 1 warning, 2 critical, 3 the check could not run."""
    try:
        with _watched(args, settings, "healthy") as watched:
            polled: list[FleetSnapshot] = []
            asyncio.run(_check_once(watched, polled))
            snapshot = polled[0]
    except CheckFailed as exc:
        print(f"gloomon: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    from gloomon import report

    with contextlib.suppress(BrokenPipeError):  # the reader has gone (| head): the code still counts
        report.print_report(snapshot, args.output)
    return report.exit_code(snapshot, args.fail_on)


class CheckFailed(Exception):
    """The check could not run: no cluster, bad kubeconfig, no lab. The message says why."""


async def _check_once(settings: Settings, polled: list[FleetSnapshot]) -> None:
    """Start a session, poll once (the first poll reads the last ``log_since_seconds`` of logs), stop.

    The snapshot goes into ``polled``, not into the task's result: Python 3.11's ``asyncio.run`` reprs
    its main task, result included, when it restores the SIGINT handler, and the repr of a snapshot
    holding a 10,000-CA bundle is megabytes of text built for nothing.
    """
    from gloomon.sources.errors import SourceError, describe_exception
    from gloomon.sources.session import MonitorSession

    session = MonitorSession(settings)
    try:
        await session.start()
        polled.append(await session.poll_once())
    except SourceError as exc:
        raise CheckFailed(str(exc)) from None
    except Exception as exc:  # anything else is still "the check could not run", never a traceback
        raise CheckFailed(f"unexpected error: {describe_exception(exc)}") from None
    finally:
        await session.stop()


@contextlib.contextmanager
def _watched(args: argparse.Namespace, settings: Settings, scenario: str) -> Iterator[Settings]:
    """The settings a command watches: as given, or, with ``--demo``, the embedded lab's (started here
    in ``args.scenario`` or ``scenario``, stopped when the command is done)."""
    if not args.demo:
        yield settings
        return
    lab, settings = _start_demo_lab(args.scenario or scenario, settings)
    try:
        yield settings
    finally:
        lab.stop()


def _start_demo_lab(scenario: str, settings: Settings) -> tuple[RunningLab | RunningFleet, Settings]:
    """Start the embedded lab and point the settings at its Kubernetes API."""
    try:
        from gloomon.lab import start_demo
    except ImportError as exc:
        raise CheckFailed(f"--demo needs the lab extra (pip install 'gloomon[lab]'): {exc}") from None
    print(f"gloomon: starting the lab (scenario {scenario})…", file=sys.stderr)
    # The lab's web server reports dropped client connections through logging; they are the lab's
    # business, not the user's, and must not land on the terminal.
    logging.getLogger("aiohttp").addHandler(logging.NullHandler())
    logging.getLogger("aiohttp").propagate = False
    try:
        lab = start_demo(scenario, namespace=settings.namespace)
    except Exception as exc:  # the lab is an external world (Envoy binary, ports): report, don't trace
        raise CheckFailed(f"the lab could not start: {exc}") from None
    return lab, replace(
        settings, kubeconfig=str(lab.kubeconfig_path), contexts=lab.contexts, namespace=lab.namespace
    )


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Export metrics until interrupted; 3 when the address or the clusters cannot be used."""
    import signal

    from gloomon.sources.errors import SourceError, describe_exception

    def terminate(signum: int, frame: object) -> None:  # a pod's stop: unwind like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        host, port = parse_listen(args.listen)
    except UsageError as exc:
        print(f"gloomon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with _watched(args, settings, "rotating") as watched:
            from gloomon.exporter.server import serve
            from gloomon.sources.session import MonitorSession

            def listening(address: str) -> None:
                print(f"gloomon: serving http://{address}/metrics", file=sys.stderr, flush=True)

            asyncio.run(serve(MonitorSession(watched), host, port, on_listening=listening))
            return 0
    except CheckFailed as exc:
        print(f"gloomon: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SourceError as exc:
        print(f"gloomon: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"gloomon: cannot listen on {args.listen}: {describe_exception(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # never a traceback: one line, and the exit code of "could not run"
        print(f"gloomon: unexpected error: {describe_exception(exc)}", file=sys.stderr)
        return EXIT_ERROR


def run_bundle(args: argparse.Namespace, settings: Settings) -> int:
    """Write the support archive; 0 with one line naming it, 3 when nothing could be collected."""
    from datetime import UTC, datetime
    from pathlib import Path

    from gloomon.sources.bundle.archive import MIN_MAX_SIZE, human_size
    from gloomon.sources.errors import describe_exception

    try:
        max_size = parse_size(args.max_size)
        if max_size < MIN_MAX_SIZE:
            raise UsageError(f"--max-size {args.max_size!r}: at least {human_size(MIN_MAX_SIZE)}")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = Path(args.output or f"gloomon-bundle-{stamp}.tar.gz")
        if output.is_dir() or not output.parent.is_dir():
            raise UsageError(f"--output {str(output)!r}: not a file in an existing directory")
    except UsageError as exc:
        print(f"gloomon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from gloomon.sources.bundle.collect import BundleOptions, NothingCollected, write_bundle

    options = BundleOptions(
        output=output,
        since_seconds=max(1, round(settings.log_since_seconds)),
        max_size=max_size,
        version=__version__,
    )
    try:
        with _watched(args, settings, "healthy") as watched:
            result = asyncio.run(write_bundle(watched, options))
    except (CheckFailed, NothingCollected) as exc:
        print(f"gloomon: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except OSError as exc:
        print(f"gloomon: cannot write {output}: {describe_exception(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # never a traceback: one line, and the exit code of "could not run"
        print(f"gloomon: unexpected error: {describe_exception(exc)}", file=sys.stderr)
        return EXIT_ERROR
    print(f"gloomon: wrote {result.path} ({human_size(result.size)}, {result.members} files)")
    return 0


def run_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    """Open the Textual dashboard; return its exit code (3 when it could not connect)."""
    try:
        with _watched(args, settings, "rotating") as watched:
            from gloomon.sources.session import MonitorSession
            from gloomon.ui.app import GloomonApp

            app = GloomonApp(session=MonitorSession(watched), settings=watched)
            app.run()
            return app.return_code or 0
    except CheckFailed as exc:
        print(f"gloomon: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
