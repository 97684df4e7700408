from __future__ import annotations

import os
import threading
import time

import pytest
from structlog.testing import capture_logs

from tocsin import BatchWorker


def test_items_handled_in_batches_and_flushed() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def handle(batch: list[int]) -> None:
        gate.wait(5)
        batches.append(batch)

    worker: BatchWorker[int] = BatchWorker("t", handle, max_batch=50)
    for i in range(120):
        worker.put(i)
    assert worker.pending == 120
    gate.set()
    assert worker.flush(5) is True
    assert worker.pending == 0
    assert [i for b in batches for i in b] == list(range(120))
    # the first item started a batch on its own; the rest waited and went out together
    assert len(batches) < 10
    assert max(len(b) for b in batches) == 50
    worker.close()


def test_full_queue_drops_oldest_and_says_so() -> None:
    release = threading.Event()
    seen: list[int] = []

    def handle(batch: list[int]) -> None:
        release.wait(5)
        seen.extend(batch)

    worker: BatchWorker[int] = BatchWorker("t", handle, capacity=10, max_batch=1)
    with capture_logs() as logs:
        worker.put(-1)  # taken by the thread, which then blocks
        time.sleep(0.2)
        for i in range(25):
            worker.put(i)
    assert worker.dropped == 15
    assert worker.take_dropped() == 15
    assert worker.take_dropped() == 0
    drops = [e["dropped"] for e in logs if e["event"] == "tocsin.queue_full_dropped_oldest"]
    assert drops == [1, 10]
    release.set()
    assert worker.flush(5)
    assert seen == [-1, *range(15, 25)]  # the newest ten survive
    worker.close()


def test_flush_times_out_when_handler_hangs() -> None:
    release = threading.Event()
    worker: BatchWorker[int] = BatchWorker("t", lambda b: release.wait(10))
    worker.put(1)
    start = time.monotonic()
    assert worker.flush(0.2) is False
    assert time.monotonic() - start < 2
    release.set()
    assert worker.flush(5) is True
    worker.close()


def test_handler_exception_is_logged_and_counted_as_done() -> None:
    def handle(batch: list[int]) -> None:
        raise ValueError("bad batch")

    worker: BatchWorker[int] = BatchWorker("t", handle)
    with capture_logs() as logs:
        worker.put(1)
        assert worker.flush(5)
    assert any(e["event"] == "tocsin.worker_batch_failed" and "bad batch" in e["error"] for e in logs)
    worker.close()


def test_thread_count_does_not_grow_with_items() -> None:
    worker: BatchWorker[int] = BatchWorker("t", lambda b: None)
    before = threading.active_count()
    for i in range(5000):
        worker.put(i)
    assert threading.active_count() <= before + 1
    assert worker.flush(5)
    worker.close()


# Forking a threaded process is exactly the case under test (multiprocessing's fork start method).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_child_after_fork_starts_afresh() -> None:
    handled: list[int] = []
    worker: BatchWorker[int] = BatchWorker("t", handled.extend)
    worker.put(1)
    assert worker.flush(5)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's thread does not exist here
        try:
            worker.put(2)
            ok = worker.flush(5) and handled == [1, 2] and worker.thread_started
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    worker.close()
