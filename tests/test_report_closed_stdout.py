"""``gloomon check`` whose reader has gone (``check -o json | head -c0``, a consumer that exits early)
ends without a traceback and with the exit code of what it found, every output format alike."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _check_into_a_closed_pipe(output: str) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "gloomon", "check", "--target", "gloo=http://127.0.0.1:1", "-o", output],
            stdout=write,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_a_closed_stdout_is_no_traceback_and_ends_as_the_table_does(output: str) -> None:
    table = _check_into_a_closed_pipe("table")
    result = _check_into_a_closed_pipe(output)
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    assert b"Traceback" not in table.stderr, table.stderr.decode()
    assert result.returncode == table.returncode


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
def test_a_closed_stdout_keeps_the_exit_code_of_what_was_found(output: str) -> None:
    """Nothing observed is status error (3): a reader that has gone must not turn it into 1 (warnings)."""
    read_out = subprocess.run(
        [sys.executable, "-m", "gloomon", "check", "--target", "gloo=http://127.0.0.1:1", "-o", output],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert read_out.returncode == 3, read_out.stderr.decode()
    assert _check_into_a_closed_pipe(output).returncode == read_out.returncode
