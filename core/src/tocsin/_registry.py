"""The one caller of sinks: loading them, and calling every hook one sink at a time.

pluggy's own hook call stops at the first implementation that raises, and its
``load_setuptools_entrypoints`` stops at the first entry point that fails to import. tocsin
promises that one broken sink never silences the others, so both loops are written here, and
nowhere else: loading is per entry point and calling is per hook implementation, each guarded
by :func:`_guarded`. Every call returns a :class:`HookResult` — the value, or the
:class:`SinkFailure` with the sink's name and traceback — never a bare exception.

What a sink raises is isolated whatever it is, ``SystemExit`` included: only
``KeyboardInterrupt`` (the user's own Ctrl-C) goes through.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import pluggy

from ._alert import Alert
from ._config import Config
from ._discovery import PluginEntryPoint
from ._errors import SinkError
from ._hookspecs import PROJECT_NAME, SinkSpec
from ._log import diagnostic
from ._severity import Severity
from ._status import SinkStatus

__all__ = ["HookResult", "SinkFailure", "SinkRecord", "SinkRegistry"]

T = TypeVar("T")


@dataclasses.dataclass
class SinkRecord:
    """What tocsin knows of one sink: where it came from, whether it runs, and why not."""

    name: str
    distribution: str | None = None
    version: str | None = None
    value: str = ""
    """The entry point's value (``module:object``), or the object's repr for a sink given directly."""
    enabled: bool = True
    reason: str = "enabled by default"
    """Why the sink is enabled or disabled."""
    loaded: bool = False
    error: str | None = None
    """Why loading failed (import error, invalid hooks, constructor exception), if it did."""
    load_error: SinkError | None = dataclasses.field(default=None, repr=False)
    """The same, as the exception an ``Emitter(strict=True)`` raises."""
    plugin: object | None = dataclasses.field(default=None, repr=False)
    min_severity: Severity = Severity.INFO
    failures: int = 0
    """How many times one of its hooks raised."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the plugin object)."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "value": self.value,
            "enabled": self.enabled,
            "reason": self.reason,
            "loaded": self.loaded,
            "error": self.error,
            "min_severity": self.min_severity.value,
            "failures": self.failures,
        }


@dataclasses.dataclass(frozen=True)
class SinkFailure:
    """What one sink's hook raised: which sink and hook, the error, and its traceback."""

    sink: str
    hook: str
    error: str
    """``"TypeError: message"``."""
    traceback: str


@dataclasses.dataclass(frozen=True)
class HookResult(Generic[T]):
    """The outcome of calling one hook of one sink: its ``value``, or its ``failure``."""

    sink: str
    value: T | None = None
    failure: SinkFailure | None = None

    @property
    def ok(self) -> bool:
        """True when the hook returned (whatever it returned)."""
        return self.failure is None


