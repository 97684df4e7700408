"""A Destination: one webhook URL, its queue, its worker thread and its delivery loop.

``submit`` only queues (the caller never waits). One thread per destination takes everything
pending, has the sink render it into as few messages as the service allows (coalescing), and
sends each: paced by the service's rate-limit headers, waiting exactly what a 429 asks,
retrying failures with backoff, giving up on what the service rejects. Whatever is lost on the
way — queue overflow, a rejected message, retries exhausted — is counted, logged, and announced
in the next message that gets through ("N alerts dropped").
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .._alert import Alert, make_alert
from .._errors import TransportError
from .._log import diagnostic
from .._redact import redact_url
from .._repeat import claim_installing_filter
from .._version import __version__
from .._worker import BatchWorker
from ._http import Response, post
from ._retry import RetryPolicy, pacing_delay, rate_limit_delay

__all__ = ["Destination", "Message", "Outcome", "Verdict", "classify_response"]

USER_AGENT = f"tocsin/{__version__} (+alerts; python-urllib3)"


class Outcome(enum.Enum):
    """What an answer means for the message that got it."""

    DELIVERED = "delivered"
    RETRY = "retry"
    """A passing failure (5xx, 408, no answer): try again after backoff."""
    RATE_LIMITED = "rate_limited"
    """429: wait what the service asks, then send the same message again."""
    REJECTED = "rejected"
    """The service refused this message (4xx): retrying would not help. Logged once, counted."""
    GONE = "gone"
    """The destination no longer exists (deleted webhook, revoked token): stop sending to it."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An :class:`Outcome`, with the wait the service asked for and its own error text."""

    outcome: Outcome
    delay: float | None = None
    detail: str = ""


def classify_response(response: Response) -> Verdict:
    """The generic reading of an HTTP answer; sinks refine it for their service.

    2xx delivered; 429 rate limited (wait from ``Retry-After``, ``retry_after``,
    ``X-RateLimit-Reset-After``); 5xx and 408 retried; 410 gone; other statuses rejected.
    """
    status = response.status
    if 200 <= status < 300:
        return Verdict(Outcome.DELIVERED)
    detail = f"HTTP {status}: {response.text()}"
    if status == 429:
        return Verdict(Outcome.RATE_LIMITED, rate_limit_delay(response), detail)
    if status >= 500 or status == 408:
        return Verdict(Outcome.RETRY, rate_limit_delay(response), detail)
    if status == 410:
        return Verdict(Outcome.GONE, None, detail)
    return Verdict(Outcome.REJECTED, None, detail)


@dataclasses.dataclass
class Message:
    """One request body carrying ``count`` alerts. Its ``id`` stays the same on every retry."""

    body: bytes
    count: int
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)


Render = Callable[[list[Alert]], list[Message]]
Sign = Callable[[Message], Mapping[str, str]]


def dropped_notice(count: int, destination: str) -> Alert:
    """The alert that announces lost ones, rendered by the sink like any other."""
    return make_alert(
        "warning",
        f"{count} alert{'s' if count != 1 else ''} dropped",
        f"tocsin could not deliver {count} alert{'s' if count != 1 else ''} to this destination "
        "(queue full, rejected, or retries exhausted). The alert log and tocsin's own log have them.",
        {"dropped": count, "destination": destination},
    )


