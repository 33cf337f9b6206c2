"""Command line: ``gloomon`` (the dashboard) and ``gloomon check`` (one poll, a report, an exit code).

``main`` is the entry point; the flags live in ``flags``, the commands in ``commands``. Heavy packages
(textual, kubernetes, the lab) are imported inside the functions that need them, so ``gloomon --help``
and a bad flag answer at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gloomon.cli.commands import run_bundle, run_check, run_dashboard, run_serve
from gloomon.cli.flags import (
    EXIT_ERROR,
    UsageError,
    build_parser,
    parse_listen,
    settings_from_args,
    subcommand_parser,
)

__all__ = ["EXIT_ERROR", "build_parser", "main", "parse_listen", "settings_from_args"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would blame the top-level parser, whose --help does not list check's flags
        subcommand_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        settings = settings_from_args(args)
    except UsageError as exc:
        print(f"gloomon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.command == "check":
        return run_check(args, settings)
    if args.command == "serve":
        return run_serve(args, settings)
    if args.command == "bundle":
        return run_bundle(args, settings)
    return run_dashboard(args, settings)
