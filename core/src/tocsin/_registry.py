"""The one caller of sinks: loading them, and calling every hook one sink at a time.

pluggy's own hook call stops at the first implementation that raises, and its
``load_setuptools_entrypoints`` stops at the first entry point that fails to import. tocsin
promises that one broken sink never silences the others, so both loops are written here, and
nowhere else: loading is per entry point and calling is per hook implementation, each guarded
by :func:`_guarded`. Every call returns a :class:`HookResult` — the value, or the
:class:`SinkFailure` with the sink's name and traceback — never a bare exception.

What a sink raises is isolated whatever it is, ``SystemExit`` included: only
``KeyboardInterrupt`` (the user's own Ctrl-C) goes through.

Sinks run as *instances*: each ``[sinks.NAME]`` table is one (``type`` names the plugin, NAME
by default), and a plugin with no table runs one default instance named after it. An entry
point is loaded once; a class gets one object per instance, each with its own settings, and
pluggy knows each by its instance name. Each instance has a :class:`~tocsin._matchers.Route`
(matchers, ``send_resolved``) checked in :meth:`SinkRegistry.fan_out`, and may have a
:class:`~tocsin._repeat.RepeatFilter` that its destination applies on the delivering side.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from . import _reentry
from ._alert import Alert
from ._config import DEFAULT_GROUP_BY, Config, SinkSettings
from ._discovery import PluginEntryPoint
from ._errors import SinkError
from ._hookspecs import PROJECT_NAME, SinkSpec
from ._log import diagnostic
from ._matchers import Matcher, MatcherError, Route, parse_matchers
from ._severity import Severity
from ._status import SinkStatus

if TYPE_CHECKING:
    from ._repeat import RepeatFilter

__all__ = ["HookResult", "SinkFailure", "SinkRecord", "SinkRegistry"]

T = TypeVar("T")


@dataclasses.dataclass
class SinkRecord:
    """What tocsin knows of one sink instance: which plugin it runs, where that came from,
    whether it runs, and why not."""

    name: str
    """The instance's name (the NAME of ``[sinks.NAME]``; the plugin's name for its default instance)."""
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
    type: str = ""
    """The plugin the instance runs (its entry-point name); the instance's name when not given."""
    matchers: tuple[str, ...] = ()
    """Its ``matchers`` setting, as written."""
    send_resolved: bool = True
    repeat_interval: float = 0.0
    """Seconds within which an alert of the same group is held back (0: never)."""
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    route: Route | None = dataclasses.field(default=None, repr=False)
    repeat: RepeatFilter | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.type = self.type or self.name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the plugin object)."""
        return {
            "name": self.name,
            "type": self.type,
            "distribution": self.distribution,
            "version": self.version,
            "value": self.value,
            "enabled": self.enabled,
            "reason": self.reason,
            "loaded": self.loaded,
            "error": self.error,
            "min_severity": self.min_severity.value,
            "failures": self.failures,
            "matchers": list(self.matchers),
            "send_resolved": self.send_resolved,
            "repeat_interval": self.repeat_interval,
            "group_by": list(self.group_by),
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


# One entry of the fan-out: the instance, its hook function, the lowest severity rank it takes,
# and its route (None when it takes every alert: the common case costs no call).
Dispatch = tuple[SinkRecord, Callable[..., object], int, Route | None]


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
        """Every instance, by name."""
        self._types: dict[str, str | None] = {}  # installed plugin name -> its distribution
        self.dispatch: tuple[Dispatch, ...] = ()
        """The fan-out of ``alert_emitted`` in pluggy's call order; replaced whole, never mutated,
        so that emitting threads can read it without a lock."""

    # -- loading -------------------------------------------------------------------------

    def load_entry_points(self, entry_points: list[PluginEntryPoint]) -> None:
        """Load every enabled entry point; a failing one is recorded and skipped."""
        for ep in entry_points:
            if ep.name in self._types:
                diagnostic(
                    "warning", "tocsin.sink_duplicate", sink=ep.name, type=ep.name,
                    distribution=ep.distribution, kept=self._types[ep.name],
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
        """Install plugin ``name``: one instance per ``[sinks.X]`` table of that type (its
        default instance, named ``name``, when there is none), each unless config disables it.

        ``load`` returns the entry point's object, and is called once, when the first enabled
        instance needs it: a class is instantiated for each instance with the instance's
        :class:`SinkSettings`; a module or other object can run as one instance only, and
        receives its settings through the ``sink_configure`` hook. Whatever goes wrong is
        recorded in the instance's record (``error``, and a :class:`~tocsin.SinkError` in
        ``load_error``). Returns the record of the first instance.
        """
        self._types[name] = distribution
        loaded: list[object] = []
        failed: list[BaseException] = []

        def load_once() -> object:
            if failed:
                raise failed[0]
            if not loaded:
                try:
                    loaded.append(load())
                except BaseException as exc:
                    failed.append(exc)
                    raise
            return loaded[0]

        records = [
            self._install_instance(instance, name, load_once, distribution, version, value)
            for instance in self._config.instances_of(name)
        ]
        if not records:  # [sinks.NAME] runs another plugin: this one has no instance
            return SinkRecord(name, distribution, version, value, False, f"[sinks.{name}] runs another sink",
                              type=name)
        return records[0]

    def _routing(self, settings: SinkSettings, record: SinkRecord) -> bool:
        """Read the instance's routing settings into ``record``; False when its matchers are
        invalid (the instance then gets nothing, rather than everything)."""
        record.send_resolved = settings.get_bool("send_resolved", True)
        record.repeat_interval = settings.get_duration("repeat_interval", 0.0)
        record.group_by = settings.get_str_list("group_by", DEFAULT_GROUP_BY)
        matchers: tuple[Matcher, ...] = ()
        if "matchers" in settings:
            try:
                matchers = parse_matchers(settings["matchers"])
            except MatcherError as exc:
                settings.problem("matchers", f"{exc}; this instance receives no alerts")
                self._fail(record, SinkError(record.name, f"invalid matchers: {exc}"))
                return False
        record.matchers = tuple(str(m) for m in matchers)
        route = Route(matchers, send_resolved=record.send_resolved, project=settings.project)
        record.route = None if route.trivial else route
        if record.repeat_interval > 0:
            from ._repeat import RepeatFilter, repeat_store_path  # sqlite3 and all: only when configured

            record.repeat = RepeatFilter(record.name, record.repeat_interval, record.group_by,
                                         repeat_store_path(settings.environ), settings.project)
        return True

    def _fail(self, record: SinkRecord, error: SinkError, trace: str | None = None) -> None:
        record.load_error = error
        record.error = error.detail
        diagnostic("error", "tocsin.sink_load_failed", sink=record.name, type=record.type,
                   distribution=record.distribution, error=record.error, traceback=trace)

    def _install_instance(
        self,
        name: str,
        kind: str,
        load: Callable[[], object],
        distribution: str | None,
        version: str | None,
        value: str,
    ) -> SinkRecord:
        enabled, reason = self._config.sink_enabled(name, kind)
        record = SinkRecord(name, distribution, version, value, enabled, reason, type=kind)
        with self._lock:
            self.records[name] = record
        if not enabled:
            return record  # blocked before import: a disabled sink's code never runs
        settings = self._config.settings_for(name)
        record.min_severity = settings.get_severity("min_severity", Severity.INFO)
        if not self._routing(settings, record):
            return record
        from ._repeat import installing  # here, not at `import tocsin`: bench/import_time.py

        try:
            obj = load()
            if isinstance(obj, type):
                with installing(record.repeat):  # the destinations it creates take the filter
                    plugin = obj(settings)
            else:
                other = next((r.name for r in self.records.values() if r.plugin is obj and r is not record), None)
                if other is not None:
                    message = (f"plugin {kind!r} is a module, not a class: it can run as one instance only, "
                               f"and {other!r} is that instance")
                    settings.problem("type", message)
                    raise SinkError(name, message)
                plugin = obj
            self._register(name, plugin)
            record.plugin = plugin
            with installing(record.repeat):
                for result in self._call_hook(name, "sink_configure", settings=settings):
                    if result.failure is not None:
                        raise SinkError(name, f"sink_configure raised {result.failure.error}")
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # SystemExit at import included: one sink never stops the rest
            if record.plugin is not None:
                self._pm.unregister(name=name)
                record.plugin = None
            self._fail(record, exc if isinstance(exc, SinkError) else SinkError(name, _describe(exc)),
                       traceback.format_exc())
            self._rebuild()
            return record
        record.loaded = True
        for key in settings.unread_keys():  # logged with every other config problem by the Emitter
            settings.problem(key, "unknown key, ignored", "warning")
        self._rebuild()
        return record

    def check_names(self) -> None:
        """Once every plugin is installed: report names in the configuration that name nothing
        installed (with a "did you mean"), and list each instance of an unknown ``type`` as
        failed to load."""
        for name, message in self._config.check_sink_names(self._types).items():
            kind = self._config.instance_type(name)
            enabled, reason = self._config.sink_enabled(name, kind)
            record = SinkRecord(name, None, None, "", enabled, reason, type=kind)
            with self._lock:
                self.records.setdefault(name, record)
            if enabled:
                self._fail(record, SinkError(name, message))

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
            function: Callable[..., object] = impl.function
            if "alert" not in impl.argnames:  # an implementation may take fewer arguments

                def function(alert: Alert, _f: Callable[[], object] = impl.function) -> object:
                    return _f()

            repeat = record.repeat
            # No destination took the repeat filter (a local sink): apply it here, on the emitting
            # thread (one SQLite transaction per alert; off unless repeat_interval is set). A
            # network sink without a URL (destination None) sends nothing: no filter needed.
            if repeat is not None and not repeat.claimed and getattr(record.plugin, "destination", 0) is not None:

                def function(
                    alert: Alert, _f: Callable[..., object] = function, _r: RepeatFilter = repeat
                ) -> object:
                    for kept in _r.filter([alert]):
                        _f(alert=kept)
                    return None

            entries.append((record, function, record.min_severity.rank, record.route))
        self.dispatch = tuple(entries)

    # -- calling: every call of a sink's hook goes through _guarded ---------------------

    def _guarded(self, name: str, hook: str, function: Callable[..., Any], **kwargs: Any) -> HookResult[Any]:
        """Call one hook implementation of sink ``name``; what it raises becomes a failure,
        logged with its traceback and counted. The only ``try`` around sink code."""
        previous = _reentry.enter_sink(name)  # an alert this sink raises is not handed back to it
        try:
            return HookResult(name, function(**kwargs))
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # SystemExit too: a sink never ends the caller's process
            return HookResult(name, failure=self._failed(name, hook, exc))
        finally:
            _reentry.leave_sink(previous)

    def _failed(self, name: str, hook: str, exc: BaseException) -> SinkFailure:
        record = self.records.get(name)
        if record is not None:
            record.failures += 1  # a lost increment under a race only blurs a statistic
        failure = SinkFailure(name, hook, _describe(exc), "".join(traceback.format_exception(exc)))
        diagnostic("error", "tocsin.sink_failed", sink=name, type=record.type if record else None, hook=hook,
                   error=failure.error, traceback=failure.traceback)
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

    def fan_out(self, alert: Alert, exclude: str | None = None) -> list[SinkFailure]:
        """Hand ``alert`` to every loaded instance at or above its ``min_severity`` whose route
        (matchers, ``send_resolved``) accepts it, but ``exclude`` (the instance that raised it
        from its own hook); the failures."""
        rank = alert.severity.rank
        failures = []
        for record, function, min_rank, route in self.dispatch:
            if rank >= min_rank and record.name != exclude and (route is None or route.accepts(alert)):
                result = self._guarded(record.name, "alert_emitted", function, alert=alert)
                if result.failure is not None:
                    failures.append(result.failure)
        return failures

    def send(self, name: str, alert: Alert) -> list[HookResult[object]]:
        """Hand ``alert`` to instance ``name`` alone, whatever its ``min_severity`` and matchers
        (``tocsin test``)."""
        return [
            self._guarded(record.name, "alert_emitted", function, alert=alert)
            for record, function, _, _ in self.dispatch
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
