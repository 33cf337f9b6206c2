"""The command line answers bad input with one clear line and exit code 3, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_gloomon(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gloomon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_both_commands():
    result = run_gloomon("--help")
    assert result.returncode == 0
    assert "check" in result.stdout
    assert "--namespace" in result.stdout


def test_version():
    result = run_gloomon("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("gloomon ")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--bogus",), "unrecognized arguments"),
        (("check", "-o", "xml"), "invalid choice"),
        (("--interval", "soon"), "--interval 'soon'"),
        (("--interval", "-5s"), "--interval"),
        (("--interval", "10ms"), "at least 1s"),
        (("check", "--since", "yesterday"), "--since 'yesterday'"),
        (("check", "--admin-port", "gateway-proxy=http"), "--admin-port"),
        (("check", "--admin-port", "envoy=19000"), "COMPONENT one of"),
        (("check", "--target", "gloo=ftp://x"), "--target"),
        (("check", "--target", "nginx=http://127.0.0.1:1"), "NAME starting with one of"),
        (("check", "--warn-before", "ages"), "--warn-before 'ages'"),
        (("check", "--critical-before", "150%"), "--critical-before"),
        (("check", "--lag-grace", "0s"), "--lag-grace"),
        (("check", "--demo", "--target", "gloo=http://127.0.0.1:1"), "does not combine"),
        (("check", "--scenario", "rotating"), "only applies with --demo"),
        (("--scenario", "nope"), "invalid choice"),
    ],
)
def test_bad_flags_exit_3_with_one_clear_line(args, needle):
    result = run_gloomon(*args)
    assert result.returncode == 3, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_module_imports_no_heavy_packages():
    """The one runtime layer test (import-linter checks the static imports, not what loads lazily)."""
    code = (
        "import sys; from gloomon import cli; cli.build_parser().parse_args(['check']); "
        "heavy = [m for m in ('textual', 'kubernetes', 'httpx', 'aiohttp') if m in sys.modules]; "
        "import gloomon.sources.session; "
        "heavy += [m for m in ('textual', 'kubernetes') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
