"""The Emitter: emit → normalise → log → fan out to sinks, and flush at the end.

An :class:`Emitter` holds its own configuration and plugin manager, so applications and tests
can run several side by side with no global state. ``tocsin.emit_alert`` uses a default one.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from ._alert import Alert, make_alert
from ._config import Config, load_config
from ._discovery import find_sink_entry_points
from ._errors import ConfigError
from ._log import alert_logger, diagnostic
from ._registry import HookResult, SinkRecord, SinkRegistry
from ._severity import Severity
from ._status import SinkStatus

__all__ = ["Emitter", "SinkCheck"]

_LOG_METHOD = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "error"}
_local = threading.local()


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
        self.config = load_config() if config is None else config
        self._registry = SinkRegistry(self.config)
        self._emitted = 0
        self._count_lock = threading.Lock()  # += on an attribute is not atomic across threads
        self._closed = False
        if discover:
            try:
                self._registry.load_entry_points(find_sink_entry_points())
            except Exception as exc:  # broken metadata of some unrelated distribution
                diagnostic("error", "tocsin.discovery_failed", error=f"{type(exc).__name__}: {exc}")
        for name, obj in (sinks or {}).items():
            self._registry.install(name, _constant(obj), value=repr(obj))
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

    def emit(self, severity: object, title: object, message: object, context: object = None) -> Alert:
        """Emit one alert to every enabled sink and return it. Never raises.

        The alert is first logged as one structlog event (``tocsin.alerts`` logger; info→info,
        warning→warning, critical→error), then handed to each sink at or above its
        ``min_severity``, each in its own ``try``. A sink that emits an alert from inside its own
        ``alert_emitted`` gets it logged but not fanned out again (no loops).
        """
        try:
            alert = make_alert(severity, title, message, context)
        except Exception:  # pragma: no cover - make_alert is total; this is the last fence
            alert = make_alert(None, "<unprintable alert>", "", None)
        # A broken logging setup must not break the caller.
        with contextlib.suppress(Exception):
            getattr(alert_logger, _LOG_METHOD[alert.severity])(
                "alert", alert_id=alert.id, severity=alert.severity.value, title=alert.title,
                message=alert.message[:500], context=dict(alert.context),
            )
        with self._count_lock:
            self._emitted += 1
        if getattr(_local, "emitting", False):
            diagnostic("warning", "tocsin.reentrant_alert_not_fanned_out", alert_id=alert.id)
            return alert
        _local.emitting = True
        try:
            self._registry.fan_out(alert)
        finally:
            _local.emitting = False
        return alert

    def send(self, name: str, alert: Alert) -> list[HookResult[object]]:
        """Hand ``alert`` to sink ``name`` alone, whatever its ``min_severity``, and return what
        each of its ``alert_emitted`` implementations did (a value, or the failure with its
        traceback). For ``tocsin test`` and the sink contract; ``emit`` is for alerts."""
        return self._registry.send(name, alert)

    # -- flushing and closing ------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every sink has handed over what it buffered, at most ``timeout`` seconds
        in all (default: the configured ``flush_timeout``). True when nothing is left pending.
        Never raises."""
        budget = self.config.flush_timeout if timeout is None else max(0.0, float(timeout))
        try:
            return all(self._registry.flush(budget).values())
        except Exception as exc:  # pragma: no cover - the registry already isolates each sink
            diagnostic("error", "tocsin.flush_failed", error=repr(exc))
            return False

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then let every sink release its resources. Returns what the flush returned."""
        if self._closed:
            return True
        complete = self.flush(timeout)
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

    def check_sinks(self, timeout: float = 10.0) -> list[SinkCheck]:
        """Send one test alert through each loaded sink on its own, flush it, and report.

        A sink passes when its ``alert_emitted`` returns, its flush completes within
        ``timeout`` and its status shows no new ``last_error``. An enabled sink that failed to
        load is listed as failed, with its error.
        """
        alert = make_alert(Severity.INFO, "tocsin test alert", "A test alert sent by `tocsin test`.", {"test": True})
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
                    ok, detail = False, f"not delivered within {timeout:g} s"
                after = self._registry.status(record.name)
                # A sink that failed says so in its counters or its last error.
                failed_more = _count(after, "failed") > _count(before, "failed")
                new_error = after.get("last_error") not in (None, before.get("last_error"))
                if failed_more or new_error or after.get("gone"):
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
    flushes, then its sinks close (network destinations spool what is still pending)."""
    emitters = list(_live)
    if not emitters:
        return
    deadline = time.monotonic() + max(e.config.flush_timeout for e in emitters)
    for emitter in emitters:
        if not emitter.close(max(0.0, deadline - time.monotonic())):
            diagnostic("warning", "tocsin.exit_flush_incomplete", stats=emitter.stats())
