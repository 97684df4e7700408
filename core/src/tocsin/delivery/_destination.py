"""A Destination: one webhook URL, its queue, its senders and its delivery loop.

``submit`` only queues (the caller never waits). A small set of sender threads, at most
``max_concurrency`` and never more because more alerts come, take what is pending, have the
sink render it into as few messages as the service allows (coalescing), and send them:

* **concurrently**, as many requests in flight as an adaptive limit allows (AIMD, as Vector's
  adaptive request concurrency: start at 1, one more while answers succeed and latency stays
  flat, half as many on 429, 5xx and timeouts);
* **paced** by the service: a stated wait (``Retry-After``, rate-limit headers) is honoured
  exactly, for the whole destination; a 429 without a usable wait backs off like a 5xx, with a
  floor, so that it can never become a hot loop;
* **retried as long as an outage lasts**: connection errors, timeouts, 5xx and 408 back off
  exponentially with jitter (capped) until the alert is older than ``max_age``; a message
  waiting for its retry is parked, so the others go out meanwhile (order is best effort);
* **within a deadline for the whole request** (see :mod:`._http`);
* **one poisoned alert costing only itself**: a batch whose rendering raises is rendered one
  alert at a time; a multi-alert message the service rejects with a 4xx is split in halves
  until the rejected alert is alone; what cannot be sent is dropped, counted, logged (with its
  traceback) and announced in the next message ("N alerts dropped").

The queue is bounded in alerts and in bytes; the oldest are dropped (counted, announced).
When the destination closes (at interpreter exit, after the flush), whatever is still pending
goes to the spool (:mod:`._spool`), and a later process that starts the same destination
delivers it. With ``durable``, each alert is written to the spool before ``submit`` returns.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import heapq
import itertools
import os
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from .._alert import Alert, make_alert
from .._errors import TransportError
from .._log import diagnostic
from .._redact import redact_url, register_secret
from .._repeat import claim_installing_filter
from .._version import __version__
from ._http import Response, post
from ._retry import RetryPolicy, pacing_delay, rate_limit_delay
from ._spool import Spool, destination_key

__all__ = ["Destination", "Message", "Outcome", "Verdict", "classify_response"]

_LIVE: weakref.WeakSet[Destination] = weakref.WeakSet()


def live_destinations() -> list[Destination]:
    """Every destination of this process that is still referenced (``tocsin spool deliver``
    drains them all, whatever sink built them: one per sink, or one per peer)."""
    return list(_LIVE)

USER_AGENT = f"tocsin/{__version__} (+alerts; python-urllib3)"

_IDLE_EXIT: Final = 10.0  # seconds a sender with nothing to do waits before its thread ends
_THROTTLE_FLOOR: Final = 1.0  # the least wait after a 429 that states no usable wait
_CLAIM_CHUNK: Final = 500  # spooled alerts taken into the queue at once
_RECOVERY: Final = 2.0  # seconds of failures in a row after which a success releases the parked
_ALERT_OVERHEAD: Final = 512  # bytes an alert costs beyond its text (objects, rendering)


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
    detail = response.summary()
    if status == 429:
        return Verdict(Outcome.RATE_LIMITED, rate_limit_delay(response), detail)
    if status >= 500 or status == 408:
        return Verdict(Outcome.RETRY, rate_limit_delay(response), detail)
    if status == 410:
        return Verdict(Outcome.GONE, None, detail)
    return Verdict(Outcome.REJECTED, None, detail)


@dataclasses.dataclass
class Message:
    """One request carrying ``count`` alerts.

    :param body: the request body.
    :param count: how many alerts it carries (the messages of one :meth:`render` call, in
        order, carry its alerts in order: that is how a rejected message is traced back to them).
    :param headers: headers of this request only (they must be text a header can hold: a
        value that cannot be encoded costs this message, counted and logged).
    :param id: stays the same on every attempt (signed webhooks send it as ``webhook-id``).
    :param url: where to send this message, when not to the sink's ``url`` (an ntfy topic per
        alert, say). Treated as a secret automatically: it never appears in a log line.
    """

    body: bytes
    count: int
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    url: str | None = None


Render = Callable[[list[Alert]], list[Message]]
Sign = Callable[[Message], Mapping[str, str]]


def dropped_notice(count: int, destination: str) -> Alert:
    """The alert that announces lost ones, rendered by the sink like any other."""
    return make_alert(
        "warning",
        f"{count} alert{'s' if count != 1 else ''} dropped",
        f"tocsin could not deliver {count} alert{'s' if count != 1 else ''} to this destination "
        "(queue full, rejected, or too old to retry). The alert log and tocsin's own log have them.",
        {"dropped": count, "destination": destination},
    )


def alert_size(alert: Alert) -> int:
    """About how many bytes an alert holds in memory, for the queue's byte bound."""
    return _ALERT_OVERHEAD + len(alert.title) + len(alert.message) + len(alert.context_json)


