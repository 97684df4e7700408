"""One HTTP POST over a shared urllib3 pool: the only place tocsin talks to the network.

urllib3 is imported on first use, so that processes with no network sink never pay for it.
One ``PoolManager`` per process keeps connections alive between alerts; it is rebuilt in a
child after ``fork()``, whose inherited sockets belong to the parent.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import TransportError
from .._redact import redact

if TYPE_CHECKING:
    import urllib3

__all__ = ["Response", "post"]

_MAX_BODY = 64 * 1024  # a webhook's answer is small; never hold more of a hostile one

_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None
_exiting = False


def _forget_pool() -> None:
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _new_pool() -> urllib3.PoolManager:
    import urllib3

    # retries=False: the delivery engine retries, with its own backoff and pacing.
    # TLS certificates are verified (urllib3's default, kept on purpose).
    return urllib3.PoolManager(num_pools=16, maxsize=4, retries=False)


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

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def post(url: str, body: bytes, headers: Mapping[str, str], *, connect_timeout: float, read_timeout: float) -> Response:
    """POST ``body`` to ``url``; redirects are not followed (a redirect could carry an alert,
    and its signature, to another host). Raises :class:`~tocsin.TransportError` (message
    redacted) when no answer came: refused, reset, timed out, TLS failure."""
    import urllib3

    pool, throwaway = _get_pool()
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
    except urllib3.exceptions.HTTPError as exc:
        raise TransportError(redact(f"{type(exc).__name__}: {exc}")) from None
    finally:
        if throwaway:
            pool.clear()
    return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, data)
