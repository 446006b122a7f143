"""The sandbox HTTP server answers a malformed request line with 400 instead of a traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from reconciler.sandbox.http import ServerThread


def _hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def server() -> Iterator[ServerThread]:
    running = ServerThread(_hello, name="malformed-request-test")
    try:
        yield running
    finally:
        running.stop()


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(payload)
        received = b""
        while True:
            chunk = connection.recv(4096)
            if not chunk:
                return received
            received += chunk


# A TLS ClientHello start (what an https client sends to a plain-HTTP port) and plain garbage.
@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
        b"this is not http at all\r\n\r\n",
    ],
    ids=["tls-client-hello", "garbage-text"],
)
def test_garbage_request_line_gets_400_and_no_traceback(
    server: ServerThread, payload: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    reply = _exchange(server.port, payload)
    assert reply.startswith(b"HTTP/"), reply[:80]
    assert reply.split(b" ", 2)[1] == b"400"
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr
    assert "AttributeError" not in stderr
