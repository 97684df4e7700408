"""One HTTP POST over a shared urllib3 pool: the only place tocsin talks to the network.

urllib3 is imported on first use, so that processes with no network sink never pay for it.
One ``PoolManager`` per process keeps connections alive between alerts; it is rebuilt in a
child after ``fork()``, whose inherited sockets belong to the parent.

Every request has a deadline for the whole of it: connect, send, and the full answer. urllib3's
timeouts bound each ``recv`` only, so a server that answers 200 and then sends its body one byte a
second would hold a sender for as long as it likes. A watchdog thread (one per process, started
with the first request) shuts down the socket of a request that is past its deadline; the
blocked ``recv`` then fails at once and the request counts as timed out.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import heapq
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import TransportError
from .._redact import redact

if TYPE_CHECKING:
    import urllib3
    from urllib3.connection import HTTPConnection

__all__ = ["Response", "post"]

_Connection = TypeVar("_Connection", bound="HTTPConnection")

_MAX_BODY = 64 * 1024  # a webhook's answer is small; never hold more of a hostile one

_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None
_exiting = False
_current = threading.local()  # the deadline of the request this thread is making


class _Watchdog:
    """Shuts down the sockets of requests past their deadline (one thread, started on demand)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int]] = []
        self._socks: dict[int, socket.socket] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, sock: socket.socket) -> int:
        with self._cond:
            key = next(self._ids)
            self._socks[key] = sock
            heapq.heappush(self._heap, (deadline, key))
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="tocsin-http-deadline", daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    # Python 3.12 refuses new threads once the interpreter shuts down, and the
                    # exit flush may make a process's first request: it goes without the
                    # whole-request deadline (its connect and read timeouts still hold, and the
                    # exit flush has its own deadline). Raising here lost the alert.
                    return key
                self._thread = thread
            elif self._heap[0][1] == key:
                self._cond.notify()
            return key

    def forget(self, key: int) -> None:
        with self._cond:
            self._socks.pop(key, None)  # its heap entry is skipped when it comes up

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._socks:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, key = self._heap[0]
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                heapq.heappop(self._heap)
                sock = self._socks.pop(key)
                with contextlib.suppress(OSError):  # already closed: nothing to cut
                    sock.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()


def _forget_pool() -> None:
    global _pool, _lock, _watchdog
    _pool = None
    _lock = threading.Lock()
    _watchdog = _Watchdog()  # the parent's watchdog thread does not exist in the child


os.register_at_fork(after_in_child=_forget_pool)


def _watch_connection(conn: Any) -> None:
    """Put the socket of ``conn`` under the deadline of the request this thread is making."""
    deadline: float | None = getattr(_current, "deadline", None)
    sock = getattr(conn, "sock", None)
    if deadline is None or sock is None:
        return
    keys: list[int] = _current.keys
    keys.append(_watchdog.watch(deadline, sock))


def _watched(base: type[_Connection]) -> type[_Connection]:
    """``base`` (urllib3's plain or TLS connection) whose socket goes under the deadline of the
    request in hand, whether it connects now or was kept alive from an earlier request."""

    class Watched(base):  # type: ignore[valid-type,misc]  # a subclass of the class passed in
        def connect(self) -> None:
            super().connect()
            _watch_connection(self)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch_connection(self)
            super().request(*args, **kwargs)

    return Watched


def _new_pool() -> urllib3.PoolManager:
    """A pool whose connections put their socket under the deadline of the request in hand."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    _Conn, _TLSConn = _watched(HTTPConnection), _watched(HTTPSConnection)

    class _Pool(HTTPConnectionPool):
        ConnectionCls = _Conn

    class _TLSPool(HTTPSConnectionPool):
        ConnectionCls = _TLSConn

    # retries=False: the delivery engine retries, with its own backoff and pacing.
    # TLS certificates are verified (urllib3's default, kept on purpose).
    # maxsize 8: as many kept-alive connections per host as a destination's senders.
    pool = urllib3.PoolManager(num_pools=16, maxsize=8, retries=False)
    pool.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
    return pool


def _get_pool() -> tuple[urllib3.PoolManager, bool]:
    """The shared pool, or once the exit hook below has run a throwaway one (True) that the
    caller clears after its request."""
    global _pool
    with _lock:
        if _exiting:
            return _new_pool(), True
        if _pool is None:
            _pool = _new_pool()
        return _pool, False


def _close_pool_at_exit() -> None:
    """Close the shared pool's connections while the interpreter can still run their finalizers.

    urllib3 closes a connection pool from a ``weakref.finalize``. When the first request of a
    process happens during the exit flush (a script that emits and exits at once), that
    finalizer is created while ``atexit`` handlers run, too late to join them: it then runs
    during module teardown, finds the ``queue`` module emptied and prints
    ``Exception ignored in: <finalize …> … TypeError``. Clearing the pool here (registered at
    import, before the exit flush, so it runs after it) lets each pool be collected, and its
    finalizer run, now; requests after this point use a pool of their own, cleared at once.
    """
    global _pool, _exiting
    with _lock:
        pool, _pool = _pool, None
        _exiting = True
    if pool is not None:
        pool.clear()


atexit.register(_close_pool_at_exit)


@dataclasses.dataclass(frozen=True)
class Response:
    """A receiver's answer: status, headers (names lower-cased) and at most 64 KiB of body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def text(self, limit: int = 500) -> str:
        """The body as text (at most ``limit`` characters), credentials redacted."""
        return redact(self.body[: limit * 4].decode("utf-8", "replace")[:limit])

    def summary(self) -> str:
        """``HTTP 404: the service's text`` (redacted), or ``HTTP 404`` when it sent none: what
        logs and ``last_error`` say of an answer."""
        body = self.text().strip()
        return f"HTTP {self.status}: {body}" if body else f"HTTP {self.status}"

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # deeply nested arrays overflow the decoder's stack
            return None


def post(url: str, body: bytes, headers: Mapping[str, str], *, connect_timeout: float, read_timeout: float,
         deadline: float | None = None) -> Response:
    """POST ``body`` to ``url``; redirects are not followed (a redirect could carry an alert,
    and its signature, to another host). ``deadline`` (seconds, default connect + read
    timeouts) bounds the whole request, the full answer included. Raises
    :class:`~tocsin.TransportError` (message redacted) when no whole answer came: refused,
    reset, timed out, TLS failure, deadline passed."""
    import urllib3

    pool, throwaway = _get_pool()
    budget = connect_timeout + read_timeout if deadline is None else deadline
    _current.deadline = time.monotonic() + budget
    _current.keys = []
    resp = None
    try:
        resp = pool.request(
            "POST", url, body=body, headers=dict(headers), redirect=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout), preload_content=False,
        )
        data = resp.read(_MAX_BODY)
        if resp.read(1):
            resp.close()  # more than we keep: drop the connection rather than drain it
        else:
            resp.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if resp is not None:
            resp.close()
        if time.monotonic() >= _current.deadline:
            raise TransportError(f"no complete answer within the {budget:g} s request deadline") from None
        raise TransportError(redact(f"{type(exc).__name__}: {exc}")) from None
    finally:
        if throwaway:
            pool.clear()
        for key in _current.keys:
            _watchdog.forget(key)
        _current.deadline = None
        _current.keys = []
    return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, data)
