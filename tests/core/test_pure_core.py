"""The core (model, diff, plan, safety, rendering, desired state) imports no SDK and no HTTP client."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "reconciler.model",
    "reconciler.canonical",
    "reconciler.environment",
    "reconciler.transport",
    "reconciler.diff",
    "reconciler.writes",
    "reconciler.plan",
    "reconciler.safety",
    "reconciler.render.text",
    "reconciler.render.markdown",
    "reconciler.render.json",
    "reconciler.desired_state.loader",
    "reconciler.desired_state.export",
]
FORBIDDEN = ["gooddata_sdk", "gooddata_api_client", "auth0", "httpx", "requests", "urllib3", "werkzeug"]


def test_core_modules_import_no_sdk() -> None:
    script = (
        f"import sys\nfor name in {CORE!r}: __import__(name)\n"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_check_would_notice_an_sdk_import() -> None:
    script = "import sys, reconciler.gooddata.client\nprint('gooddata_sdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
