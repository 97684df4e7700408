"""From logs to alerts: a stdlib logging handler and a structlog processor.

An application's existing ``log.error(...)`` calls raise alerts once one of these is installed::

    import logging, tocsin.logging
    logging.getLogger().addHandler(tocsin.logging.AlertHandler())          # ERROR and above

    import structlog, tocsin.logging
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    tocsin.logging.alert_processor(min_level="error"),
                                    structlog.dev.ConsoleRenderer()])

Both map ``WARNING`` to a warning alert and ``ERROR``/``CRITICAL`` to a critical one (anything
lower to info). Both never raise into logging, never recurse (tocsin's own loggers and events
are skipped, and an alert raised while one is being raised on the same thread is dropped) and
never block: they call :func:`tocsin.emit_alert`, which only queues. Recipes: docs/logging.md.

This module installs nothing by itself: importing it configures no logger.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from types import TracebackType
from typing import Any, Final

from ._log import diagnostic

__all__ = ["TITLE_LIMIT", "AlertHandler", "alert_processor"]

TITLE_LIMIT: Final = 200
"""The longest title (in characters) a log line becomes; the rest of the line moves to the message."""

_TRACEBACK_LIMIT: Final = 4_000  # characters of the traceback summary kept (its end, where the error is)
_FRAMES: Final = 8  # innermost frames in the summary

# The attributes every LogRecord has: whatever else a record carries came from ``extra``.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)

_LEVELS: Final = {
    "notset": 0, "debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "exception": 40,
    "critical": 50, "fatal": 50, "failure": 40,
}

# Keys of a structlog event that say how it was logged, not what happened: left out of the context.
_STRUCTLOG_META: Final = frozenset(
    {"event", "level", "log_level", "exc_info", "exception", "stack", "stack_info", "timestamp", "_record",
     "_from_structlog", "logger", "logger_name"}
)

Emit = Callable[[str, str, str, "dict[str, object]"], object]

_guard = threading.local()


def _severity(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "critical"
    if levelno >= logging.WARNING:
        return "warning"
    return "info"


def _is_tocsin(name: object) -> bool:
    return isinstance(name, str) and (name == "tocsin" or name.startswith("tocsin."))


def _split(text: str) -> tuple[str, str]:
    """The title (the first line, at most TITLE_LIMIT characters) and the rest."""
    first, _, rest = text.strip().partition("\n")
    first = first.rstrip()
    if len(first) > TITLE_LIMIT:
        # The cut part of the first line leads the message, so nothing is lost.
        head = first[: TITLE_LIMIT - 1] + "…"
        rest = f"…{first[TITLE_LIMIT - 1 :]}\n{rest}" if rest else f"…{first[TITLE_LIMIT - 1 :]}"
        first = head
    return first or "(empty log message)", rest.strip("\n")


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _traceback_summary(exc_info: ExcInfo) -> str:
    """The exception and its innermost frames, bounded: enough to find the fault, never megabytes.

    The exception line comes last, as Python prints it, and is cut on its own, so that a huge
    exception message cannot push out its type or the frames."""
    te = traceback.TracebackException(exc_info[0], exc_info[1], exc_info[2], limit=-_FRAMES)
    error = "".join(te.format_exception_only()).rstrip("\n")
    if len(error) > _TRACEBACK_LIMIT // 4:
        error = error[: _TRACEBACK_LIMIT // 4 - 1] + "…"
    frames = "".join(te.stack.format())
    room = _TRACEBACK_LIMIT - len(error) - 40
    if len(frames) > room:
        frames = "…" + frames[-(room - 1) :]
    return f"Traceback (most recent call last):\n{frames}{error}"


def _emit_function(emitter: Any | None) -> Emit:
    if emitter is not None:
        return emitter.emit  # type: ignore[no-any-return]  # an Emitter, typed Any: see _emit_function's caller

    def emit(severity: str, title: str, message: str, context: dict[str, object]) -> object:
        # Looked up per call, so that tocsin.set_default_emitter() is honoured.
        import tocsin

        return tocsin.emit_alert(severity, title, message, context)

    return emit


def _guarded(emit: Emit, severity: str, title: str, message: str, context: dict[str, object]) -> None:
    """Call ``emit`` unless this thread is already raising an alert from a log line."""
    if getattr(_guard, "active", False):
        return  # a log line written while an alert is raised: raising again would loop
    _guard.active = True
    try:
        emit(severity, title, message, context)
    finally:
        _guard.active = False


class AlertHandler(logging.Handler):
    """A :class:`logging.Handler` that turns each record at or above ``level`` into an alert.

    ``WARNING`` → warning, ``ERROR`` and ``CRITICAL`` → critical (a level set lower lets
    ``INFO`` through as info). The title is the first line of the message (at most
    :data:`TITLE_LIMIT` characters), the message the rest plus a bounded traceback summary when
    the record has ``exc_info``, and the context the record's ``extra`` fields plus ``logger``,
    ``module``, ``function`` and ``line``.

    Records of tocsin's own loggers (``tocsin``, ``tocsin.*``) are skipped, and so is any record
    logged while this thread is raising an alert: no loops. ``emit`` never raises and never
    blocks (:func:`tocsin.emit_alert` only queues).

    :param emitter: the :class:`tocsin.Emitter` to raise alerts through; by default the one
        behind :func:`tocsin.emit_alert`, looked up on each record.
    """

    def __init__(self, level: int | str = logging.ERROR, *, emitter: Any | None = None) -> None:
        super().__init__(level)
        self._emit = _emit_function(emitter)
        self.failures = 0
        """Records that could not become alerts (their message could not even be formatted)."""

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit ``record`` without taking the handler's lock: emitting is thread-safe,
        and one lock would serialise every thread that logs an error."""
        rv: object = self.filter(record)
        if isinstance(rv, logging.LogRecord):  # Python 3.12: a filter may return a replacement record
            record = rv
        if rv:
            self.emit(record)
        return bool(rv)

    def emit(self, record: logging.LogRecord) -> None:
        """Raise ``record`` as an alert (see the class docstring). Never raises."""
        if _is_tocsin(record.name) or getattr(_guard, "active", False):
            return
        try:
            severity, title, message, context = self.to_alert(record)
            _guarded(self._emit, severity, title, message, context)
        except Exception as exc:  # a broken record or emitter must not break the application's logging
            self.failures += 1
            with _GuardedDiagnostic():
                diagnostic("error", "tocsin.log_alert_failed", source=record.name, error=f"{type(exc).__name__}: {exc}")

    def to_alert(self, record: logging.LogRecord) -> tuple[str, str, str, dict[str, object]]:
        """The severity, title, message and context that ``record`` becomes."""
        title, message = _split(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            summary = _traceback_summary(record.exc_info)
            message = f"{message}\n\n{summary}" if message else summary
        elif record.exc_text:
            message = f"{message}\n\n{record.exc_text}" if message else record.exc_text
        if record.stack_info:
            message = f"{message}\n\n{record.stack_info[-_TRACEBACK_LIMIT:]}" if message else record.stack_info
        context: dict[str, object] = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
        context.update(logger=record.name, module=record.module, function=record.funcName, line=record.lineno)
        return _severity(record.levelno), title, message, context


class _GuardedDiagnostic:
    """Marks this thread as raising an alert while tocsin logs its own diagnostic, so that a
    handler or processor further down cannot turn that diagnostic into an alert again."""

    def __enter__(self) -> None:
        self._was = getattr(_guard, "active", False)
        _guard.active = True

    def __exit__(self, *exc: object) -> None:
        _guard.active = self._was


def _level(value: int | str) -> int:
    if isinstance(value, int):
        return value
    try:
        return _LEVELS[value.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {value!r}: expected one of {', '.join(_LEVELS)}") from None


def _event_level(method_name: str, event_dict: Mapping[str, Any]) -> int:
    level = event_dict.get("level", event_dict.get("log_level", method_name))
    if isinstance(level, int):
        return level
    return _LEVELS.get(str(level).lower(), logging.INFO)


def _tocsin_event(logger: object, event_dict: Mapping[str, Any]) -> bool:
    # A structlog logger rarely knows its name (PrintLogger does not); tocsin's own events are
    # recognised by name where there is one, else by their shape: diagnostics are named
    # "tocsin.…", and the event logged for every alert is "alert" with an alert_id.
    if _is_tocsin(getattr(logger, "name", None)):
        return True
    if _is_tocsin(event_dict.get("logger")) or _is_tocsin(event_dict.get("logger_name")):
        return True
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord) and _is_tocsin(record.name):
        return True
    event = event_dict.get("event")
    return _is_tocsin(event) or (event == "alert" and "alert_id" in event_dict)


def _exc_info(value: object) -> ExcInfo | None:
    import sys

    if value is True:
        info = sys.exc_info()
        return info if info[1] is not None else None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value
    return None


Processor = Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]


