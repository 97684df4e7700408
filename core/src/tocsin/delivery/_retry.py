"""When to try again: backoff for failures, and the waits that rate-limited services ask for."""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Final

from ._http import Response

__all__ = ["RetryPolicy", "pacing_delay", "rate_limit_delay"]

_MAX_WAIT: Final = 3600.0
_RNG: Final = random.Random()  # noqa: S311 - jitter, not cryptography  # a service asking for more than an hour is broken or banning us


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to try again after connection errors, timeouts, 5xx and 408.

    Failed attempt ``n`` (1-based) waits about ``backoff_base * 2 ** (n - 1)`` seconds, at most
    ``backoff_max``, each wait drawn in its upper half at random ("equal jitter") so that many
    processes retrying together spread out. An alert is retried for as long as an outage lasts,
    until it is older than ``max_age`` seconds; then it is given up, logged and counted. A wait
    that a service states (``Retry-After`` on a 429) is honoured exactly and is not an attempt.
    """

    backoff_base: float = 0.5
    backoff_max: float = 60.0
    max_age: float = 3600.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(64, max(0, attempt - 1)))
        return ceiling / 2 + (rng or _RNG).uniform(0, ceiling / 2)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        # Retry-After may be an HTTP date (rare: import the parser only then).
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), _MAX_WAIT)


def rate_limit_delay(response: Response) -> float | None:
    """Seconds a 429 (or 503) answer asks us to wait: the longest of ``Retry-After``, a JSON
    body's ``retry_after`` (Discord) and ``X-RateLimit-Reset-After``; None if none is given."""
    candidates = [_seconds(response.headers.get("retry-after")),
                  _seconds(response.headers.get("x-ratelimit-reset-after"))]
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
        candidates.append(_seconds(str(body["retry_after"])))
    found = [c for c in candidates if c is not None]
    return max(found) if found else None


def pacing_delay(response: Response) -> float | None:
    """Seconds to hold the next request after an ordinary answer whose ``X-RateLimit-Remaining``
    is 0, so that we wait for the bucket to refill instead of running into a 429."""
    if response.headers.get("x-ratelimit-remaining", "").strip() not in ("0", "0.0"):
        return None
    after = _seconds(response.headers.get("x-ratelimit-reset-after"))
    if after is not None:
        return after
    try:  # X-RateLimit-Reset: the epoch second at which the bucket refills
        at = float(response.headers.get("x-ratelimit-reset", ""))
    except ValueError:
        return None
    return min(_MAX_WAIT, max(0.0, at - time.time()))
