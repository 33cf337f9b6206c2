"""``gloomon check`` whose reader has gone (``check -o json | head -c0``, a consumer that exits early)
ends without a traceback, every output format alike (Rich's own handling of a broken pipe)."""

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
