"""One HTTP POST over a shared urllib3 pool: the only place tocsin talks to the network.

urllib3 is imported on first use, so that processes with no network sink never pay for it.
One ``PoolManager`` per process keeps connections alive between alerts; it is rebuilt in a
child after ``fork()``, whose inherited sockets belong to the parent.
"""

from __future__ import annotations

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


def _forget_pool() -> None:
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _get_pool() -> urllib3.PoolManager:
    global _pool
    with _lock:
        if _pool is None:
            import urllib3

            # retries=False: the delivery engine retries, with its own backoff and pacing.
            # TLS certificates are verified (urllib3's default, kept on purpose).
            _pool = urllib3.PoolManager(num_pools=16, maxsize=4, retries=False)
        return _pool


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

    try:
        resp = _get_pool().request(
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
    return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, data)
