"""Auth0 settings from the environment: URL forms, secret hygiene, clear errors."""

from __future__ import annotations

import pytest

from reconciler.identity.auth0 import Auth0Provider, Auth0Settings
from reconciler.model import ReconcilerError

SECRET = "s3cr3t-value-that-must-not-leak"


def env(**overrides: str) -> dict[str, str]:
    base = {"AUTH0_DOMAIN": "acme.eu.auth0.com", "AUTH0_CLIENT_ID": "client-1", "AUTH0_CLIENT_SECRET": SECRET}
    base.update(overrides)
    return {key: value for key, value in base.items() if value}


def test_bare_domain_means_https_and_the_tenant_audience() -> None:
    settings = Auth0Settings.from_env(env())
    assert settings.base_url == "https://acme.eu.auth0.com"
    assert settings.domain == "acme.eu.auth0.com"
    assert settings.protocol == "https"
    assert settings.management_url == "https://acme.eu.auth0.com/api/v2"
    assert settings.audience == "https://acme.eu.auth0.com/api/v2/"


def test_http_url_is_kept_for_a_local_sandbox() -> None:
    settings = Auth0Settings.from_env(env(AUTH0_DOMAIN="http://127.0.0.1:8123/"))
    assert settings.base_url == "http://127.0.0.1:8123"
    assert settings.domain == "127.0.0.1:8123"
    assert settings.protocol == "http"
    assert settings.audience == "http://127.0.0.1:8123/api/v2/"


def test_audience_can_be_overridden() -> None:
    settings = Auth0Settings.from_env(env(AUTH0_AUDIENCE="https://acme.auth0.com/api/v2/"))
    assert settings.audience == "https://acme.auth0.com/api/v2/"


def test_auth0_secret_is_accepted_as_the_secret_name() -> None:
    settings = Auth0Settings.from_env(env(AUTH0_CLIENT_SECRET="", AUTH0_SECRET="other-secret"))
    assert settings.client_secret == "other-secret"


@pytest.mark.parametrize("missing", ["AUTH0_DOMAIN", "AUTH0_CLIENT_ID"])
def test_missing_variable_is_named(missing: str) -> None:
    with pytest.raises(ReconcilerError) as caught:
        Auth0Settings.from_env(env(**{missing: ""}))
    assert missing in str(caught.value)
    assert SECRET not in str(caught.value)


def test_missing_secret_names_both_accepted_variables() -> None:
    with pytest.raises(ReconcilerError) as caught:
        Auth0Settings.from_env(env(AUTH0_CLIENT_SECRET=""))
    assert "AUTH0_CLIENT_SECRET or AUTH0_SECRET" in str(caught.value)


def test_unsupported_scheme_is_rejected_without_echoing_values() -> None:
    with pytest.raises(ReconcilerError) as caught:
        Auth0Settings.from_env(env(AUTH0_DOMAIN="ftp://acme.auth0.com"))
    assert "AUTH0_DOMAIN" in str(caught.value)


def test_repr_never_shows_the_secret() -> None:
    settings = Auth0Settings.from_env(env())
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in repr(Auth0Provider(settings))
    assert "client-1" in repr(settings)
