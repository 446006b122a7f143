"""GoodData settings from the environment, and document checks made before any request."""

from __future__ import annotations

import pytest

from reconciler.gooddata import GoodDataClient, GoodDataSettings
from reconciler.model import Document, GoodDataError, ReconcilerError
from reconciler.transport import RetryPolicy

TOKEN = "gd-token-that-must-not-leak"


def test_settings_read_host_and_token() -> None:
    settings = GoodDataSettings.from_env({"GOODDATA_HOST": "http://127.0.0.1:3000/", "GOODDATA_TOKEN": TOKEN})
    assert settings.host == "http://127.0.0.1:3000"
    assert settings.token == TOKEN


def test_bare_host_means_https() -> None:
    settings = GoodDataSettings.from_env(
        {"GOODDATA_HOST": "acme.cloud.gooddata.com", "GOODDATA_TOKEN": TOKEN}
    )
    assert settings.host == "https://acme.cloud.gooddata.com"


@pytest.mark.parametrize("missing", ["GOODDATA_HOST", "GOODDATA_TOKEN"])
def test_missing_variable_is_named_without_values(missing: str) -> None:
    environ = {"GOODDATA_HOST": "http://127.0.0.1:3000", "GOODDATA_TOKEN": TOKEN}
    del environ[missing]
    with pytest.raises(ReconcilerError) as caught:
        GoodDataSettings.from_env(environ)
    assert missing in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_repr_hides_the_token() -> None:
    settings = GoodDataSettings(host="http://127.0.0.1:3000", token=TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN not in repr(GoodDataClient(settings))


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (Document("workspace_permissions", "demo", {"permissions": []}), "hierarchyPermissions"),
        (Document("users_and_groups", "", {"users": []}), "userGroups"),
        (Document("data_source_permissions", "demo-ds", {}), "permissions"),
        (Document("organization_permissions", "", {"permissions": []}), "JSON list"),
    ],
)
def test_incomplete_documents_are_refused_before_any_request(document: Document, expected: str) -> None:
    # Port 9 (discard) is never contacted: the check happens first, so no request is counted.
    client = GoodDataClient(
        GoodDataSettings(host="http://127.0.0.1:9", token=TOKEN), policy=RetryPolicy(attempts=1)
    )
    with pytest.raises(GoodDataError) as caught:
        client.write(document)
    assert expected in str(caught.value)
    assert client.requests == 0
