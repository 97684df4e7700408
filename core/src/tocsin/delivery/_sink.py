"""NetworkSink: the base class of every sink that POSTs alerts to a URL.

A network sink only says how alerts look on the wire (:meth:`NetworkSink.render`) and, if its
service has its own error conventions, how to read an answer (:meth:`NetworkSink.classify`).
Queueing, coalescing, pacing, retries, timeouts, redaction and the flush at exit come from
:class:`~tocsin.delivery.Destination`, the same for every sink.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .._alert import Alert
from .._config import SinkSettings
from .._hookspecs import hookimpl
from .._redact import register_secret
from ._destination import Destination, Message, Verdict, classify_response
from ._http import Response
from ._retry import RetryPolicy
from ._spool import open_spool

__all__ = ["NetworkSink", "destination_settings"]


def destination_settings(
    settings: SinkSettings, *, max_concurrency: int = 8, min_interval: float = 0.0
) -> dict[str, Any]:
    """The engine settings every network sink reads from its table, as keyword arguments of
    :class:`Destination` (``retry``, ``spool``, timeouts, queue bounds, concurrency, ``durable``).

    For sinks that build their destinations themselves (one per peer, say); ``max_concurrency``
    and ``min_interval`` are the defaults when the table does not set them. Reading them here,
    once, keeps every network sink's settings the same.
    """
    retry = RetryPolicy(
        backoff_base=settings.get_duration("backoff_base", 0.5),
        backoff_max=settings.get_duration("backoff_max", 60.0),
        max_age=settings.get_duration("max_age", 3600.0),
    )
    durable = settings.get_bool("durable", False)
    if durable and settings.spool is None:
        settings.problem("durable", "durable = true needs the spool: [tocsin] spool is false")
    return {
        "retry": retry,
        "spool": open_spool(settings.spool) if settings.spool is not None else None,
        "connect_timeout": settings.get_float("connect_timeout", 3.0, minimum=0.01),
        "read_timeout": settings.get_float("read_timeout", 10.0, minimum=0.01),
        "request_timeout": settings.get_duration("request_timeout", 15.0) or 15.0,
        "capacity": settings.get_int("queue_size", 10_000, minimum=1),
        "max_queue_bytes": settings.get_int("max_queue_bytes", 32 * 1024 * 1024, minimum=1024),
        "max_concurrency": settings.get_int("max_concurrency", max_concurrency, minimum=1),
        "min_interval": settings.get_float("min_interval", min_interval, minimum=0),
        "durable": durable,
    }


class NetworkSink:
    """Base class for sinks that deliver to a webhook URL.

    Settings every network sink reads from its ``[sinks.NAME]`` table: ``url`` (without it the
    sink is inert and reported as not configured), ``connect_timeout`` (3 s), ``read_timeout``
    (10 s), ``request_timeout`` (15 s, the whole request), ``max_age`` (``"1h"``: how long an
    alert is retried), ``backoff_base`` (0.5 s), ``backoff_max`` (60 s), ``queue_size``
    (10 000 alerts), ``max_queue_bytes`` (32 MiB), ``max_concurrency`` (the class's
    :attr:`default_max_concurrency`), ``min_interval`` (the class's :attr:`default_min_interval`),
    ``durable`` (false), ``min_severity``. Subclasses read their own in :meth:`configure`.
    """

    default_min_interval: ClassVar[float] = 0.0
    """Seconds between two requests at least, for services with a documented fixed rate."""
    default_max_concurrency: ClassVar[int] = 8
    """Requests in flight at most (adapted below it); 1 for services paced by their headers."""
    max_batch: ClassVar[int] = 100
    """The most alerts :meth:`render` receives at once."""

    def __init__(self, settings: SinkSettings) -> None:
        self.name = settings.name
        self.project = settings.project
        self.url = settings.get_str("url")
        if self.url:
            register_secret(self.url)  # before anything can log it
            if not self.url.startswith(("https://", "http://")):
                settings.problem("url", "expected an http:// or https:// URL")
                self.url = ""
        options = destination_settings(
            settings, max_concurrency=self.default_max_concurrency, min_interval=self.default_min_interval
        )
        self.configure(settings)
        self.destination: Destination | None = None
        if self.url:
            self.destination = Destination(
                self.name, self.url, self.render, classify=self.classify, headers=self.headers(),
                sign=self.sign, max_batch=self.max_batch, **options,
            )

    # -- what subclasses provide -----------------------------------------------------------

    def configure(self, settings: SinkSettings) -> None:
        """Read the sink's own settings (called by ``__init__``, before the destination exists)."""

    def render(self, alerts: list[Alert]) -> list[Message]:
        """Turn pending alerts (oldest first, 1 to :attr:`max_batch`) into as few messages as the
        service allows. Every alert must be represented in what is returned."""
        raise NotImplementedError

    def classify(self, response: Response) -> Verdict:
        """Read the service's answer (default: :func:`~tocsin.delivery.classify_response`)."""
        return classify_response(response)

    def headers(self) -> Mapping[str, str]:
        """Extra headers of every request (register credentials with ``register_secret``)."""
        return {}

    def sign(self, message: Message) -> Mapping[str, str]:
        """Headers computed for each attempt of ``message`` (e.g. a signature with a timestamp)."""
        return {}

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        if self.destination is not None:
            self.destination.submit(alert)

    @hookimpl
    def sink_flush(self, timeout: float) -> bool:
        return True if self.destination is None else self.destination.flush(timeout)

    @hookimpl
    def sink_close(self) -> None:
        if self.destination is not None:
            self.destination.close()

    @hookimpl
    def sink_status(self) -> dict[str, object]:
        if self.destination is None:
            return {"configured": False}
        return {"configured": True, **self.destination.status()}