def alert_processor(min_level: int | str = "error", *, emitter: Any | None = None) -> Processor:
    """A structlog processor that also raises each event at or above ``min_level`` as an alert.

    ``min_level`` is a level name ("warning", "error", "critical", …) or a stdlib level number.
    The event's level comes from its ``level`` key (``structlog.processors.add_log_level``) or
    else from the method called. ``warning`` → warning, ``error``/``critical``/``exception`` →
    critical. Title: the first line of ``event``; message: the rest, plus a traceback summary of
    ``exc_info`` (or the ``exception`` text ``format_exc_info`` made); context: the other keys.

    The event is returned unchanged (the same object), so place the processor anywhere before
    the renderer. Never raises; tocsin's own events and events logged while an alert is being
    raised on the same thread are skipped.

    :param emitter: the :class:`tocsin.Emitter` to raise alerts through; by default the one
        behind :func:`tocsin.emit_alert`.
    :raises ValueError: ``min_level`` is no level name (at configuration time, not per event).
    """
    threshold = _level(min_level)
    emit = _emit_function(emitter)

    def processor(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        try:
            if getattr(_guard, "active", False):
                return event_dict
            levelno = _event_level(method_name, event_dict)
            if levelno < threshold or _tocsin_event(logger, event_dict):
                return event_dict
            title, message = _split(str(event_dict.get("event", "")))
            info = _exc_info(event_dict.get("exc_info"))
            if method_name == "exception" and info is None:
                info = _exc_info(True)
            summary = _traceback_summary(info) if info else event_dict.get("exception")
            if isinstance(summary, str) and summary:
                message = f"{message}\n\n{summary}" if message else summary
            context: dict[str, object] = {k: v for k, v in event_dict.items() if k not in _STRUCTLOG_META}
            name = getattr(logger, "name", None) or event_dict.get("logger")
            if isinstance(name, str):
                context["logger"] = name
            _guarded(emit, _severity(levelno), title, message, context)
        except Exception as exc:  # never into the application's logging
            with _GuardedDiagnostic():
                diagnostic("error", "tocsin.log_alert_failed", error=f"{type(exc).__name__}: {exc}")
        return event_dict

    return processor
