"""``reconcile sandbox``: prints the environment, serves until interrupted, exits cleanly."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import shlex
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from reconciler.sandbox import Auth0Seed

ENTRY_POINT = Path(sys.executable).parent / "reconcile"
SIOCGIFADDR = 0x8915  # Linux: the IPv4 address of one interface
EXPORTED = {"AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "GOODDATA_HOST", "GOODDATA_TOKEN"}

SCRIPT = "from reconciler.sandbox.command import sandbox_command; sandbox_command()"


def _auth0_users(exports: dict[str, str]) -> Any:
    """The first page of users (with totals), through a client-credentials token, as printed exports allow."""
    domain = exports["AUTH0_DOMAIN"]
    token = requests.post(
        domain + "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": exports["AUTH0_CLIENT_ID"],
            "client_secret": exports["AUTH0_CLIENT_SECRET"],
            "audience": domain + "/api/v2/",
        },
        timeout=5,
    ).json()["access_token"]
    return requests.get(
        domain + "/api/v2/users",
        params={"include_totals": "true", "per_page": "100"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()


def test_command_prints_environment_serves_and_stops_on_interrupt() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "--generate-users", "30", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports = dict(
            process.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(5)
        )
        assert set(exports) == {
            "AUTH0_DOMAIN",
            "AUTH0_CLIENT_ID",
            "AUTH0_CLIENT_SECRET",
            "GOODDATA_HOST",
            "GOODDATA_TOKEN",
        }
        assert exports["AUTH0_DOMAIN"].startswith("http://127.0.0.1:")
        users = _auth0_users(exports)
        assert users["total"] == 30
        profile = requests.get(
            exports["GOODDATA_HOST"] + "/api/v1/profile",
            headers={"Authorization": f"Bearer {exports['GOODDATA_TOKEN']}"},
            timeout=5,
        )
        assert profile.json()["userId"] == "admin"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held together, so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _non_loopback_ipv4_addresses() -> set[str]:
    """This machine's IPv4 addresses other than loopback (interfaces on Linux, else the default route's)."""
    found: set[str] = set()
    try:
        import fcntl

        for _, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
                request = struct.pack("256s", name.encode()[:15])
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
                found.add(socket.inet_ntoa(answer[20:24]))
    except (ImportError, OSError):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        found.add(probe.getsockname()[0])
    return {a for a in found if not ipaddress.ip_address(a).is_loopback and not a.startswith("0.")}


def _refused(address: str, port: int) -> bool:
    """Whether a connection to ``address:port`` is refused (any other failure is raised, not hidden)."""
    try:
        socket.create_connection((address, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@dataclasses.dataclass
class _Running:
    process: subprocess.Popen[str]
    exports: dict[str, str]
    gooddata_port: int
    auth0_port: int


@contextlib.contextmanager
def _entry_point(tenant_file: Path) -> Iterator[_Running]:
    """``reconcile sandbox --seed FILE --gooddata-port N --auth0-port M`` through the installed script."""
    assert ENTRY_POINT.is_file(), f"the reconcile entry point is not installed at {ENTRY_POINT}"
    gooddata_port, auth0_port = _free_ports(2)
    command = [str(ENTRY_POINT), "sandbox", "--seed", str(tenant_file)]
    command += ["--gooddata-port", str(gooddata_port), "--auth0-port", str(auth0_port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        exports = {}
        for _ in EXPORTED:
            word, assignment = shlex.split(process.stdout.readline())
            assert word == "export", assignment
            key, value = assignment.split("=", 1)
            exports[key] = value
        yield _Running(process, exports, gooddata_port, auth0_port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _tenant_file(tmp_path: Path, users: int) -> Path:
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(dataclasses.asdict(Auth0Seed.generate(users=users, roles=3, seed=2))), "utf-8")
    return path


def test_entry_point_serves_the_seed_on_the_given_loopback_ports(tmp_path: Path) -> None:
    with _entry_point(_tenant_file(tmp_path, users=23)) as running:
        exports = running.exports
        assert set(exports) == EXPORTED
        assert exports["AUTH0_DOMAIN"] == f"http://127.0.0.1:{running.auth0_port}"
        assert exports["GOODDATA_HOST"] == f"http://127.0.0.1:{running.gooddata_port}"
        for url in (exports["AUTH0_DOMAIN"], exports["GOODDATA_HOST"]):
            assert ipaddress.ip_address(urlsplit(url).hostname or "").is_loopback, url
        users = _auth0_users(exports)
        assert (users["total"], len(users["users"])) == (23, 23)
        layout = requests.get(
            exports["GOODDATA_HOST"] + "/api/v1/layout/users",
            headers={"Authorization": f"Bearer {exports['GOODDATA_TOKEN']}"},
            timeout=5,
        ).json()
        assert [u["id"] for u in layout["users"]] == ["admin"]  # the default GoodData seed
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=10) == 0
        assert running.process.stderr is not None
        stderr = running.process.stderr.read()
        assert "# sandbox stopped" in stderr and "Traceback" not in stderr, stderr


def test_entry_point_is_not_reachable_on_other_addresses(tmp_path: Path) -> None:
    addresses = _non_loopback_ipv4_addresses()
    if not addresses:
        pytest.skip("not checked: this machine has no non-loopback IPv4 address to try the ports on")
    with _entry_point(_tenant_file(tmp_path, users=3)) as running:
        for address in sorted(addresses):
            for port in (running.gooddata_port, running.auth0_port):
                assert _refused(address, port), f"port {port} accepts connections on {address}"
        # The same ports do answer on loopback, so the refusals above are not a server that is down.
        for port in (running.gooddata_port, running.auth0_port):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        ("--seed", "not json", "not a usable Auth0 tenant seed (Expecting value: line 1 column 1 (char 0))"),
        ("--seed", '{"foo": 1}', "not a usable Auth0 tenant seed (an Auth0 seed must be a JSON object"),
        ("--gooddata-seed", '{"foo": 1}', "not a usable GoodData seed (a GoodData seed must be a mapping"),
        ("--gooddata-seed", "users: [{id: bob}]\n", "the seed has no user 'admin', the API token's user"),
    ],
)
def test_a_bad_seed_is_one_line_naming_it(tmp_path: Path, option: str, content: str, message: str) -> None:
    seed = tmp_path / ("seed.yaml" if content.startswith("users:") else "seed.json")
    seed.write_text(content, encoding="utf-8")
    result = subprocess.run(
        [str(ENTRY_POINT), "sandbox", option, str(seed)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(ENTRY_POINT), "sandbox", "--gooddata-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert (
        result.stderr
        == f"error: cannot start the sandbox: port {port} on 127.0.0.1 is in use by another program\n"
    )
