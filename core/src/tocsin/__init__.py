"""tocsin: raise operational alerts, fanned out to pluggable sinks.

>>> import tocsin
>>> tocsin.emit_alert("warning", "Queue pile-up", "312 jobs waiting", {"queue": "ingest"})

``emit_alert`` never raises and never waits on the network; ``flush`` (also run at interpreter
exit) waits for buffered alerts to be handed over. Sinks are plugins found through the
``tocsin.sinks`` entry-point group; see ``docs/writing-a-sink.md``.
"""

from __future__ import annotations

import threading

from . import _reentry
from ._alert import Alert, make_alert
from ._config import Config, ConfigProblem, SinkSettings, load_config
from ._duration import parse_duration
from ._emitter import Emitter, SinkCheck
from ._errors import ConfigError, DeliveryError, SinkError, TocsinError, TransportError
from ._hookspecs import SinkSpec, hookimpl
from ._log import diagnostic
from ._normalise import MAX_TITLE_CHARS, to_text
from ._redact import redact, redact_url, register_secret
from ._registry import SinkRecord
from ._render_text import TEST_ALERT_KEY, context_value_text, is_test_context
from ._severity import Severity
from ._signals import install_sigterm_flush
from ._status import SinkStatus
from ._version import __version__
from ._worker import BatchWorker

# Four audiences, four places: callers and local-sink authors import from here; network-sink
# authors from tocsin.delivery (imported only when used, with urllib3 behind it); the command
# line is tocsin.cli; sink tests use tocsin.testing.
__all__ = [
    "TEST_ALERT_KEY",
    "Alert",
    "BatchWorker",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DeliveryError",
    "Emitter",
    "Severity",
    "SinkCheck",
    "SinkError",
    "SinkRecord",
    "SinkSettings",
    "SinkSpec",
    "SinkStatus",
    "TocsinError",
    "TransportError",
    "__version__",
    "context_value_text",
    "diagnostic",
    "emit_alert",
    "flush",
    "get_default_emitter",
    "hookimpl",
    "install_sigterm_flush",
    "is_test_context",
    "load_config",
    "parse_duration",
    "redact",
    "redact_url",
    "register_secret",
    "resolve_alert",
    "set_default_emitter",
]

_default: Emitter | None = None
_default_lock = threading.Lock()


def get_default_emitter() -> Emitter:
    """The emitter behind :func:`emit_alert` and :func:`flush`, created on first use from the
    configuration file and environment (:func:`load_config`)."""
    global _default
    if _default is None:
        with _reentry.entered(), _default_lock:
            if _default is None:
                _default = Emitter()
    return _default


def _deliver_by_default_emitter(alert: Alert, exclude: str | None) -> None:
    get_default_emitter()._deliver(alert, exclude)


def set_default_emitter(emitter: Emitter | None) -> Emitter | None:
    """Replace the default emitter (None: build a fresh one on next use); returns the old one.

    The old emitter is not closed: close it yourself when it is done.
    """
    global _default
    with _default_lock:
        old, _default = _default, emitter
    return old


def emit_alert(severity: str, title: str, message: str, context: dict[str, object] | None = None) -> Alert:
    """Emit an alert to every enabled sink, and return it.

    The seed's signature, kept: ``severity`` is "info", "warning" or "critical" in any case
    (anything else becomes "info"), ``context`` a dict of extra facts. Never raises and never
    waits on the network, whatever it is given.
    """
    try:
        if _default is None and _reentry.inside():
            # Raised while this thread builds the default emitter (a signal handler, a sink's
            # import): waiting for the creation lock would deadlock. Deliver it once built.
            alert = make_alert(severity, title, message, context)
            _reentry.defer(_deliver_by_default_emitter, alert)
            return alert
        return get_default_emitter().emit(severity, title, message, context)
    except Exception as exc:  # the default emitter could not even be built
        alert = make_alert(severity, title, message, context)
        diagnostic("error", "tocsin.emit_failed", alert_id=alert.id, error=f"{type(exc).__name__}: {exc}")
        return alert


def resolve_alert(
    title: str, message: str = "", context: dict[str, object] | None = None, *, severity: str | None = None
) -> Alert:
    """Say that the alert ``title`` is over: emit an alert with ``status = "resolved"``, and return it.

    It goes where the firing alert went (matchers see its labels, ``min_severity`` its severity),
    except to instances with ``send_resolved = false``; repeat suppression lets it through and
    forgets the group, so that the next firing is sent at once. ``severity`` is the one the
    alert fired with: when not given, the severity ``title`` last fired with on this host (as
    recorded by instances with a ``repeat_interval``), else "info". Receivers that match
    resolves by severity (Alertmanager) need it right: pass it when in doubt. Never raises.
    """
    try:
        emitter = get_default_emitter()
        if severity is None:
            from ._repeat import last_fired_severity

            found = last_fired_severity(emitter.config.environ, emitter.config.project, to_text(title, MAX_TITLE_CHARS))
            severity = found.value if found is not None else "info"
        return emitter.emit(severity, title, message, context, status="resolved")
    except Exception as exc:  # the default emitter could not even be built
        alert = make_alert(severity, title, message, context, status="resolved")
        diagnostic("error", "tocsin.emit_failed", alert_id=alert.id, error=f"{type(exc).__name__}: {exc}")
        return alert


def flush(timeout: float | None = None) -> bool:
    """Wait at most ``timeout`` seconds (default: ``flush_timeout``, 10 s) for every sink of the
    default emitter to hand over what it buffered. True when nothing is left pending. Runs by
    itself at interpreter exit; never raises."""
    try:
        return _default.flush(timeout) if _default is not None else True
    except Exception as exc:  # pragma: no cover - Emitter.flush already never raises
        diagnostic("error", "tocsin.flush_failed", error=repr(exc))
        return False
