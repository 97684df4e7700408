"""Items 11 and 12 of issue 9: tocsin writes nothing to stdout, and nothing but its own
diagnostics at exit."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tocsin.testing import Receiver

pytestmark = pytest.mark.timeout(20)
RunPy = Callable[..., subprocess.CompletedProcess[str]]

SCRIPT_WITH_OUTPUT = """
import tocsin
print("BEGIN")
for i in range(3):
    tocsin.emit_alert("warning", f"disk low {i}", "92 % used", {"disk": "/"})
tocsin.flush(5)
print("END")
"""


def test_unconfigured_structlog_alert_events_go_to_stderr_not_stdout(run_py: RunPy) -> None:
    run = run_py(SCRIPT_WITH_OUTPUT)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "BEGIN\nEND\n"  # the script's own output, nothing of tocsin's
    assert run.stderr.count("disk low") == 3  # the alert events are still said, on stderr
    assert "[warning" in run.stderr


def test_unconfigured_structlog_diagnostics_go_to_stderr(run_py: RunPy) -> None:
    # A configuration problem is one of tocsin's own diagnostics.
    run = run_py(SCRIPT_WITH_OUTPUT, env={"TOCSIN_CONFIG": "/nonexistent/tocsin.toml"})
    assert run.stdout == "BEGIN\nEND\n"
    assert "tocsin.config_problem" in run.stderr


def test_configured_structlog_is_followed_and_left_alone(run_py: RunPy) -> None:
    run = run_py("""
        import json, sys
        import structlog
        seen = []
        def keep(logger, name, event):
            seen.append(event["event"])
            raise structlog.DropEvent
        structlog.configure(processors=[keep])
        import tocsin
        tocsin.emit_alert("critical", "t", "m")
        tocsin.flush(5)
        # tocsin did not reconfigure structlog: the application's processors are still the ones
        assert structlog.get_config()["processors"] == [keep]
        print(json.dumps(seen))
    """)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '["alert"]'
    assert "alert" not in run.stderr


def test_no_urllib3_finalizer_noise_at_exit(run_py: RunPy) -> None:
    """50 webhook alerts, structlog dropping every event, exit at once: the first request is made
    by the exit flush, and urllib3's pool finalizer used to run during module teardown."""
    code = """
        import structlog
        def drop(logger, name, event):
            raise structlog.DropEvent
        structlog.configure(processors=[drop])
        import tocsin
        for i in range(50):
            tocsin.emit_alert("warning", f"a{i}", "m")
    """
    with Receiver() as receiver:
        for _ in range(3):  # it happened on every run; three runs make a pass meaningful
            run = run_py(code, env={"ATOCORE_ALERT_WEBHOOK": receiver.url_for("/hook")})
            assert run.returncode == 0
            assert run.stdout == ""
            assert run.stderr == ""  # no "Exception ignored in: <finalize …>"
        assert len(receiver.requests) == 150


def test_no_finalizer_noise_when_the_network_sink_loads_after_the_exit_hook(run_py: RunPy) -> None:
    """The HTTP module imported after tocsin's exit flush was registered: its pool-closing hook
    then runs before the flush, which must still leave nothing for module teardown."""
    code = """
        import sys
        import structlog
        def drop(logger, name, event):
            raise structlog.DropEvent
        structlog.configure(processors=[drop])
        import tocsin
        tocsin.emit_alert("info", "first", "m")  # the default emitter registers the exit flush
        from tocsin import Config, Emitter
        from tocsin_sink_webhook import WebhookSink  # imports the HTTP module only now
        e = Emitter(Config(environ={}, sinks={"webhook": {"url": sys.argv[1]}}), sinks={"webhook": WebhookSink},
                    discover=False)
        for i in range(20):
            e.emit("warning", f"a{i}", "m")
    """
    with Receiver() as receiver:
        run = run_py(code, receiver.url_for("/hook"))
        assert run.returncode == 0
        assert run.stdout == ""
        assert run.stderr == ""
        assert len(receiver.requests) == 20
