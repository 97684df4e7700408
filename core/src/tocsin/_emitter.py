"""The Emitter: emit → normalise → log → fan out to sinks, and flush at the end.

An :class:`Emitter` holds its own configuration and plugin manager, so applications and tests
can run several side by side with no global state. ``tocsin.emit_alert`` uses a default one.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Collection, Mapping
from types import TracebackType
from typing import Any

from . import _reentry
from ._alert import Alert, make_alert
from ._config import Config, load_config
from ._discovery import find_sink_entry_points
from ._errors import ConfigError
from ._log import alert_logger, diagnostic
from ._registry import HookResult, SinkRecord, SinkRegistry
from ._render_text import TEST_ALERT_KEY
from ._severity import Severity
from ._status import SinkStatus

__all__ = ["Emitter", "SinkCheck"]

_LOG_METHOD = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "error"}


class SinkCheck:
    """The result of sending a test alert through one sink (``tocsin test``)."""

    __slots__ = ("detail", "name", "ok")

    def __init__(self, name: str, ok: bool, detail: str) -> None:
        self.name = name
        self.ok = ok
        self.detail = detail

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


class Emitter:
    """Fans alerts out to sinks. Thread-safe; ``emit`` and ``flush`` never raise.

    :param config: the configuration; by default :func:`tocsin.load_config` (file and environment).
    :param sinks: sinks given directly, by name: each a class (instantiated with its
        :class:`~tocsin.SinkSettings`) or a plugin object. Config's enable/disable apply to them too.
    :param discover: also load the sinks advertised in the ``tocsin.sinks`` entry-point group.
    :param strict: raise instead of carrying on: :class:`~tocsin.ConfigError` when the
        configuration has errors, :class:`~tocsin.SinkError` when an enabled sink failed to
        load (for tests and for tools that must not run half-configured). Emitting and flushing
        never raise, strict or not.

    An emitter lives until :meth:`close`, even when its creator drops it: what it queued is
    still flushed at interpreter exit. Close the emitters you create (or use ``with``).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        sinks: Mapping[str, object] | None = None,
        discover: bool = True,
        strict: bool = False,
    ) -> None:
        with _reentry.entered():
            self._setup(config, sinks, discover, strict)

    def _setup(self, config: Config | None, sinks: Mapping[str, object] | None, discover: bool, strict: bool) -> None:
        self.config = load_config() if config is None else config
        self._registry = SinkRegistry(self.config)
        # next() on itertools.count is atomic under the GIL: counting takes no lock, so that
        # an alert from a signal handler can never wait for one its own thread holds.
        self._counter = itertools.count(1)
        self._emitted = 0
        self._closed = False
        if discover:
            try:
                self._registry.load_entry_points(find_sink_entry_points())
            except Exception as exc:  # broken metadata of some unrelated distribution
                diagnostic("error", "tocsin.discovery_failed", error=f"{type(exc).__name__}: {exc}")
        for name, obj in (sinks or {}).items():
            self._registry.install(name, _constant(obj), value=repr(obj))
        self._registry.check_names()  # typos in sink names: warnings (issue 10, instance naming)
        for problem in self.config.problems:
            diagnostic(
                "error" if problem.level == "error" else "warning",
                "tocsin.config_problem", source=problem.source, key=problem.key, problem=problem.message,
            )
        if strict:
            failed = [r.load_error for r in self._registry.records.values() if r.load_error is not None]
            if self.config.errors or failed:
                self.close(0)
                if self.config.errors:
                    raise ConfigError(self.config.errors)
                raise failed[0]
        _track(self)

    # -- emitting ------------------------------------------------------------------------

    def emit(
        self, severity: object, title: object, message: object, context: object = None, *, status: str = "firing"
    ) -> Alert:
        """Emit one alert to every enabled sink and return it. Never raises, never deadlocks.

        The alert is first logged as one structlog event (``tocsin.alerts`` logger; info→info,
        warning→warning, critical→error), then handed to each sink at or above its
        ``min_severity`` whose route accepts it, each in its own ``try``. ``status`` is
        "resolved" for :func:`tocsin.resolve_alert`.

        Safe from signal handlers, ``__del__``, ``atexit`` handlers and sinks' own hooks: an
        alert raised while this thread is already inside tocsin is deferred, without taking a
        lock, and delivered as the outer call returns (a sink does not get back the alerts it
        raises from its own hook, so it cannot loop). After the exit flush has run, an alert
        is delivered synchronously, within ``flush_timeout``.
        """
        try:
            alert = make_alert(severity, title, message, context, status=status)
        except Exception:  # pragma: no cover - make_alert is total; this is the last fence
            alert = make_alert(None, "<unprintable alert>", "", None)
        if _reentry.inside():
            _reentry.defer(self._deliver, alert)
            return alert
        with _reentry.entered():
            self._deliver(alert, None)
        return alert

    def _deliver(self, alert: Alert, exclude: str | None) -> None:
        # A broken logging setup must not break the caller.
        with contextlib.suppress(Exception):
            getattr(alert_logger, _LOG_METHOD[alert.severity])(
                "alert", alert_id=alert.id, severity=alert.severity.value, title=alert.title,
                message=alert.message[:500], context=dict(alert.context),
                **({} if alert.status == "firing" else {"status": alert.status}),
            )
        count = next(self._counter)
        if count > self._emitted:  # threads may finish out of order: the counter is the truth
            self._emitted = count
        self._registry.fan_out(alert, exclude)
        if _exit_flushed:
            # The exit flush has run (an atexit handler registered before ours emits): nothing
            # will flush after this, so hand the alert over now, within the deadline.
            self.flush()

    def send(self, name: str, alert: Alert) -> list[HookResult[object]]:
        """Hand ``alert`` to sink ``name`` alone, whatever its ``min_severity``, and return what
        each of its ``alert_emitted`` implementations did (a value, or the failure with its
        traceback). For ``tocsin test`` and the sink contract; ``emit`` is for alerts."""
        return self._registry.send(name, alert)

    # -- flushing and closing ------------------------------------------------------------

    def flush(self, timeout: float | None = None, names: Collection[str] | None = None) -> bool:
        """Wait until every sink (or the sinks ``names``) has handed over what it buffered, at
        most ``timeout`` seconds in all (default: the configured ``flush_timeout``). True when
        nothing is left pending. Never raises."""
        budget = self.config.flush_timeout if timeout is None else max(0.0, float(timeout))
        try:
            with _reentry.entered():
                return all(self._registry.flush(budget, None if names is None else list(names)).values())
        except Exception as exc:  # pragma: no cover - the registry already isolates each sink
            diagnostic("error", "tocsin.flush_failed", error=repr(exc))
            return False

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then let every sink release its resources. Returns what the flush returned."""
        if self._closed:
            return True
        complete = self.flush(timeout)
        with _reentry.entered():
            self._registry.close()
        self._closed = True
        _untrack(self)
        return complete

    def __enter__(self) -> Emitter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- looking inside ------------------------------------------------------------------

    def sinks(self) -> list[SinkRecord]:
        """Every sink discovered or given: enabled or not, loaded or failed, and why."""
        return list(self._registry.records.values())

    def sink(self, name: str) -> object | None:
        """The plugin object of the loaded sink ``name``, or None."""
        record = self._registry.records.get(name)
        return record.plugin if record is not None and record.loaded else None

    def sink_status(self, name: str) -> SinkStatus:
        """What sink ``name`` says of itself (its ``sink_status`` hook); empty if nothing."""
        return self._registry.status(name)

    def stats(self) -> dict[str, Any]:
        """Counters: alerts emitted, and each sink's failures and status."""
        return {
            "emitted": self._emitted,
            "sinks": {
                r.name: {"failures": r.failures, **self._registry.status(r.name)}
                for r in self._registry.records.values()
                if r.loaded
            },
        }

    def check_sinks(self, timeout: float = 10.0, severity: object = "info") -> list[SinkCheck]:
        """Send one test alert through each loaded sink on its own, flush it, and report.

        A sink passes when its ``alert_emitted`` returns, its flush completes within
        ``timeout`` and its status shows no new ``last_error``. An enabled sink that failed to
        load is listed as failed, with its error. The test alert has ``severity`` and carries
        ``{TEST_ALERT_KEY: True}`` in its context, so that views of past alerts can leave it out.
        """
        with _reentry.entered():
            return self._check_sinks(timeout, severity)

    def _check_sinks(self, timeout: float, severity: object) -> list[SinkCheck]:
        alert = make_alert(severity, "tocsin test alert", "A test alert sent by `tocsin test`.", {TEST_ALERT_KEY: True})
        checks = []
        for record in self.sinks():
            if record.enabled and record.error is not None:
                checks.append(SinkCheck(record.name, False, f"failed to load: {record.error}"))
                continue
            if not record.loaded:
                continue
            before = self._registry.status(record.name)
            if before.get("configured") is False:
                checks.append(SinkCheck(record.name, True, "not configured: nothing to send"))
                continue
            ok, detail = True, "accepted"
            failures = [r.failure for r in self._registry.send(record.name, alert) if r.failure is not None]
            if failures:
                ok, detail = False, f"raised {failures[0].error}"
            if ok:
                flushed = self._registry.flush(timeout, [record.name])
                if not all(flushed.values()):
                    error = self._registry.status(record.name).get("last_error")
                    ok, detail = False, f"not delivered within {timeout:g} s" + (f": {error}" if error else "")
                after = self._registry.status(record.name)
                # A sink that failed says so in its counters or its last error.
                failed_more = _count(after, "failed") > _count(before, "failed")
                new_error = after.get("last_error") not in (None, before.get("last_error"))
                # an error on the way that a retry got past is not a failure of the sink
                delivered_more = _count(after, "delivered") > _count(before, "delivered")
                if failed_more or after.get("gone") or (new_error and not (ok and delivered_more)):
                    ok, detail = False, str(after.get("last_error") or "delivery failed")
                elif ok and after.get("target"):
                    detail = f"delivered to {after['target']}"
            checks.append(SinkCheck(record.name, ok, detail))
        return checks


