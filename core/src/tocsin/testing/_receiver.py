"""A real webhook receiver on 127.0.0.1, for testing network sinks without mocks.

It runs ``http.server`` on a free loopback port in a thread, records every request, and
answers as a behaviour function says: always OK, rate limited like Discord, failing every
other time, hanging, or anything a test writes.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

__all__ = ["Received", "Receiver", "Reply", "always", "flaky", "hanging", "rate_limited"]


class _Headers(Mapping[str, str]):
    """Request headers looked up in any case (``headers["Title"]`` is ``headers["title"]``);
    iterated with their names lower-cased. Equal to a dict of the lower-cased names."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        if not isinstance(name, str):
            raise KeyError(name)
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclasses.dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: Mapping[str, str]
    """The request's headers, looked up in any case (``headers["Content-Type"]`` and
    ``headers["content-type"]`` alike); names are lower-cased when iterated."""
    body: bytes
    at: float
    """``time.monotonic()`` when it arrived."""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, _Headers):  # built by hand, with a plain dict
            object.__setattr__(self, "headers", _Headers(self.headers.items()))

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclasses.dataclass
class Reply:
    """What the receiver answers: status, headers, body, and how long to stall first."""

    status: int = 204
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


Behaviour = Callable[[Received], Reply]


def always(status: int = 204, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    """Answer every request the same way (default: Discord's ``204 No Content``)."""
    return lambda request: Reply(status, dict(headers or {}), body)


def flaky(fail_status: int = 503, every: int = 2, ok_status: int = 204) -> Behaviour:
    """Fail one request in ``every`` (the first, then every ``every``-th), answer OK otherwise."""
    count = 0
    lock = threading.Lock()

    def respond(request: Received) -> Reply:
        nonlocal count
        with lock:
            count += 1
            failing = count % every == 1 if every > 1 else True
        return Reply(fail_status, {}, b"temporarily unavailable") if failing else Reply(ok_status)

    return respond


def hanging(seconds: float = 30.0) -> Behaviour:
    """Stall every answer for ``seconds`` (the receiver's ``close()`` releases them early)."""
    return lambda request: Reply(204, {}, b"", delay=seconds)


class rate_limited:
    """Discord's per-webhook limit: ``limit`` requests per ``window`` seconds.

    Every answer carries ``X-RateLimit-*`` headers; a request over the limit gets ``429`` with
    Discord's JSON body (``retry_after`` in seconds) and ``Retry-After``. It counts requests sent
    before a 429's ``retry_after`` had passed in :attr:`early`: a well-behaved client has none.
    """

    def __init__(self, limit: int = 5, window: float = 2.0, ok_status: int = 204) -> None:
        self.limit = limit
        self.window = window
        self.ok_status = ok_status
        self.accepted: list[float] = []
        self.limited = 0
        self.early = 0
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self._lock:
            now = time.monotonic()
            if now < self._blocked_until - 0.005:  # 5 ms of slack for clocks and scheduling
                self.early += 1
            recent = [t for t in self.accepted if now - t < self.window]
            if len(recent) >= self.limit:
                retry_after = self.window - (now - recent[0])
                self._blocked_until = max(self._blocked_until, now + retry_after)
                self.limited += 1
                body = json.dumps({"message": "You are being rate limited.", "retry_after": round(retry_after, 3),
                                   "global": False}).encode()
                return Reply(429, {**self._headers(0, retry_after), "Retry-After": f"{retry_after:.3f}",
                                   "Content-Type": "application/json"}, body)
            self.accepted.append(now)
            recent.append(now)
            remaining = self.limit - len(recent)
            reset_after = self.window - (now - recent[0]) if remaining == 0 else 0.0
            return Reply(self.ok_status, self._headers(remaining, reset_after))

    def _headers(self, remaining: int, reset_after: float) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset-After": f"{reset_after:.3f}", "X-RateLimit-Bucket": "test", "Via": "1.1 test"}


class Receiver:
    """A webhook receiver on ``127.0.0.1`` answering with ``behaviour`` (default: ``204``).

    Use it as a context manager; :attr:`url` is its base URL and :meth:`url_for` builds others.
    ``requests`` lists what arrived. Only loopback is ever bound.
    """

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour: Behaviour = behaviour or always()
        self.requests: list[Received] = []
        self._arrived = threading.Condition()
        self._closing = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real services
            # Headers and body go out in two writes: with Nagle on, the body waits for the
            # client's delayed ACK and every answer costs 40 ms more than a real service's.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(self.path, _Headers(self.headers.items()), body,
                                   time.monotonic())
                with receiver._arrived:
                    receiver.requests.append(request)
                    receiver._arrived.notify_all()
                reply = receiver.behaviour(request)
                if reply.delay and receiver._closing.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client hung up (a process that exited)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-receiver", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_for(self, path: str) -> str:
        """The receiver's URL with ``path`` (e.g. a fake Discord webhook path and token)."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def start(self) -> Receiver:
        """Start serving (the context manager does it)."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release stalled answers."""
        self._closing.set()
        if self._thread.is_alive():  # shutdown() waits for serve_forever: only if it runs
            self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` requests arrived; False at the timeout."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(remaining)
            return True

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
