"""The shared retry policy: how long to wait, and the tenacity loop built from it."""

from __future__ import annotations

import email.utils
from typing import ClassVar

import pytest

from reconciler.transport import RetryPolicy, header_value

NOW = 1_700_000_000.0


def test_retry_after_seconds_is_honoured() -> None:
    policy = RetryPolicy(max_delay=10.0)
    assert policy.wait_seconds(1, {"Retry-After": "3"}, now=NOW) == 3.0


def test_retry_after_is_capped_at_max_delay() -> None:
    policy = RetryPolicy(max_delay=2.5)
    assert policy.wait_seconds(1, {"Retry-After": "120"}, now=NOW) == 2.5


def test_retry_after_http_date_counts_from_now() -> None:
    date = email.utils.formatdate(NOW + 4, usegmt=True)
    assert RetryPolicy().wait_seconds(1, {"retry-after": date}, now=NOW) == pytest.approx(4.0)


def test_retry_after_date_in_the_past_means_no_wait() -> None:
    date = email.utils.formatdate(NOW - 30, usegmt=True)
    assert RetryPolicy().wait_seconds(1, {"Retry-After": date}, now=NOW) == 0.0


def test_ratelimit_reset_epoch_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_delay=5.0)
    assert policy.wait_seconds(1, {"X-RateLimit-Reset": str(int(NOW) + 2)}, now=NOW) == 2.0
    assert policy.wait_seconds(1, {"x-ratelimit-reset": str(int(NOW) + 600)}, now=NOW) == 5.0
    assert policy.wait_seconds(1, {"x-ratelimit-reset": str(int(NOW) - 5)}, now=NOW) == 0.0


def test_retry_after_wins_over_ratelimit_reset() -> None:
    headers = {"Retry-After": "1", "x-ratelimit-reset": str(int(NOW) + 9)}
    assert RetryPolicy().wait_seconds(1, headers, now=NOW) == 1.0


def test_unparseable_hints_fall_back_to_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=10.0)
    headers = {"Retry-After": "soon", "x-ratelimit-reset": "later"}
    assert policy.wait_seconds(3, headers, now=NOW, jitter=lambda: 1.0) == 2.0


def test_backoff_is_exponential_bounded_and_fully_jittered() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=1.0)
    assert policy.wait_seconds(1, None, jitter=lambda: 1.0) == pytest.approx(0.2)
    assert policy.wait_seconds(2, None, jitter=lambda: 1.0) == pytest.approx(0.4)
    assert policy.wait_seconds(3, None, jitter=lambda: 1.0) == pytest.approx(0.8)
    assert policy.wait_seconds(4, None, jitter=lambda: 1.0) == pytest.approx(1.0)
    assert policy.wait_seconds(30, None, jitter=lambda: 1.0) == pytest.approx(1.0)
    assert policy.wait_seconds(3, None, jitter=lambda: 0.5) == pytest.approx(0.4)
    assert policy.wait_seconds(3, None, jitter=lambda: 0.0) == 0.0


def test_header_lookup_is_case_insensitive_and_accepts_lists() -> None:
    assert header_value({"RETRY-AFTER": " 7 "}, "retry-after") == "7"
    assert header_value({"Retry-After": ["8"]}, "Retry-After") == "8"
    assert header_value({}, "Retry-After") is None
    assert header_value(None, "Retry-After") is None


class Flaky(Exception):
    """A retryable failure carrying a Retry-After hint."""

    headers: ClassVar[dict[str, str]] = {"Retry-After": "0.25"}


class Fatal(Exception):
    """A failure that must not be retried."""


def test_retrying_retries_then_succeeds_with_the_hinted_waits() -> None:
    waits: list[float] = []
    calls = 0

    def flaky_twice() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise Flaky()
        return "ok"

    policy = RetryPolicy(attempts=5, max_delay=1.0)
    retrying = policy.retrying(
        lambda error: isinstance(error, Flaky),
        lambda error: getattr(error, "headers", None),
        sleep=waits.append,
    )
    assert retrying(flaky_twice) == "ok"
    assert calls == 3
    assert waits == [0.25, 0.25]


def test_retrying_stops_after_the_attempt_budget_and_reraises() -> None:
    calls = 0

    def always_flaky() -> None:
        nonlocal calls
        calls += 1
        raise Flaky()

    retrying = RetryPolicy(attempts=3).retrying(lambda error: isinstance(error, Flaky), sleep=lambda _s: None)
    with pytest.raises(Flaky):
        retrying(always_flaky)
    assert calls == 3


def test_retrying_does_not_retry_a_fatal_error() -> None:
    calls = 0

    def fatal() -> None:
        nonlocal calls
        calls += 1
        raise Fatal()

    retrying = RetryPolicy(attempts=6).retrying(lambda error: isinstance(error, Flaky), sleep=lambda _s: None)
    with pytest.raises(Fatal):
        retrying(fatal)
    assert calls == 1
