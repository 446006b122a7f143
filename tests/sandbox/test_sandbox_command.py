"""``reconcile sandbox``: prints the environment, serves until interrupted, exits cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

SCRIPT = "from reconciler.sandbox.command import sandbox_command; sandbox_command()"


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
        token = requests.post(
            exports["AUTH0_DOMAIN"] + "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": exports["AUTH0_CLIENT_ID"],
                "client_secret": exports["AUTH0_CLIENT_SECRET"],
                "audience": exports["AUTH0_DOMAIN"] + "/api/v2/",
            },
            timeout=5,
        ).json()["access_token"]
        users = requests.get(
            exports["AUTH0_DOMAIN"] + "/api/v2/users",
            params={"include_totals": "true", "per_page": "100"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
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