def _count(status: SinkStatus, key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) else 0


def _constant(obj: object) -> Callable[[], object]:
    return lambda: obj


# -- flushing at interpreter exit ---------------------------------------------------------

# Strong references on purpose: an emitter dropped by its creator may still hold queued alerts,
# and the exit hook must find it to deliver them. close() is what lets an emitter go.
_live: set[Emitter] = set()
_atexit_lock = threading.Lock()
_atexit_registered = False
_exit_flushed = False
"""Set once the exit flush has run: later alerts are flushed as they are emitted."""


def _track(emitter: Emitter) -> None:
    global _atexit_registered
    with _atexit_lock:
        _live.add(emitter)
        if not _atexit_registered:
            atexit.register(_flush_all_at_exit)
            _atexit_registered = True


def _untrack(emitter: Emitter) -> None:
    with _atexit_lock:
        _live.discard(emitter)


def _flush_all_at_exit() -> None:
    """Close every live emitter, all within the longest configured ``flush_timeout``: each
    flushes, then its sinks close (network destinations spool what is still pending). An alert
    emitted after this started is flushed as it is emitted (see ``Emitter._deliver``)."""
    global _exit_flushed
    _exit_flushed = True  # set first: an alert emitted while this runs is flushed by it or by its emit
    emitters = list(_live)
    if not emitters:
        return
    deadline = time.monotonic() + max(e.config.flush_timeout for e in emitters)
    for emitter in emitters:
        if not emitter.close(max(0.0, deadline - time.monotonic())):
            diagnostic("warning", "tocsin.exit_flush_incomplete", stats=emitter.stats())
