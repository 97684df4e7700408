"""Loading sinks into a pluggy plugin manager and calling their hooks one sink at a time.

pluggy's own hook call stops at the first implementation that raises, and its
``load_setuptools_entrypoints`` stops at the first entry point that fails to import. tocsin
promises that one broken sink never silences the others, so both loops are written here:
loading is per entry point and calling is per hook implementation, each in its own ``try``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pluggy

from ._alert import Alert
from ._config import Config
from ._discovery import SinkEntryPoint
from ._hookspecs import PROJECT_NAME, SinkSpec
from ._log import diagnostic
from ._severity import Severity

__all__ = ["SinkRecord", "SinkRegistry"]


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


# One entry of the fan-out: the sink, its hook function, the lowest severity rank it takes.
Dispatch = tuple[SinkRecord, Callable[[Alert], object], int]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class SinkRegistry:
    """The loaded sinks of one emitter, and the loops that call them in isolation."""

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

    def load_entry_points(self, entry_points: list[SinkEntryPoint]) -> None:
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
        settings through the ``sink_configure`` hook.
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
            for result in self.call(name, "sink_configure", settings=settings):
                if isinstance(result, BaseException):
                    raise result
        except Exception as exc:
            if record.plugin is not None:
                self._pm.unregister(name=name)
                record.plugin = None
            record.error = _describe(exc)
            diagnostic("error", "tocsin.sink_load_failed", sink=name, distribution=distribution, error=record.error)
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
            self._pm.check_pending()  # a hookimpl whose name is no hook of ours is a typo
            impls = [
                impl
                for caller in self._pm.get_hookcallers(plugin) or ()
                for impl in caller.get_hookimpls()
                if impl.plugin is plugin
            ]
            if any(impl.hookwrapper or impl.wrapper for impl in impls):
                raise TypeError("hook wrappers are not supported: tocsin calls each sink itself")
            if not any(impl.plugin is plugin for impl in self._pm.hook.alert_emitted.get_hookimpls()):
                raise TypeError("the sink implements no alert_emitted hook")
        except Exception:
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

    # -- calling -------------------------------------------------------------------------

    def alert_functions(self, name: str) -> list[Callable[[Alert], object]]:
        """Sink ``name``'s own ``alert_emitted`` implementations, without isolation: what they
        raise reaches the caller (for ``tocsin test`` and the contract suite)."""
        return [function for record, function, _ in self.dispatch if record.name == name]

    def call(self, name: str | None, hook: str, **kwargs: Any) -> Iterator[Any]:
        """Call ``hook`` of one sink (or of all, for None), each in its own ``try``.

        Yields each implementation's result, or the exception it raised (already logged
        and counted).
        """
        caller = getattr(self._pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            if name is not None and impl.plugin_name != name:
                continue
            args = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            try:
                yield impl.function(**args)
            except Exception as exc:
                self.failed(impl.plugin_name, hook, exc)
                yield exc

    def failed(self, name: str, hook: str, exc: BaseException) -> None:
        """Log and count an exception raised by sink ``name``'s ``hook``."""
        record = self.records.get(name)
        if record is not None:
            record.failures += 1  # a lost increment under a race only blurs a statistic
        diagnostic("error", "tocsin.sink_failed", sink=name, hook=hook, error=_describe(exc))

    def status(self, name: str) -> dict[str, object]:
        """The sink's ``sink_status`` answer, or an empty dict."""
        for result in self.call(name, "sink_status"):
            if isinstance(result, Mapping):
                return dict(result)
        return {}
