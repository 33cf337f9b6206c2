"""``gloomon serve`` from the command line: where it listens, and a refusal in one line (exit 3)."""

from __future__ import annotations

import socket
import subprocess
import sys

from gloomon.cli import EXIT_ERROR, build_parser, parse_listen


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gloomon", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_serve_listens_on_loopback_unless_told_otherwise() -> None:
    args = build_parser().parse_args(["serve"])
    assert parse_listen(args.listen) == ("127.0.0.1", 9745)
    assert parse_listen("0.0.0.0:9745") == ("0.0.0.0", 9745)
    assert parse_listen("[::1]:9000") == ("::1", 9000)


def test_a_bad_listen_address_is_refused_in_one_line() -> None:
    result = serve("--listen", "localhost", "--target", "gloo=http://127.0.0.1:1")
    assert result.returncode == EXIT_ERROR
    assert result.stderr.strip().splitlines() == [
        "gloomon: error: --listen 'localhost': expected HOST:PORT, e.g. 127.0.0.1:9745 or 0.0.0.0:9745"
    ]


def test_an_address_in_use_is_refused_in_one_line_without_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve("--listen", f"127.0.0.1:{port}", "--target", "gloo=http://127.0.0.1:1")
    assert result.returncode == EXIT_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gloomon: cannot listen on 127.0.0.1:{port}: ")
    assert "address already in use" in lines[0]
