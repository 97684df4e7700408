"""The dashboard's HTTP side: a read-only JSON API and one static page, on the standard library.

Why ``http.server.ThreadingHTTPServer`` and no framework: the dashboard answers a handful of GET
routes for one operator on loopback; a framework would add a dependency (and its updates) to
every installation for routing we can write in a page, and ``tocsin`` keeps its dependencies to
pluggy, structlog and urllib3. One thread per connection is plenty for a page that polls.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.server
import importlib.resources
import ipaddress
import json
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import structlog

from tocsin import Config, Emitter, TocsinError, load_config, redact, redact_url
from tocsin_sink_state import StoreError, count_history, history, last, severity_counts, store_location

__all__ = ["DEFAULT_PORT", "Dashboard", "DashboardServer", "InsecureBindError", "is_loopback", "make_server"]

DEFAULT_PORT: Final = 8765
"""Not 8100: that is the default port of the seed's AtoCore API."""

_PAGE_SIZE_MAX: Final = 500
_log = structlog.get_logger("tocsin.dashboard")
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_URL: Final = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


class InsecureBindError(TocsinError):
    """Binding to a non-loopback address without a token: anyone on the network could read it."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name may resolve anywhere


class BadRequest(ValueError):
    """A query parameter the API cannot use; its message is shown to the client."""


def _whole(query: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    text = query.get(name, "").strip() or str(default)
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii():
        raise BadRequest(f"{name}: expected a whole number, got {text[:40]!r}")
    number = int(text)
    if not minimum <= number <= maximum:
        raise BadRequest(f"{name}: must be between {minimum} and {maximum}, got {number}")
    return number


def _mask_urls(value: Any) -> Any:
    """Sink errors and targets may hold a webhook URL whose path is the credential, in a shape
    that redact() does not know: show any URL of them as scheme, host and port only."""
    if isinstance(value, str):
        return _URL.sub(lambda m: redact_url(m.group()), value)
    if isinstance(value, Mapping):
        return {k: _mask_urls(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_urls(v) for v in value]
    return value


def _host_of(header: str) -> str:
    """The host name of a Host header, without its port: ``[::1]:80`` → ``::1``."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _clean(value: Any) -> Any:
    """``value`` with every string redacted (keys too): nothing the API returns shows a secret."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


class Dashboard:
    """What the dashboard shows, without HTTP: the store's history and the sinks' health.

    :param config: where the store and project come from (default: :func:`tocsin.load_config`).
    :param emitter: whose sinks to report; default: a new :class:`tocsin.Emitter` of ``config``
        (which then reports this process's sinks: loaded or failed, and why), closed by
        :meth:`close`. Pass the application's own emitter to see its live queues.
    :param store_path: the state store to read (default: the state sink's ``path``).
    :param project: the project to show (default: ``config``'s).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        emitter: Emitter | None = None,
        store_path: Path | str | None = None,
        project: str | None = None,
    ) -> None:
        self.config = load_config() if config is None else config
        path, default_project = store_location(self.config)
        self.store_path = Path(store_path) if store_path is not None else path
        self.project = project if project is not None else default_project
        self._own_emitter = emitter is None
        self.emitter = Emitter(self.config) if emitter is None else emitter

    def close(self) -> None:
        """Close the emitter, if the dashboard made it."""
        if self._own_emitter:
            self.emitter.close(0)

    def last(self) -> dict[str, Any]:
        """``/api/last``: the last alert of each severity."""
        return {"project": self.project, "store": str(self.store_path),
                "last": last(self.store_path, project=self.project)}

    def history(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``/api/history``: one page of the history, newest first, and how many match."""
        limit = _whole(query, "limit", 50, 1, _PAGE_SIZE_MAX)
        offset = _whole(query, "offset", 0, 0, 2**62)
        severity, since, grep = query.get("severity") or None, query.get("since") or None, query.get("grep") or None
        try:
            entries = history(self.store_path, project=self.project, severity=severity, since=since, grep=grep,
                              limit=limit, offset=offset)
            total = count_history(self.store_path, project=self.project, severity=severity, since=since, grep=grep)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return {"project": self.project, "total": total, "limit": limit, "offset": offset, "entries": entries}

    def counts(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``/api/counts``: alerts per severity over time (``since``, default 24h; ``buckets``, default 24)."""
        buckets = _whole(query, "buckets", 24, 1, 500)
        try:
            return severity_counts(self.store_path, project=self.project, since=query.get("since") or "24h",
                                   buckets=buckets)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    def sinks(self) -> dict[str, Any]:
        """``/api/sinks``: every sink of the emitter: loaded, failed or disabled and why, its
        pending and dropped counts and last error."""
        rows = []
        for record in self.emitter.sinks():
            row = record.to_dict()
            status = self.emitter.sink_status(record.name) if record.loaded else {}
            state = "disabled" if not record.enabled else "failed" if record.error or not record.loaded else "loaded"
            row.update(state=state, pending=status.get("pending"), dropped=status.get("dropped"),
                       last_error=status.get("last_error"), target=status.get("target"), status=status)
            rows.append(_mask_urls(row))
        return {"sinks": rows, "scope": "the sinks of the process serving this dashboard"}


_ROUTES: Final[dict[str, str]] = {
    "/api/last": "last", "/api/history": "history", "/api/counts": "counts", "/api/sinks": "sinks",
}
_PARAMS: Final = {
    "last": frozenset(), "sinks": frozenset(), "counts": frozenset({"since", "buckets"}),
    "history": frozenset({"severity", "since", "grep", "limit", "offset"}),
}


def _page() -> tuple[bytes, str]:
    """The page, and a Content-Security-Policy that allows its one inline script and style only."""
    text = importlib.resources.files("tocsin_dashboard").joinpath("static/index.html").read_text("utf-8")
    hashes = {}
    for tag in ("script", "style"):
        match = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.DOTALL)
        body = match.group(1) if match else ""
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        hashes[tag] = "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"
    csp = (f"default-src 'none'; script-src {hashes['script']}; style-src {hashes['style']}; "
           "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return text.encode("utf-8"), csp


class DashboardServer(http.server.ThreadingHTTPServer):
    """The HTTP server: :class:`Dashboard` data at ``/api/…`` and the page at ``/``.

    GET only (anything else: ``405`` with ``Allow: GET``). With a ``token`` every request, the
    page included, must carry it (``Authorization: Bearer TOKEN`` or ``?token=TOKEN``); without
    one, only requests addressed to a loopback name are answered (against DNS rebinding).

    At most ``max_connections`` connections are served at once (one thread each, an idle one
    held up to 30 s); a connection beyond that is closed at once, before any thread starts, so
    that clients that connect and wait cannot grow the process's threads without bound.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], dashboard: Dashboard, token: str | None = None, *, max_connections: int = 64
    ) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        host = address[0]
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
        self.dashboard = dashboard
        self.token = token or None
        self.page, self.csp = _page()
        super().__init__((host.strip("[]"), address[1]), _Handler)

    @property
    def url(self) -> str:
        """The page's address (the port the system chose when asked for 0)."""
        host, port = self.server_address[0], self.server_address[1]
        host = str(host)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start(self) -> threading.Thread:
        """Serve on a daemon thread; :meth:`close` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="tocsin-dashboard", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop serving (if serving), close the socket and the dashboard's own emitter."""
        self.shutdown_if_serving()
        self.server_close()
        self.dashboard.close()

    def shutdown_if_serving(self) -> None:
        """``shutdown()`` that does not wait forever when ``serve_forever`` never ran."""
        if getattr(self, "_serving", False):
            self.shutdown()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Start a thread for the connection when a slot is free, else close it (see the class)."""
        if not self._slots.acquire(blocking=False):
            _log.warning("tocsin.dashboard_busy", client=str(client_address[0]))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started: it will not give the slot back
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection on its thread, then give its slot back."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Handle requests until :meth:`shutdown` (see ``socketserver``)."""
        self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._serving = False


class _Handler(http.server.BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "tocsin-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection gives its thread back
    # Headers and body leave in two writes: with Nagle's algorithm the body then waits for the
    # client's delayed ACK, 40 ms per request on Linux (bench/dashboard_api.py: /api/last went
    # from p50 44 ms to under 1 ms).
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks up do_<METHOD>: every method but GET is refused the same way.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def do_GET(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: an access log would carry ?token= (and a library writes no output)

    def _dispatch(self) -> None:
        try:
            self._route()
        except Exception as exc:  # a bug must answer 500, never a traceback page
            with contextlib.suppress(Exception):  # a broken logging setup must not stop the answer
                _log.error("tocsin.dashboard_failed", path=redact(self.path.split("?")[0]),
                           error=redact(f"{type(exc).__name__}: {exc}"))
            with contextlib.suppress(Exception):
                self._json(500, {"error": f"internal error ({type(exc).__name__}); see the server's log"})

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        try:
            pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            pairs = []
        query: dict[str, str] = {}
        repeated = []
        for key, value in pairs:
            if key in query:
                repeated.append(key)
            query[key] = value
        if not self._authorised(query.pop("token", None)):
            return
        if self.command != "GET":
            self._json(405, {"error": f"{self.command} is not allowed: the dashboard is read-only"},
                       {"Allow": "GET"})
            return
        if url.path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8",
                       {"Content-Security-Policy": self.server.csp})
            return
        route = _ROUTES.get(url.path)
        if route is None:
            self._json(404, {"error": f"no such page: {url.path[:100]}",
                             "api": sorted(_ROUTES)})
            return
        unknown = sorted(set(query) - _PARAMS[route])
        if repeated or unknown:
            what = (f"{', '.join(repeated)} given more than once" if repeated
                    else f"unknown parameter {', '.join(unknown)}")
            takes = ", ".join(sorted(_PARAMS[route])) or "none"
            self._json(400, {"error": f"{what[:200]}; {url.path} takes {takes}"})
            return
        dashboard = self.server.dashboard
        try:
            data = getattr(dashboard, route)(query) if _PARAMS[route] else getattr(dashboard, route)()
        except BadRequest as exc:
            self._json(400, {"error": str(exc)})
            return
        except StoreError as exc:
            self._json(503, {"error": str(exc), "store": str(dashboard.store_path)})
            return
        self._json(200, data)

    def _authorised(self, query_token: str | None) -> bool:
        token = self.server.token
        if token is None:
            # No token: loopback only, and only for requests addressed to loopback by name, so
            # that a web page whose domain was rebound to 127.0.0.1 cannot read the API.
            host = _host_of(self.headers.get("Host") or "")
            if host in _LOOPBACK_NAMES or host == self.server.server_address[0]:
                return True
            self._json(403, {"error": "this dashboard answers requests addressed to loopback only (Host header)"})
            return False
        given = ""
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        elif query_token is not None:
            given = query_token
        if given and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8")):
            return True
        self._json(401, {"error": "a token is required: open the page as /?token=TOKEN, or send "
                                  "'Authorization: Bearer TOKEN'"}, {"WWW-Authenticate": 'Bearer realm="tocsin"'})
        return False

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(_clean(data), ensure_ascii=False, default=str).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def make_server(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    token: str | None = None,
    dashboard: Dashboard | None = None,
    config: Config | None = None,
) -> DashboardServer:
    """A bound (not yet serving) :class:`DashboardServer`; call ``serve_forever()`` or ``start()``.

    :param host: loopback by default; any other address requires ``token``.
    :param port: 0 lets the system choose (see ``server.url``).
    :param dashboard: what to show (default: ``Dashboard(config)``).
    :raises InsecureBindError: a non-loopback ``host`` without ``token``.
    :raises OSError: the address is in use or cannot be bound.
    """
    if not is_loopback(host) and not token:
        raise InsecureBindError(
            f"refusing to serve on {host!r} without --token: the dashboard would be readable by anyone "
            "who can reach that address (bind 127.0.0.1, or set a token)"
        )
    own = dashboard is None
    dashboard = Dashboard(config) if dashboard is None else dashboard
    try:
        return DashboardServer((host, port), dashboard, token)
    except BaseException:
        if own:
            dashboard.close()
        raise
