"""Settings from the environment: every missing variable named at once, no credentials in URLs."""

from __future__ import annotations

import pytest

from reconciler.environment import checked_url, required_values
from reconciler.model import ReconcilerError

VARIABLES = (("AUTH0_DOMAIN",), ("AUTH0_CLIENT_SECRET", "AUTH0_SECRET"), ("GOODDATA_TOKEN",))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {},
            "environment variables AUTH0_DOMAIN, AUTH0_CLIENT_SECRET or AUTH0_SECRET, GOODDATA_TOKEN "
            "are not set",
        ),
        (
            {"AUTH0_DOMAIN": "a", "AUTH0_SECRET": " "},
            "environment variable GOODDATA_TOKEN is not set; "
            "environment variable AUTH0_CLIENT_SECRET or AUTH0_SECRET is empty",
        ),
    ],
)
def test_every_missing_variable_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        required_values(environ, VARIABLES)
    assert str(caught.value) == message


def test_the_first_alternative_that_is_set_wins() -> None:
    values = required_values(
        {
            "AUTH0_DOMAIN": " acme.eu.auth0.com ",
            "AUTH0_CLIENT_SECRET": "",
            "AUTH0_SECRET": "s",
            "GOODDATA_TOKEN": "t",
        },
        VARIABLES,
    )
    assert values == {"AUTH0_DOMAIN": "acme.eu.auth0.com", "AUTH0_CLIENT_SECRET": "s", "GOODDATA_TOKEN": "t"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.cloud.gooddata.com", ("https://acme.cloud.gooddata.com", True)),
        ("http://127.0.0.1:3000/", ("http://127.0.0.1:3000", False)),
    ],
)
def test_checked_url(value: str, expected: tuple[str, bool]) -> None:
    assert checked_url("GOODDATA_HOST", value, what="a host name") == expected


@pytest.mark.parametrize("value", ["http://user:hunter2pass@127.0.0.1:1", "bob:hunter2pass@acme.com"])
def test_credentials_in_a_url_are_refused_without_repeating_them(value: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        checked_url("GOODDATA_HOST", value, what="a host name")
    assert str(caught.value) == (
        "GOODDATA_HOST holds a user name or password; remove it (credentials go in their own variables)"
    )
    assert "hunter2" not in str(caught.value)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ReconcilerError, match="AUTH0_DOMAIN must be a domain name or an http"):
        checked_url("AUTH0_DOMAIN", "ftp://acme", what="a domain name")