# One entry of the fan-out: the sink, its hook function, the lowest severity rank it takes.
Dispatch = tuple[SinkRecord, Callable[[Alert], object], int]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class SinkRegistry:
    """The loaded sinks of one emitter, and the only code that calls their hooks."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(SinkSpec)
        self._lock = threading.Lock()
        self.records: dict[str, SinkRecord] = {}
        self.dispatch: tuple[Dispatch, ...] = ()
        """The fan-out of ``alert_emitted`` in pluggy's call order; replaced whole, never mutated,
        so that emitting threads can read it without a lock."""

    # -- loading -------------------------------------------------------------------------

    def load_entry_points(self, entry_points: list[PluginEntryPoint]) -> None:
        """Load every enabled entry point; a failing one is recorded and skipped."""
        for ep in entry_points:
            if ep.name in self.records:
                first = self.records[ep.name]
                diagnostic(
                    "warning", "tocsin.sink_duplicate", sink=ep.name,
                    distribution=ep.distribution, kept=first.distribution,
                )
                continue
            self.install(ep.name, ep.load, distribution=ep.distribution, version=ep.version, value=ep.value)

    def install(
        self,
        name: str,
        load: Callable[[], object],
        *,
        distribution: str | None = None,
        version: str | None = None,
        value: str = "",
    ) -> SinkRecord:
        """Load one sink (unless config disables it), register it, and give it its settings.

        ``load`` returns the entry point's object: a class is instantiated with the sink's
        :class:`SinkSettings`; a module or other object is registered as it is and receives its
        settings through the ``sink_configure`` hook. Whatever goes wrong is recorded in the
        returned record's ``error`` (a :class:`~tocsin.SinkError` in ``load_error``).
        """
        enabled, reason = self._config.sink_enabled(name)
        record = SinkRecord(name, distribution, version, value, enabled, reason)
        with self._lock:
            self.records[name] = record
        if not enabled:
            return record  # blocked before import: a disabled sink's code never runs
        settings = self._config.settings_for(name)
        record.min_severity = settings.get_severity("min_severity", Severity.INFO)
        try:
            obj = load()
            plugin = obj(settings) if isinstance(obj, type) else obj
            self._register(name, plugin)
            record.plugin = plugin
            for result in self._call_hook(name, "sink_configure", settings=settings):
                if result.failure is not None:
                    raise SinkError(name, f"sink_configure raised {result.failure.error}")
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # SystemExit at import included: one sink never stops the rest
            if record.plugin is not None:
                self._pm.unregister(name=name)
                record.plugin = None
            record.load_error = exc if isinstance(exc, SinkError) else SinkError(name, _describe(exc))
            record.error = record.load_error.detail
            diagnostic("error", "tocsin.sink_load_failed", sink=name, distribution=distribution, error=record.error,
                       traceback=traceback.format_exc())
            self._rebuild()
            return record
        record.loaded = True
        for key in settings.unread_keys():  # logged with every other config problem by the Emitter
            settings.problem(key, "unknown key, ignored", "warning")
        self._rebuild()
        return record

    def _register(self, name: str, plugin: object) -> None:
        self._pm.register(plugin, name=name)
        try:
            try:
                self._pm.check_pending()  # a hookimpl whose name is no hook of ours is a typo
            except pluggy.PluginValidationError as exc:
                raise SinkError(name, str(exc)) from None
            impls = [
                impl
                for caller in self._pm.get_hookcallers(plugin) or ()
                for impl in caller.get_hookimpls()
                if impl.plugin is plugin
            ]
            if any(impl.hookwrapper or impl.wrapper for impl in impls):
                raise SinkError(name, "hook wrappers are not supported: tocsin calls each sink itself")
            if not any(impl.plugin is plugin for impl in self._pm.hook.alert_emitted.get_hookimpls()):
                raise SinkError(name, "the sink implements no alert_emitted hook")
        except BaseException:
            self._pm.unregister(name=name)
            raise

    def _rebuild(self) -> None:
        entries: list[Dispatch] = []
        # pluggy calls implementations from the end of get_hookimpls(): keep its order.
        for impl in reversed(self._pm.hook.alert_emitted.get_hookimpls()):
            record = self.records.get(impl.plugin_name)
            if record is None:  # pragma: no cover - every plugin is registered through install()
                continue
            function = impl.function
            if "alert" not in impl.argnames:  # an implementation may take fewer arguments

                def function(alert: Alert, _f: Callable[[], object] = impl.function) -> object:
                    return _f()

            entries.append((record, function, record.min_severity.rank))
        self.dispatch = tuple(entries)

    # -- calling: every call of a sink's hook goes through _guarded ---------------------

    def _guarded(self, name: str, hook: str, function: Callable[..., Any], **kwargs: Any) -> HookResult[Any]:
        """Call one hook implementation of sink ``name``; what it raises becomes a failure,
        logged with its traceback and counted. The only ``try`` around sink code."""
        try:
            return HookResult(name, function(**kwargs))
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # SystemExit too: a sink never ends the caller's process
            return HookResult(name, failure=self._failed(name, hook, exc))

    def _failed(self, name: str, hook: str, exc: BaseException) -> SinkFailure:
        record = self.records.get(name)
        if record is not None:
            record.failures += 1  # a lost increment under a race only blurs a statistic
        failure = SinkFailure(name, hook, _describe(exc), "".join(traceback.format_exception(exc)))
        diagnostic("error", "tocsin.sink_failed", sink=name, hook=hook, error=failure.error,
                   traceback=failure.traceback)
        return failure

    def _call_hook(self, name: str | None, hook: str, **kwargs: Any) -> list[HookResult[Any]]:
        """Call ``hook`` of sink ``name`` (or of every sink, for None), each guarded, in pluggy's order."""
        caller = getattr(self._pm.hook, hook)
        results = []
        for impl in reversed(caller.get_hookimpls()):
            if name is not None and impl.plugin_name != name:
                continue
            args = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            results.append(self._guarded(impl.plugin_name, hook, impl.function, **args))
        return results

    def fan_out(self, alert: Alert) -> list[SinkFailure]:
        """Hand ``alert`` to every loaded sink at or above its ``min_severity``; the failures."""
        rank = alert.severity.rank
        failures = []
        for record, function, min_rank in self.dispatch:
            if rank >= min_rank:
                result = self._guarded(record.name, "alert_emitted", function, alert=alert)
                if result.failure is not None:
                    failures.append(result.failure)
        return failures

    def send(self, name: str, alert: Alert) -> list[HookResult[object]]:
        """Hand ``alert`` to sink ``name`` alone, whatever its ``min_severity`` (``tocsin test``)."""
        return [
            self._guarded(record.name, "alert_emitted", function, alert=alert)
            for record, function, _ in self.dispatch
            if record.name == name
        ]

    def flush(self, timeout: float, names: list[str] | None = None) -> dict[str, bool]:
        """Flush every loaded sink (or those named), all within ``timeout`` seconds; for each
        sink, whether it handed everything over (False when its flush said so or raised)."""
        deadline = time.monotonic() + max(0.0, timeout)
        complete: dict[str, bool] = {}
        for record in list(self.records.values()):
            if not record.loaded or (names is not None and record.name not in names):
                continue
            remaining = max(0.0, deadline - time.monotonic())
            results = self._call_hook(record.name, "sink_flush", timeout=remaining)
            complete[record.name] = all(r.ok and r.value is not False for r in results)
        return complete

    def close(self) -> list[SinkFailure]:
        """Let every sink release its resources; the failures."""
        return [r.failure for r in self._call_hook(None, "sink_close") if r.failure is not None]

    def status(self, name: str) -> SinkStatus:
        """Sink ``name``'s ``sink_status`` answer (a copy), or an empty status."""
        for result in self._call_hook(name, "sink_status"):
            if isinstance(result.value, Mapping):
                # A sink may add keys of its own: they are kept, and shown as they are.
                status: SinkStatus = dict(result.value)  # type: ignore[assignment]
                return status
        return SinkStatus()
