"""tocsin.logging: log records and structlog events become alerts, with real logging configs."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

import tocsin
from tocsin import Alert, Emitter, hookimpl
from tocsin.logging import TITLE_LIMIT, AlertHandler, alert_processor
from tocsin.testing import RecordingSink


@pytest.fixture
def rec() -> Iterator[tuple[Emitter, RecordingSink]]:
    sink = RecordingSink()
    emitter = Emitter(tocsin.load_config(environ={}), sinks={"rec": sink}, discover=False)
    yield emitter, sink
    emitter.close(1)


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("app.test_logging")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_error_record_becomes_a_critical_alert_with_extra_and_origin(
    rec: tuple[Emitter, RecordingSink], app_logger: logging.Logger
) -> None:
    emitter, sink = rec
    app_logger.addHandler(AlertHandler(emitter=emitter))
    app_logger.error("Backup failed for %s\nexit status 3, disk full", "db1", extra={"job": "nightly", "tries": 2})
    (alert,) = sink.alerts
    assert alert.severity == "critical"
    assert alert.title == "Backup failed for db1"
    assert alert.message == "exit status 3, disk full"
    assert alert.context["job"] == "nightly"
    assert alert.context["tries"] == 2
    assert alert.context["logger"] == "app.test_logging"
    assert alert.context["module"] == "test_logging"
    assert alert.context["function"] == "test_error_record_becomes_a_critical_alert_with_extra_and_origin"
    assert isinstance(alert.context["line"], int)
    assert alert.context["line"] > 0


def test_levels_map_to_severities_and_the_handler_level_filters(
    rec: tuple[Emitter, RecordingSink], app_logger: logging.Logger
) -> None:
    emitter, sink = rec
    app_logger.addHandler(AlertHandler(logging.WARNING, emitter=emitter))
    app_logger.info("ignored")
    app_logger.warning("w")
    app_logger.error("e")
    app_logger.critical("c")
    assert [(a.severity.value, a.title) for a in sink.alerts] == [
        ("warning", "w"), ("critical", "e"), ("critical", "c")]


def test_default_level_is_error(rec: tuple[Emitter, RecordingSink], app_logger: logging.Logger) -> None:
    emitter, sink = rec
    app_logger.addHandler(AlertHandler(emitter=emitter))
    app_logger.warning("not an alert")
    assert sink.alerts == []


def test_exc_info_adds_a_bounded_traceback_summary(
    rec: tuple[Emitter, RecordingSink], app_logger: logging.Logger
) -> None:
    emitter, sink = rec
    app_logger.addHandler(AlertHandler(emitter=emitter))

    def deep(n: int) -> None:
        if n == 0:
            raise ValueError("x" * 10_000)
        deep(n - 1)

    try:
        deep(50)
    except ValueError:
        app_logger.exception("Import crashed")
    (alert,) = sink.alerts
    assert alert.title == "Import crashed"
    assert "ValueError" in alert.message
    assert "Traceback" not in alert.title
    assert len(alert.message) <= 4_100  # bounded however deep and long the error


def test_a_long_first_line_is_cut_into_the_title_and_kept_in_the_message(
    rec: tuple[Emitter, RecordingSink], app_logger: logging.Logger
) -> None:
    emitter, sink = rec
    app_logger.addHandler(AlertHandler(emitter=emitter))
    app_logger.error("a" * 300 + "TAIL")
    (alert,) = sink.alerts
    assert len(alert.title) == TITLE_LIMIT
    assert alert.message.endswith("TAIL")


def test_tocsin_own_loggers_are_skipped(rec: tuple[Emitter, RecordingSink]) -> None:
    emitter, sink = rec
    handler = AlertHandler(emitter=emitter)
    for name in ("tocsin", "tocsin.alerts", "tocsin.whatever"):
        logging.getLogger(name).addHandler(handler)
    try:
        for name in ("tocsin", "tocsin.alerts", "tocsin.whatever"):
            logging.getLogger(name).error("from tocsin itself")
        logging.getLogger("tocsinator").error("not tocsin")  # only the prefix "tocsin." counts
    finally:
        for name in ("tocsin", "tocsin.alerts", "tocsin.whatever"):
            logging.getLogger(name).removeHandler(handler)
        logging.getLogger("tocsinator").handlers.clear()
    assert sink.alerts == []


def test_a_sink_that_logs_errors_does_not_loop(app_logger: logging.Logger) -> None:
    class Noisy:
        def __init__(self) -> None:
            self.alerts: list[Alert] = []

        @hookimpl
        def alert_emitted(self, alert: Alert) -> None:
            self.alerts.append(alert)
            app_logger.error("the sink failed while delivering %s", alert.id)

    noisy = Noisy()
    with Emitter(tocsin.load_config(environ={}), sinks={"noisy": noisy}, discover=False) as emitter:
        app_logger.addHandler(AlertHandler(emitter=emitter))
        app_logger.error("first")
    assert [a.title for a in noisy.alerts] == ["first"]


def test_never_raises_into_logging(app_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def emit(self, *args: object) -> None:
            raise RuntimeError("emitter down")

    monkeypatch.setattr(logging, "raiseExceptions", True)  # logging's own handleError would print
    handler = AlertHandler(emitter=Broken())
    app_logger.addHandler(handler)
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    app_logger.error("boom")
    # getMessage() raises on this record (handed to the handler alone: pytest's own capture
    # handler would raise on it too)
    handler.handle(logging.LogRecord("app", logging.ERROR, __file__, 1, "bad format %d", ("x",), None))
    assert handler.failures == 2
    # logging's handleError printed nothing (no "--- Logging error ---", no traceback); tocsin's
    # own diagnostic says what failed, on stderr since structlog is not configured here
    assert "Logging error" not in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    assert stderr.getvalue().count("tocsin.log_alert_failed") == 2


def test_dictconfig_recipe_uses_the_default_emitter(rec: tuple[Emitter, RecordingSink]) -> None:
    emitter, sink = rec
    old = tocsin.set_default_emitter(emitter)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        logging.config.dictConfig({
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
                "alerts": {"class": "tocsin.logging.AlertHandler", "level": "ERROR"},
            },
            "root": {"level": "INFO", "handlers": ["console", "alerts"]},
        })
        logging.getLogger("app.orders").error("Payment gateway unreachable", extra={"gateway": "acme"})
        logging.getLogger("app.orders").warning("slow")
        logging.getLogger("tocsin.alerts").error("tocsin's own event line")
    finally:
        tocsin.set_default_emitter(old)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])
    assert [(a.severity.value, a.title, a.context.get("gateway")) for a in sink.alerts] == [
        ("critical", "Payment gateway unreachable", "acme")]


@settings(max_examples=60, deadline=None)
@given(message=st.text(max_size=400), extra=st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in logging.LogRecord("", 0, "", 0, "", None, None).__dict__
                                           and k not in ("message", "asctime")),
    st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=20), st.binary(max_size=10)), max_size=4))
def test_hostile_records_never_raise(message: str, extra: dict[str, Any]) -> None:
    sink = RecordingSink()
    with Emitter(tocsin.load_config(environ={}), sinks={"rec": sink}, discover=False) as emitter:
        handler = AlertHandler(emitter=emitter)
        record = logging.LogRecord("app.h", logging.ERROR, __file__, 1, message, None, None)
        record.__dict__.update(extra)
        handler.handle(record)
    assert handler.failures == 0
    assert len(sink.alerts) == 1
    assert sink.alerts[0].title


# -- structlog -----------------------------------------------------------------------------


def _configure(processor: Any, out: io.StringIO) -> None:
    structlog.configure(
        processors=[structlog.processors.add_log_level, processor, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def test_structlog_events_at_or_above_min_level_become_alerts_and_pass_through(
    rec: tuple[Emitter, RecordingSink],
) -> None:
    emitter, sink = rec
    out = io.StringIO()
    _configure(alert_processor(min_level="warning", emitter=emitter), out)
    log = structlog.get_logger("app")
    log.info("fine", n=1)
    log.warning("disk at 91%", mount="/srv")
    log.error("replica lag\n412 s behind", replica="db2")
    # tocsin logs each alert as an "alert" event of its own, through the same configuration
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["title"] for line in lines if line["event"] == "alert"] == ["disk at 91%", "replica lag"]
    assert [line for line in lines if line["event"] != "alert"] == [
        {"n": 1, "event": "fine", "level": "info"},
        {"mount": "/srv", "event": "disk at 91%", "level": "warning"},
        {"replica": "db2", "event": "replica lag\n412 s behind", "level": "error"},
    ]
    assert [(a.severity.value, a.title, a.message, dict(a.context)) for a in sink.alerts] == [
        ("warning", "disk at 91%", "", {"mount": "/srv"}),
        ("critical", "replica lag", "412 s behind", {"replica": "db2"}),
    ]


def test_structlog_exception_carries_a_traceback_summary(rec: tuple[Emitter, RecordingSink]) -> None:
    emitter, sink = rec
    _configure(alert_processor(emitter=emitter), io.StringIO())
    try:
        {}["missing"]
    except KeyError:
        structlog.get_logger().exception("lookup failed")
    (alert,) = sink.alerts
    assert alert.severity == "critical"
    assert alert.title == "lookup failed"
    assert "KeyError: 'missing'" in alert.message


def test_structlog_with_tocsin_itself_raises_each_alert_once(rec: tuple[Emitter, RecordingSink]) -> None:
    # emit() logs every alert as an "alert" event at error level for a critical one: the
    # processor must not turn that event into a second alert, nor tocsin's diagnostics into alerts.
    emitter, sink = rec
    out = io.StringIO()
    _configure(alert_processor(min_level="warning", emitter=emitter), out)
    emitter.emit("critical", "Disk full", "/srv at 100%")
    structlog.get_logger().error("tocsin.sink_failed", sink="x")
    assert [a.title for a in sink.alerts] == ["Disk full"]
    assert '"event": "alert"' in out.getvalue()  # the alert event still passed through


def test_structlog_through_stdlib_with_the_handler_on_root(rec: tuple[Emitter, RecordingSink]) -> None:
    # The common production setup: structlog renders into stdlib logging, and AlertHandler sits
    # on the root logger. tocsin's own "tocsin.alerts" events must not come back as alerts.
    emitter, sink = rec
    root = logging.getLogger()
    handler = AlertHandler(emitter=emitter)
    root.addHandler(handler)
    try:
        structlog.configure(
            processors=[structlog.stdlib.add_log_level, structlog.stdlib.render_to_log_kwargs],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
        structlog.get_logger("app.jobs").error("job crashed", job="reindex")
        emitter.emit("critical", "direct", "")
    finally:
        root.removeHandler(handler)
    assert [(a.title, a.context.get("job")) for a in sink.alerts] == [("job crashed", "reindex"), ("direct", None)]


def test_alert_processor_rejects_an_unknown_level_at_configuration() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        alert_processor(min_level="loud")


def test_alert_processor_never_raises() -> None:
    class Broken:
        def emit(self, *args: object) -> None:
            raise RuntimeError("down")

    processor = alert_processor(emitter=Broken())
    event = {"event": "x", "level": "error"}
    assert processor(None, "error", event) is event


def test_default_emitter_is_looked_up_per_event(rec: tuple[Emitter, RecordingSink]) -> None:
    emitter, sink = rec
    processor = alert_processor()
    old = tocsin.set_default_emitter(emitter)
    try:
        processor(None, "critical", {"event": "via default"})
    finally:
        tocsin.set_default_emitter(old)
    assert sink.titles == ["via default"]