@dataclasses.dataclass(eq=False)
class _Job:
    """A rendered message on its way, with the alerts it carries."""

    message: Message
    alerts: list[Alert]
    notices: int = 0  # lost alerts this message announces
    attempt: int = 0
    born: float = 0.0  # wall-clock time of its oldest alert: retries stop at max_age


class _Limiter:
    """Adaptive concurrency (AIMD): how many requests may be in flight now.

    Starts at 1. An answer that succeeded while the limit was in use, with a round-trip time
    not above the moving average by more than the usual deviation, allows one more; a 429, 5xx
    or timeout halves the limit (at most once per round trip, so that a burst of failures
    answering together counts once). Always within [1, maximum].
    """

    ALPHA: Final = 0.4
    DEVIATIONS: Final = 2.5

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = 1
        self.rtt: float | None = None
        self.deviation = 0.0
        self._last_decrease = 0.0

    def succeeded(self, rtt: float, in_use: bool) -> None:
        if self.rtt is None:
            self.rtt = rtt
        flat = rtt <= self.rtt + max(self.DEVIATIONS * self.deviation, 0.25 * self.rtt, 0.002)
        self.deviation += self.ALPHA * (abs(rtt - self.rtt) - self.deviation)
        self.rtt += self.ALPHA * (rtt - self.rtt)
        if flat and in_use and self.limit < self.maximum:
            self.limit += 1

    def pushed_back(self, now: float) -> None:
        if now - self._last_decrease >= (self.rtt or 0.05):
            self.limit = max(1, self.limit // 2)
            self._last_decrease = now


class Destination:
    """Delivers alerts to one URL from a bounded set of sender threads; see the module docstring.

    :param name: the sink's name, for logs and thread names.
    :param url: where to POST (a credential: it is never logged, only :func:`redact_url`).
    :param render: turns pending alerts into messages, as few as the service allows.
    :param classify: reads an answer (default :func:`classify_response`).
    :param sign: extra headers computed for each attempt (signatures with a timestamp).
    :param retry: backoff and ``max_age`` (:class:`RetryPolicy`).
    :param request_timeout: the deadline of a whole request (connect, send, full answer).
    :param capacity: the most alerts queued; ``max_queue_bytes``: the most bytes queued.
    :param max_concurrency: the most requests in flight (and sender threads).
    :param min_interval: seconds between two requests at least (services with a fixed rate).
    :param spool: where pending alerts go at close, and come back from (None: nowhere).
    :param durable: write each alert to the spool before :meth:`submit` returns.
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
        request_timeout: float = 15.0,
        capacity: int = 10_000,
        max_queue_bytes: int = 32 * 1024 * 1024,
        max_batch: int = 100,
        max_concurrency: int = 8,
        min_interval: float = 0.0,
        linger: float = 0.05,
        spool: Spool | None = None,
        durable: bool = False,
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
        self.request_timeout = request_timeout
        self.capacity = max(1, capacity)
        self.max_queue_bytes = max(1, max_queue_bytes)
        self.max_batch = max(1, max_batch)
        self.max_concurrency = max(1, max_concurrency)
        self.min_interval = min_interval
        self.linger = max(0.0, linger)
        self.spool = spool
        self.durable = durable and spool is not None
        self.key = destination_key(name, url)
        self.gone = False
        self.counters = {"delivered": 0, "messages": 0, "retries": 0, "rate_limited": 0, "failed": 0}
        self.last_error: str | None = None
        self._repeat = claim_installing_filter()  # its sink instance's repeat suppression, if any
        _LIVE.add(self)
        self._reset()
        ref = weakref.ref(self)

        # After fork() the child has the queue but not the threads, and the lock may be held by
        # a thread that does not exist there: start afresh (the parent still owns its alerts).
        def after_fork_in_child() -> None:
            destination = ref()
            if destination is not None:
                destination._reset()

        os.register_at_fork(after_in_child=after_fork_in_child)
        if spool is not None and spool.exists():
            # Alerts an earlier process left for this destination: deliver them in the background.
            with self._lock:
                self._spool_more = True
                self._start_sender()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # senders wait on it
        self._done_cv = threading.Condition(self._lock)  # flush() waits on it
        self._queue: collections.deque[tuple[Alert, int]] = collections.deque()
        self._queued_bytes = 0
        self._first_queued_at = 0.0
        self._ready: collections.deque[_Job] = collections.deque()
        self._parked: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._in_flight: set[_Job] = set()
        self._threads: set[threading.Thread] = set()
        self._waiting = 0
        self._flushers = 0
        self._put = 0
        self._done = 0
        self._dropped = 0
        self._lost_unreported = 0
        self._limiter = _Limiter(self.max_concurrency)
        self._not_before = 0.0
        self._header_paced = False
        self._throttled = 0  # 429s in a row that stated no usable wait
        self._streak = 0  # failures in a row (5xx, timeouts) of the destination, whatever the message
        self._failing_since: float | None = None
        self._closed = False
        self._in_spool: set[str] = set()  # ids of alerts with a row in the spool
        self._spool_garbage: list[str] = []  # ids whose rows to delete (dropped from the queue)
        self._spool_more = False
        self._claiming = False
        self._next_renew = 0.0

    # -- the caller's side -----------------------------------------------------------------

    def submit(self, alert: Alert) -> None:
        """Queue ``alert``; returns at once (after one spool write when ``durable``)."""
        if self.gone:
            self.counters["failed"] += 1
            return
        spooled = False
        if self.durable and self.spool is not None:
            try:
                self.spool.add(self.key, self.name, self.target, [alert], owned=True)
                spooled = True
            except Exception as exc:
                diagnostic("error", "tocsin.spool_failed", sink=self.name, error=exc,
                           traceback=traceback.format_exc())
        dropped = 0
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                dropped = self._enqueue(alert, spooled)
        if closed:  # emitted after the exit flush: keep it for the next process
            self._spool_away([alert], "closed")
        elif dropped and _is_power_of_ten(self._dropped):
            diagnostic("warning", "tocsin.queue_full_dropped_oldest", sink=self.name, target=self.target,
                       dropped=self._dropped, capacity=self.capacity, max_queue_bytes=self.max_queue_bytes)

    def _enqueue(self, alert: Alert, spooled: bool) -> int:
        """Under the lock: queue one alert, dropping the oldest beyond the bounds."""
        size = alert_size(alert)
        if not self._queue:
            self._first_queued_at = time.monotonic()
        self._queue.append((alert, size))
        self._queued_bytes += size
        self._put += 1
        if spooled:
            self._in_spool.add(alert.id)
        dropped = 0
        while len(self._queue) > self.capacity or (self._queued_bytes > self.max_queue_bytes and len(self._queue) > 1):
            old, old_size = self._queue.popleft()
            self._queued_bytes -= old_size
            self._dropped += 1
            self._lost_unreported += 1
            self.counters["failed"] += 1
            self._done += 1
            dropped += 1
            if old.id in self._in_spool:
                self._in_spool.discard(old.id)
                self._spool_garbage.append(old.id)
        if self._waiting and len(self._queue) == 1:
            # Only the first alert wakes a sender: one that lingers or works finds the others,
            # and waking a thread on every emit would cost the emitting thread.
            self._work.notify()
        if not self._threads:
            self._start_sender()
        return dropped

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for everything queued so far to be delivered or
        given up. True when it was."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            target = self._put
            self._flushers += 1
            self._work.notify_all()  # cut a linger short
            if self._done < target and not self._threads:
                self._start_sender()
            try:
                # No sender could start (Python 3.12+ refuses threads at shutdown): waiting would
                # only delay the exit; close() spools what is left.
                while self._done < target and self._threads:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._done_cv.wait(remaining)
                complete = self._done >= target
                pending = self._put - self._done
            finally:
                self._flushers -= 1
        if not complete:
            diagnostic("warning", "tocsin.delivery_flush_timeout", sink=self.name, target=self.target,
                       pending=pending, timeout=round(timeout, 2))
        return complete

    def deliver_spooled(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds until what the spool held for this destination
        (when it started, or since) is delivered or given up. True when nothing is left."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self.spool is not None and self.spool.exists() and not self._closed:
                self._spool_more = True
                self._work.notify_all()
                if not self._threads:
                    self._start_sender()
            self._flushers += 1
            try:
                while (self._spool_more or self._claiming or self._done < self._put) and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._done_cv.wait(min(remaining, 0.5))
                return not (self._spool_more or self._claiming) and self._done >= self._put
            finally:
                self._flushers -= 1

    def close(self, timeout: float = 0.0) -> bool:
        """Flush for at most ``timeout`` seconds, then stop the senders and put whatever is
        still pending in the spool (or count it lost when there is no spool)."""
        complete = self.flush(timeout)
        with self._lock:
            if self._closed:
                return complete
            self._closed = True
            pending = [a for a, _ in self._queue]
            pending += [a for job in self._ready for a in job.alerts]
            pending += [a for _, _, job in self._parked for a in job.alerts]
            # In flight: spooled too; if its answer still comes, the row is deleted, else it
            # is sent again later (at least once).
            pending += [a for job in self._in_flight for a in job.alerts]
            self._queue.clear()
            self._queued_bytes = 0
            self._ready.clear()
            self._parked.clear()
            self._done = self._put
            self._work.notify_all()
            self._done_cv.notify_all()
        if pending:
            self._spool_away(pending, "pending at close")
        return complete

    def _spool_away(self, alerts: list[Alert], why: str) -> None:
        """Keep ``alerts`` in the spool for a later process, or count them lost."""
        if self.spool is not None:
            try:
                self.spool.add(self.key, self.name, self.target, alerts, owned=False)
            except Exception as exc:
                diagnostic("error", "tocsin.spool_failed", sink=self.name, error=exc, alerts=len(alerts),
                           traceback=traceback.format_exc())
            else:
                with self._lock:
                    self._in_spool.update(a.id for a in alerts)
                diagnostic("info", "tocsin.spooled", sink=self.name, target=self.target, alerts=len(alerts),
                           reason=why, spool=str(self.spool.path))
                return
        self.counters["failed"] += len(alerts)
        diagnostic("warning", "tocsin.delivery_abandoned", sink=self.name, target=self.target,
                   alerts=len(alerts), reason=why,
                   note="no spool configured" if self.spool is None else "the spool could not be written")

    def status(self) -> dict[str, Any]:
        """Counters for ``tocsin sinks`` and ``Emitter.stats()``."""
        with self._lock:
            return {
                "target": self.target,
                "pending": self._put - self._done,
                "queued_bytes": self._queued_bytes,
                "in_flight": len(self._in_flight),
                "parked": len(self._parked),
                "concurrency": self._cap(),
                "senders": len(self._threads),
                "dropped": self._dropped,
                **self.counters,
                "gone": self.gone,
                "last_error": self.last_error,
            }

    # -- the senders' side -----------------------------------------------------------------

    def _cap(self) -> int:
        """Under the lock: requests allowed in flight now. A service that states its rate limit
        in headers is paced by them, one request at a time: sending more at once would only
        run into its 429s before the first answer said to wait."""
        return 1 if self._header_paced else self._limiter.limit

    def _start_sender(self) -> None:
        """Under the lock: one more sender thread, if the interpreter still allows it."""
        thread = threading.Thread(target=self._run, name=f"tocsin-deliver-{self.name}", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            # Python 3.12+ refuses new threads while the interpreter shuts down: close()
            # spools what is left instead.
            return
        self._threads.add(thread)

    def _staff(self) -> None:
        """Under the lock: enough senders for the work there is, within the limit."""
        backlog = len(self._ready) + len(self._in_flight) + (1 if self._queue else 0)
        wanted = min(self._cap(), self.max_concurrency, backlog)
        if self._waiting:
            self._work.notify(min(self._waiting, len(self._ready)) or 1)
        while len(self._threads) < wanted and not self._closed:
            before = len(self._threads)
            self._start_sender()
            if len(self._threads) == before:
                break

    def _run(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                task = self._next()
                if task is None:
                    return
                kind, item = task
                try:
                    if isinstance(item, _Job):
                        self._attempt(item)
                    elif isinstance(item, list):
                        self._render_batch(item)
                    elif kind == "claim":
                        self._claim()
                    elif kind == "tidy":
                        self._tidy_spool()
                except Exception as exc:  # a bug here must cost a log line, not the sender
                    diagnostic("error", "tocsin.sender_failed", sink=self.name, error=exc,
                               traceback=traceback.format_exc())
        finally:
            with self._lock:
                self._threads.discard(me)
                if not self._threads and not self._closed and (self._queue or self._ready or self._parked):
                    self._start_sender()

    def _next(self) -> tuple[str, object] | None:
        """Under the lock, wait for the next thing to do: a message to send, alerts to render,
        the spool to read; None when this sender should end."""
        idle_since = time.monotonic()
        with self._lock:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                while self._parked and self._parked[0][0] <= now:
                    self._ready.appendleft(heapq.heappop(self._parked)[2])  # retries first: older
                if self._spool_garbage:
                    return ("tidy", None)
                can_send = len(self._in_flight) < self._cap() and now >= self._not_before
                if can_send and self._ready:
                    job = self._ready.popleft()
                    self._in_flight.add(job)
                    if self.min_interval:
                        self._not_before = max(self._not_before, now + self.min_interval)
                    if self._ready:
                        self._staff()
                    return ("send", job)
                waits: list[float] = []
                if self._queue and len(self._ready) < self._cap():
                    lingered = now - self._first_queued_at
                    if self._flushers or len(self._queue) >= self.max_batch or lingered >= self.linger:
                        batch: list[Alert] = []
                        while self._queue and len(batch) < self.max_batch:
                            alert, size = self._queue.popleft()
                            self._queued_bytes -= size
                            batch.append(alert)
                        if self._queue:
                            self._first_queued_at = now
                        return ("render", batch)
                    waits.append(self.linger - lingered)
                if self._spool_more and not self._queue and len(self._ready) < self._cap():
                    self._spool_more = False
                    self._claiming = True
                    return ("claim", None)
                if self._in_spool and now >= self._next_renew and self.spool is not None:
                    self._next_renew = now + 20.0
                    return ("tidy", None)
                if self._ready and len(self._in_flight) < self._cap():
                    waits.append(self._not_before - now)
                if self._parked:
                    waits.append(self._parked[0][0] - now)
                busy = bool(self._ready or self._parked or self._in_flight or self._queue)
                if busy:
                    idle_since = now
                elif now - idle_since >= _IDLE_EXIT:
                    return None
                else:
                    waits.append(_IDLE_EXIT - (now - idle_since))
                self._waiting += 1
                try:
                    self._work.wait(max(0.001, min(waits)) if waits else None)
                finally:
                    self._waiting -= 1

    # -- rendering -------------------------------------------------------------------------

    def _render_batch(self, alerts: list[Alert]) -> None:
        if self._repeat is not None:
            # Repeat suppression, shared by every process on the host: consulted here, on the
            # delivering side, never on the caller's. A held-back alert is done, not lost.
            sent = self._repeat.filter(alerts)
            if len(sent) < len(alerts):
                kept = {a.id for a in sent}
                held = [a for a in alerts if a.id not in kept]
                self._finish_alerts(held)
                with self._lock:
                    self._done += len(held)
                    self._done_cv.notify_all()
            alerts = sent
            if not alerts:
                return
        with self._lock:
            lost, self._lost_unreported = self._lost_unreported, 0
        batch = [dropped_notice(lost, self.name), *alerts] if lost else alerts
        jobs = self._render_jobs(batch, notice=batch[0] if lost else None, lost=lost)
        with self._lock:
            self._ready.extend(jobs)
            self._staff()

    def _render_jobs(self, alerts: list[Alert], *, notice: Alert | None = None, lost: int = 0) -> list[_Job]:
        """Render ``alerts`` into jobs; when that raises, one alert at a time, so that only the
        alert that cannot be rendered is lost."""
        try:
            messages = self._render(alerts)
            if not isinstance(messages, list) or not all(isinstance(m, Message) for m in messages):
                raise TypeError(f"render() returned {type(messages).__name__}, expected a list of Message")
            for m in messages:
                if m.url is not None:
                    register_secret(m.url)  # before anything can log it
                    if not m.url.startswith(("https://", "http://")):
                        raise ValueError("Message.url is not an http:// or https:// URL")
        except Exception as exc:
            if len(alerts) > 1:
                jobs: list[_Job] = []
                for alert in alerts:
                    is_notice = alert is notice
                    jobs += self._render_jobs([alert], notice=alert if is_notice else None,
                                              lost=lost if is_notice else 0)
                return jobs
            alert = alerts[0]
            trace = traceback.format_exc()
            if alert is notice:  # the announcement itself: nothing more to lose; say it here
                diagnostic("error", "tocsin.render_failed", sink=self.name, alerts=0, lost_announced=lost,
                           error=exc, traceback=trace)
                return []
            self._lose([alert], f"render failed: {type(exc).__name__}: {exc}")
            diagnostic("error", "tocsin.render_failed", sink=self.name, alerts=1, alert_id=alert.id,
                       error=exc, traceback=trace)
            return []
        real = [a for a in alerts if a is not notice]
        born = min((a.timestamp.timestamp() for a in real), default=time.time())
        jobs = []
        if sum(max(0, m.count) for m in messages) == len(alerts):
            start = 0
            for m in messages:
                carried = alerts[start : start + max(0, m.count)]
                start += max(0, m.count)
                has_notice = notice is not None and any(a is notice for a in carried)
                jobs.append(_Job(m, [a for a in carried if a is not notice], lost if has_notice else 0, 0, born))
        else:
            # The counts do not say which message carries which alert: the batch is done when
            # its last message is (accounted on the last one).
            for i, m in enumerate(messages):
                last = i == len(messages) - 1
                jobs.append(_Job(m, real if last else [], lost if (notice is not None and i == 0) else 0, 0, born))
            if not messages:  # the sink chose to send nothing for them: done, not lost
                self._finish_alerts(real)
                with self._lock:
                    self._done += len(real)
                    self._done_cv.notify_all()
        return jobs

    # -- sending ---------------------------------------------------------------------------

    def _attempt(self, job: _Job) -> None:
        message = job.message
        in_use = False
        with self._lock:
            in_use = len(self._in_flight) >= self._cap()
        sent_at = time.monotonic()
        response: Response | None = None
        try:
            headers = dict(self._headers)
            headers.update(message.headers)
            if self._sign is not None:
                headers.update(self._sign(message))
            response = post(message.url or self._url, message.body, headers, connect_timeout=self.connect_timeout,
                            read_timeout=self.read_timeout, deadline=self.request_timeout)
        except TransportError as exc:
            verdict = Verdict(Outcome.RETRY, None, str(exc))
        except Exception as exc:
            # Not an answer but this message itself (a header that cannot be encoded, a sign()
            # that raises): as if the service had rejected it, so that it is split and logged.
            self._record_exception(job, exc)
            verdict = Verdict(Outcome.REJECTED, None, f"{type(exc).__name__}: {exc}")
        else:
            try:
                verdict = self._classify(response)
            except Exception as exc:
                self._record_exception(job, exc)
                verdict = Verdict(Outcome.REJECTED, None, f"classify failed: {type(exc).__name__}: {exc}")
        self._settle(job, verdict, response, sent_at, in_use)

    def _record_exception(self, job: _Job, exc: Exception) -> None:
        diagnostic("error", "tocsin.send_failed", sink=self.name, target=self.target, alerts=len(job.alerts),
                   error=exc, traceback=traceback.format_exc())

    def _settle(self, job: _Job, verdict: Verdict, response: Response | None, sent_at: float, in_use: bool) -> None:
        now = time.monotonic()
        outcome = verdict.outcome
        log: tuple[str, str, dict[str, Any]] | None = None
        split: list[Alert] = []
        finished: list[Alert] = []
        done_later = 0  # counted once their spool rows are gone: flush() then means it
        with self._lock:
            self._in_flight.discard(job)
            if self._closed:
                if outcome is Outcome.DELIVERED:
                    finished = job.alerts  # its rows were spooled at close: delete them
                    self.counters["delivered"] += len(job.alerts)
                outcome = None  # type: ignore[assignment]  # nothing else to do once closed
            elif response is not None:
                if "x-ratelimit-remaining" in response.headers:
                    self._header_paced = True
                if (pace := pacing_delay(response)) is not None:
                    self._not_before = max(self._not_before, now + pace)
            if outcome is Outcome.DELIVERED:
                self._limiter.succeeded(now - sent_at, in_use)
                self._throttled = 0
                if self._failing_since is not None and now - self._failing_since >= _RECOVERY and self._parked:
                    # The first success after an outage: what waits for its retry goes now
                    # (at the adaptive limit), not when each message's backoff ends.
                    self._ready.extend(j for _, _, j in sorted(self._parked))
                    self._parked.clear()
                self._streak = 0
                self._failing_since = None
                self.counters["delivered"] += len(job.alerts)
                self.counters["messages"] += 1
                finished = job.alerts
                done_later = len(job.alerts)
                self._staff()
            elif outcome is Outcome.RATE_LIMITED:
                self.counters["rate_limited"] += 1
                self._limiter.pushed_back(now)
                if verdict.delay:  # a usable wait: honoured exactly, by the whole destination
                    wait = verdict.delay
                else:  # none, 0 or garbage: back off like a 5xx, never less than the floor
                    self._throttled += 1
                    wait = max(_THROTTLE_FLOOR, self.retry.backoff(self._throttled))
                self._not_before = max(self._not_before, now + wait)
                if self._too_old(job, wait):
                    log = self._give_up(job, verdict.detail, "tocsin.delivery_failed")
                    finished = job.alerts
                    done_later = len(job.alerts)
                else:
                    self._ready.appendleft(job)
                    log = ("info", "tocsin.rate_limited", {"wait_s": round(wait, 3)})
            elif outcome is Outcome.RETRY:
                self._limiter.pushed_back(now)
                job.attempt += 1
                self._streak += 1
                if self._failing_since is None:
                    self._failing_since = now
                # A message's backoff grows with its own attempts only while the destination
                # keeps failing: when other messages get through (503 on every other request),
                # a message unlucky several times in a row must not wait minutes.
                wait = max(self.retry.backoff(min(job.attempt, self._streak + 2)), verdict.delay or 0.0)
                if self._too_old(job, wait):
                    log = self._give_up(job, verdict.detail, "tocsin.delivery_failed")
                    finished = job.alerts
                    done_later = len(job.alerts)
                else:
                    self.counters["retries"] += 1
                    self.last_error = verdict.detail  # what an operator looking now needs to see
                    heapq.heappush(self._parked, (now + wait, next(self._seq), job))
                    log = ("warning", "tocsin.delivery_retry",
                           {"attempt": job.attempt, "wait_s": round(wait, 3), "error": verdict.detail})
            elif outcome is Outcome.GONE:
                self.gone = True
                finished = list(job.alerts)
                everything = [job, *self._ready, *(j for _, _, j in self._parked)]
                finished = [a for j in everything for a in j.alerts] + [a for a, _ in self._queue]
                self._lose_locked(finished, verdict.detail)
                done_later = len(finished)
                self._ready.clear()
                self._parked.clear()
                self._queue.clear()
                self._queued_bytes = 0
                log = ("critical", "tocsin.destination_gone",
                       {"error": verdict.detail, "note": "no more alerts are sent to it by this process"})
            elif outcome is Outcome.REJECTED:
                if len(job.alerts) > 1:
                    split = job.alerts
                    self._lost_unreported += job.notices  # the notice goes with the next message
                    log = ("warning", "tocsin.delivery_split",
                           {"alerts": len(job.alerts), "error": verdict.detail,
                            "note": "rejected as a whole: sending it in halves to find the alert refused"})
                else:
                    log = self._give_up(job, verdict.detail, "tocsin.delivery_rejected")
                    finished = job.alerts
                    done_later = len(job.alerts)
            self._work.notify()
            self._done_cv.notify_all()
        if log is not None:
            level, event, fields = log
            diagnostic(level, event, sink=self.name, target=self.target, **fields)
        if finished:
            self._finish_alerts(finished)
        if done_later:
            with self._lock:
                self._done += done_later
                self._done_cv.notify_all()
        if split:
            half = len(split) // 2
            jobs = self._render_jobs(split[:half]) + self._render_jobs(split[half:])
            with self._lock:
                if self._closed:
                    return
                self._ready.extendleft(reversed(jobs))
                self._staff()

    def _too_old(self, job: _Job, wait: float) -> bool:
        return time.time() + wait - job.born > self.retry.max_age

    def _give_up(self, job: _Job, detail: str, event: str) -> tuple[str, str, dict[str, Any]]:
        """Under the lock: ``job`` is lost; count it and say so."""
        self._lose_locked(job.alerts, detail)
        self._lost_unreported += job.notices  # its announcement goes with the next message
        return ("error", event, {"alerts": len(job.alerts), "attempts": job.attempt + 1, "error": detail})

    def _lose_locked(self, alerts: list[Alert], reason: str) -> None:
        self.counters["failed"] += len(alerts)
        self._lost_unreported += len(alerts)
        self.last_error = reason

    def _lose(self, alerts: list[Alert], reason: str) -> None:
        with self._lock:
            self._lose_locked(alerts, reason)
        self._finish_alerts(alerts)
        with self._lock:
            self._done += len(alerts)
            self._done_cv.notify_all()

    def _finish_alerts(self, alerts: list[Alert]) -> None:
        """Delivered or given up: their spool rows (if any) are no longer needed."""
        if self.spool is None:
            return
        with self._lock:
            ids = [a.id for a in alerts if a.id in self._in_spool]
            self._in_spool.difference_update(ids)
        if ids:
            try:
                self.spool.delete(self.key, ids)
            except Exception as exc:
                diagnostic("error", "tocsin.spool_failed", sink=self.name, error=exc,
                           traceback=traceback.format_exc())

    # -- the spool -------------------------------------------------------------------------

    def _claim(self) -> None:
        if self.spool is None:
            return
        try:
            alerts = self.spool.claim(self.key, _CLAIM_CHUNK)
        except Exception as exc:
            diagnostic("error", "tocsin.spool_failed", sink=self.name, error=exc, traceback=traceback.format_exc())
            alerts = []
        if alerts:
            diagnostic("info", "tocsin.spool_claimed", sink=self.name, target=self.target, alerts=len(alerts))
        with self._lock:
            self._claiming = False
            self._done_cv.notify_all()
            if self._closed:
                if alerts:  # leased to us: give them back at once
                    self._in_spool.update(a.id for a in alerts)
                    closed = True
                else:
                    return
            else:
                closed = False
                for alert in alerts:
                    self._enqueue(alert, True)
                self._spool_more = len(alerts) == _CLAIM_CHUNK  # maybe more
                self._staff()
        if closed:
            self._spool_away(alerts, "closed while claiming")

    def _tidy_spool(self) -> None:
        if self.spool is None:
            return
        with self._lock:
            garbage, self._spool_garbage = self._spool_garbage, []
            holding = bool(self._in_spool)
        try:
            if garbage:
                self.spool.delete(self.key, garbage)
            if holding:
                self.spool.renew()
        except Exception as exc:
            diagnostic("error", "tocsin.spool_failed", sink=self.name, error=exc, traceback=traceback.format_exc())


def _is_power_of_ten(n: int) -> bool:
    while n and n % 10 == 0:
        n //= 10
    return n == 1