class Destination:
    """Delivers alerts to one URL on one background thread; see the module docstring.

    :param name: the sink's name, for logs and the thread name.
    :param url: where to POST (a credential: it is never logged, only :func:`redact_url`).
    :param render: turns pending alerts into messages, as few as the service allows.
    :param classify: reads an answer (default :func:`classify_response`).
    :param sign: extra headers computed for each attempt (signatures with a timestamp).
    :param min_interval: seconds between two requests at least (services with a fixed rate).
    """

    def __init__(
        self,
        name: str,
        url: str,
        render: Render,
        *,
        classify: Callable[[Response], Verdict] = classify_response,
        headers: Mapping[str, str] | None = None,
        sign: Sign | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        capacity: int = 10_000,
        max_batch: int = 100,
        min_interval: float = 0.0,
        linger: float = 0.05,
    ) -> None:
        self.name = name
        self._url = url
        self.target = redact_url(url)
        self._render = render
        self._classify = classify
        self._headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        self._sign = sign
        self.retry = retry or RetryPolicy()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.min_interval = min_interval
        self._stop = threading.Event()
        self._not_before = 0.0
        self._lost_unreported = 0
        self.gone = False
        self.counters = {"delivered": 0, "messages": 0, "retries": 0, "rate_limited": 0, "failed": 0}
        self.last_error: str | None = None
        self._repeat = claim_installing_filter()  # repeat suppression (issue 10): its sink instance's filter
        self._worker: BatchWorker[Alert] = BatchWorker(
            f"deliver-{name}", self._deliver, capacity=capacity, max_batch=max_batch, linger=linger
        )

    # -- the caller's side -----------------------------------------------------------------

    def submit(self, alert: Alert) -> None:
        """Queue ``alert``; returns at once."""
        if self.gone:
            self.counters["failed"] += 1
            return
        self._worker.put(alert)

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for everything queued to be delivered or given up."""
        complete = self._worker.flush(timeout)
        if not complete:
            diagnostic("warning", "tocsin.delivery_flush_timeout", sink=self.name, target=self.target,
                       pending=self._worker.pending, timeout=timeout)
        return complete

    def close(self, timeout: float = 0.0) -> bool:
        """Flush for at most ``timeout`` seconds, then stop the thread (cutting any wait short)."""
        complete = self._worker.flush(timeout)
        self._stop.set()
        self._worker.close()
        return complete

    def status(self) -> dict[str, Any]:
        """Counters for ``tocsin sinks`` and ``Emitter.stats()``."""
        return {
            "target": self.target,
            "pending": self._worker.pending,
            "dropped": self._worker.dropped,
            **self.counters,
            "gone": self.gone,
            "last_error": self.last_error,
        }

    # -- the worker's side -----------------------------------------------------------------

    def _lose(self, count: int, reason: str) -> None:
        self.counters["failed"] += count
        self._lost_unreported += count
        self.last_error = reason

    def _deliver(self, alerts: list[Alert]) -> None:
        if self.gone:
            self.counters["failed"] += len(alerts)
            return
        if self._repeat is not None:  # repeat suppression (issue 10), cross-process, just before rendering
            alerts = self._repeat.filter(alerts)
        lost = self._worker.take_dropped() + self._lost_unreported
        self._lost_unreported = 0
        if lost:
            alerts = [dropped_notice(lost, self.name), *alerts]
        try:
            messages = self._render(alerts)
        except Exception as exc:
            self._lose(len(alerts), f"render failed: {type(exc).__name__}: {exc}")
            diagnostic("error", "tocsin.render_failed", sink=self.name, alerts=len(alerts),
                       error=f"{type(exc).__name__}: {exc}")
            return
        for index, message in enumerate(messages):
            if self._send(message) is None:  # the destination is gone: the rest is lost too
                self.counters["failed"] += sum(m.count for m in messages[index + 1 :])
                return

    def _wait_until(self, when: float) -> bool:
        """Sleep until monotonic time ``when``; False if the destination was closed meanwhile."""
        while (remaining := when - time.monotonic()) > 0:
            if self._stop.wait(remaining):
                return False
        return not self._stop.is_set()

    def _send(self, message: Message) -> bool | None:
        """Deliver one message: True when delivered, False when given up, None when the
        destination turned out to be gone."""
        attempt = 0
        while True:
            if not self._wait_until(self._not_before):
                self._lose(message.count, "closed before delivery")
                return False
            headers = dict(self._headers)
            headers.update(message.headers)
            if self._sign is not None:
                headers.update(self._sign(message))
            sent_at = time.monotonic()
            try:
                response = post(self._url, message.body, headers,
                                connect_timeout=self.connect_timeout, read_timeout=self.read_timeout)
            except TransportError as exc:
                verdict = Verdict(Outcome.RETRY, None, str(exc))
            else:
                verdict = self._classify(response)
                pace = pacing_delay(response)
                if pace is not None:
                    self._not_before = max(self._not_before, time.monotonic() + pace)
            self._not_before = max(self._not_before, sent_at + self.min_interval)

            if verdict.outcome is Outcome.DELIVERED:
                self.counters["delivered"] += message.count
                self.counters["messages"] += 1
                return True
            if verdict.outcome is Outcome.RATE_LIMITED:
                self.counters["rate_limited"] += 1
                wait = verdict.delay if verdict.delay is not None else self.retry.backoff(1)
                self._not_before = max(self._not_before, time.monotonic() + wait)
                diagnostic("info", "tocsin.rate_limited", sink=self.name, target=self.target, wait_s=round(wait, 3))
                continue
            if verdict.outcome is Outcome.RETRY:
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    self._lose(message.count, verdict.detail)
                    diagnostic("error", "tocsin.delivery_failed", sink=self.name, target=self.target,
                               alerts=message.count, attempts=attempt, error=verdict.detail)
                    return False
                self.counters["retries"] += 1
                wait = max(self.retry.backoff(attempt), verdict.delay or 0.0)
                self._not_before = max(self._not_before, time.monotonic() + wait)
                diagnostic("warning", "tocsin.delivery_retry", sink=self.name, target=self.target,
                           attempt=attempt, wait_s=round(wait, 3), error=verdict.detail)
                continue
            if verdict.outcome is Outcome.GONE:
                self.gone = True
                self._lose(message.count, verdict.detail)
                diagnostic("critical", "tocsin.destination_gone", sink=self.name, target=self.target,
                           error=verdict.detail, note="no more alerts are sent to it by this process")
                return None
            # REJECTED: the service's own words, once; retrying the same body would not help.
            self._lose(message.count, verdict.detail)
            diagnostic("error", "tocsin.delivery_rejected", sink=self.name, target=self.target,
                       alerts=message.count, error=verdict.detail)
            return False
