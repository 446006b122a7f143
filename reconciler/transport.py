"""The retry policy shared by the identity-provider and GoodData adapters.

Pure: no SDK import and no I/O. The adapters decide *which* failures are worth another
attempt; this module decides *how long* to wait and builds the ``tenacity`` loop.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tenacity

HeaderLookup = Callable[[BaseException], Mapping[str, Any] | None]

log = logging.getLogger("reconciler.transport")


def _no_headers(_error: BaseException) -> Mapping[str, Any] | None:
    return None


def header_value(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive lookup of one header in any mapping (dict, httpx or urllib3 headers)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value).strip()
    return None


def _seconds_from_retry_after(value: str, now: float) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return email.utils.mktime_tz(parsed) - now


def _seconds_from_reset(value: str, now: float) -> float | None:
    try:
        return float(value) - now
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried, and how long one request may take.

    ``attempts`` counts every try, the first one included. ``timeout`` bounds one request.
    """

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 10.0
    timeout: float = 30.0

    def wait_seconds(
        self,
        attempt: int,
        headers: Mapping[str, Any] | None = None,
        *,
        now: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The server's own hint wins: ``Retry-After`` (seconds or an HTTP date), then
        ``x-ratelimit-reset`` (epoch seconds), both capped at ``max_delay``. Without a hint,
        bounded exponential backoff with full jitter: a random wait between zero and
        ``min(max_delay, base_delay * 2 ** (attempt - 1))``.
        """
        current = time.time() if now is None else now
        retry_after = header_value(headers, "Retry-After")
        hinted: float | None = None
        if retry_after is not None:
            hinted = _seconds_from_retry_after(retry_after, current)
        if hinted is None:
            reset = header_value(headers, "x-ratelimit-reset")
            if reset is not None:
                hinted = _seconds_from_reset(reset, current)
        if hinted is not None:
            return min(max(hinted, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempt - 1, 0))
        return float(max(0.0, ceiling * jitter()))

    def tenacity_wait(self, headers_of: HeaderLookup = _no_headers) -> tenacity.wait.wait_base:
        """A ``tenacity`` wait strategy applying :meth:`wait_seconds` to the failed attempt."""
        return _PolicyWait(self, headers_of)

    def retrying(
        self,
        should_retry: Callable[[BaseException], bool],
        headers_of: HeaderLookup = _no_headers,
        *,
        label: str = "request",
        sleep: Callable[[float], None] = time.sleep,
    ) -> tenacity.Retrying:
        """A ``tenacity.Retrying`` loop: at most ``attempts`` tries, the last error re-raised.

        Each retry is logged (at INFO, so ``--debug`` shows it) with ``label``, the attempt, the kind
        of failure and the wait; never the error's text, which may quote a request.
        """

        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            status = getattr(error, "status", None) or getattr(error, "status_code", None)
            what = f"{type(error).__name__}{f' {status}' if isinstance(status, int) else ''}"
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            log.info(
                "%s: attempt %d of %d failed (%s); retrying in %.2f s",
                label,
                state.attempt_number,
                self.attempts,
                what,
                wait,
            )

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(self.attempts, 1)),
            wait=self.tenacity_wait(headers_of),
            retry=tenacity.retry_if_exception(should_retry),
            reraise=True,
            sleep=sleep,
            before_sleep=log_retry,
        )


class _PolicyWait(tenacity.wait.wait_base):
    """Tenacity adapter: reads the hint headers from the exception that ended the attempt."""

    def __init__(self, policy: RetryPolicy, headers_of: HeaderLookup) -> None:
        self._policy = policy
        self._headers_of = headers_of

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        headers: Mapping[str, Any] | None = None
        outcome = retry_state.outcome
        if outcome is not None and outcome.failed:
            error = outcome.exception()
            if error is not None:
                headers = self._headers_of(error)
        return self._policy.wait_seconds(retry_state.attempt_number, headers)
