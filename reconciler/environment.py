"""Reading the adapters' settings from environment variables: every missing one named at once.

Pure: no SDK import and no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from reconciler.model import ReconcilerError

#: A required setting: its variable names; the first one set wins (``AUTH0_CLIENT_SECRET``, ``AUTH0_SECRET``).
Variable = tuple[str, ...]


def required_values(environ: Mapping[str, str], variables: Iterable[Variable]) -> dict[str, str]:
    """The value of each variable (keyed by its first name); one error naming every one that is missing."""
    values: dict[str, str] = {}
    unset: list[str] = []
    empty: list[str] = []
    for names in variables:
        found = next((environ[name].strip() for name in names if environ.get(name, "").strip()), None)
        if found is not None:
            values[names[0]] = found
        elif any(name in environ for name in names):
            empty.append(" or ".join(names))
        else:
            unset.append(" or ".join(names))
    problems = []
    if unset:
        problems.append(f"{_variables(unset)} {'is' if len(unset) == 1 else 'are'} not set")
    if empty:
        problems.append(f"{_variables(empty)} {'is' if len(empty) == 1 else 'are'} empty")
    if problems:
        raise ReconcilerError("; ".join(problems))
    return values


def _variables(names: list[str]) -> str:
    noun = "environment variable" if len(names) == 1 else "environment variables"
    return f"{noun} {', '.join(names)}"


def checked_url(name: str, value: str, *, what: str) -> tuple[str, bool]:
    """``(scheme://host[:port][/path], https_assumed)`` for a bare host name or an http(s) URL.

    A user name or password inside the URL is refused without being repeated: the credentials
    belong in their own variables, which are redacted from every output.
    """
    https_assumed = "://" not in value
    url = f"https://{value}" if https_assumed else value
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReconcilerError(f"{name} must be {what} or an http(s):// URL")
    if "@" in parts.netloc:
        raise ReconcilerError(
            f"{name} holds a user name or password; remove it (credentials go in their own variables)"
        )
    return url.rstrip("/"), https_assumed
