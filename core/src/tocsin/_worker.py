"""BatchWorker: a bounded queue drained in batches by one background thread.

This is how a sink keeps ``alert_emitted`` fast: it puts the alert in a queue and returns;
one daemon thread takes everything pending at once (so slow destinations get fewer, larger
batches) and hands it to the sink's ``handle`` function. The queue is bounded: when full, the
oldest item is dropped and counted, never silently. ``flush`` waits, with a deadline, until
everything queued before it was handled.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from ._log import diagnostic

__all__ = ["BatchWorker"]

T = TypeVar("T")


def _is_power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


class BatchWorker(Generic[T]):
    """Queue items and handle them in batches on one background thread.

    :param name: names the thread and the log events.
    :param handle: called with a list of 1 to ``max_batch`` items, oldest first; an exception
        it raises is logged and those items count as handled (they are not retried here).
    :param capacity: the most items waiting; beyond it the oldest are dropped and counted.
    :param max_batch: the most items handed to ``handle`` at once.
    :param linger: seconds the thread waits, once an item arrives, for more to join the batch
        (unless a flush is waiting). Fewer, larger batches mean fewer thread wake-ups taking the
        GIL from the threads that emit; it is what keeps their p99 latency low.
    """

    def __init__(
        self,
        name: str,
        handle: Callable[[list[T]], None],
        *,
        capacity: int = 10_000,
        max_batch: int = 500,
        linger: float = 0.0,
    ) -> None:
        self.name = name
        self._handle = handle
        self.capacity = max(1, capacity)
        self.max_batch = max(1, max_batch)
        self.linger = max(0.0, linger)
        self._reset()
        ref = weakref.ref(self)
        # After fork() the child has the queue but not the thread, and locks may be held by
        # threads that no longer exist: start afresh there (the parent still owns its items).
        def after_fork_in_child() -> None:
            worker = ref()
            if worker is not None:
                worker._reset()

        os.register_at_fork(after_in_child=after_fork_in_child)

    def _reset(self) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._put_count = 0
        self._done_count = 0
        self._dropped = 0
        self._dropped_unreported = 0
        self._closed = False
        self._idle = False  # the thread waits for work: a put must wake it
        self._flushers = 0  # flush() calls waiting: the thread must not linger

    # -- producer side -------------------------------------------------------------------

    def put(self, item: T) -> None:
        """Queue ``item``; never waits for the worker. Starts the thread on first use."""
        dropped = 0
        with self._cond:
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self._dropped += 1
                self._dropped_unreported += 1
                self._done_count += 1
                dropped = self._dropped
            self._items.append(item)
            self._put_count += 1
            if self._idle:
                # Only an idle thread needs waking: one that lingers or works will find the
                # item anyway, and waking it for every put would cost the emitting thread.
                # notify_all: flush() callers wait on the same condition.
                self._cond.notify_all()
            if self._thread is None and not self._closed:
                self._start()
        # Say so on the 1st, 10th, 100th… drop: loud enough to notice, bounded in a flood.
        if dropped and _is_power_of_ten(dropped):
            diagnostic("warning", "tocsin.queue_full_dropped_oldest", worker=self.name,
                       dropped=dropped, capacity=self.capacity)

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=f"tocsin-{self.name}", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            # Python 3.12+ refuses new threads while the interpreter shuts down (an alert
            # emitted from an atexit handler): such items are handled by flush() instead.
            return
        self._thread = thread

    # -- worker side ---------------------------------------------------------------------

    def _take(self, block: bool) -> list[T]:
        with self._cond:
            while block and not self._items and not self._closed:
                self._idle = True
                self._cond.wait()
                self._idle = False
            if block and self.linger:
                deadline = time.monotonic() + self.linger
                while len(self._items) < self.max_batch and not self._flushers and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            batch: list[T] = []
            while self._items and len(batch) < self.max_batch:
                batch.append(self._items.popleft())
            return batch

    def _process(self, batch: list[T]) -> None:
        try:
            self._handle(batch)
        except Exception as exc:
            diagnostic("error", "tocsin.worker_batch_failed", worker=self.name, items=len(batch),
                       error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._cond:
                self._done_count += len(batch)
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            batch = self._take(block=True)
            if not batch:
                return  # closed and drained
            self._process(batch)

    # -- control -------------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds until every item queued so far is handled (or
        dropped). True when it was; False at the deadline."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            target = self._put_count
            running = self._thread is not None and self._thread.is_alive()
            self._flushers += 1
            self._cond.notify_all()  # cut a linger short
        try:
            return self._wait_done(target, running, deadline)
        finally:
            with self._cond:
                self._flushers -= 1

    def _wait_done(self, target: int, running: bool, deadline: float) -> bool:
        if not running:
            # No thread (never started, or refused at shutdown): do the work here.
            while batch := self._take(block=False):
                self._process(batch)
                if time.monotonic() >= deadline:
                    break
        with self._cond:
            while self._done_count < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float = 0.0) -> bool:
        """Flush for at most ``timeout`` seconds, then stop the thread once the queue is empty."""
        complete = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return complete

    @property
    def pending(self) -> int:
        """Items queued or being handled."""
        return self._put_count - self._done_count

    @property
    def dropped(self) -> int:
        """Items dropped because the queue was full, since the start."""
        return self._dropped

    def take_dropped(self) -> int:
        """Drops not yet reported: returns the count and resets it (for "N alerts dropped" notices)."""
        with self._cond:
            count, self._dropped_unreported = self._dropped_unreported, 0
            return count

    @property
    def thread_started(self) -> bool:
        """Whether the background thread is running."""
        return self._thread is not None and self._thread.is_alive()
