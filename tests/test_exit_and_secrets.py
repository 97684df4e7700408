"""Real processes: a cron job that emits and exits, a hanging endpoint at exit, and a search of
everything tocsin prints or writes for a webhook token."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tocsin.testing import Received, Receiver, Reply, always, hanging

TOKEN = "sEcReTtOkEn_" + "Q7" * 30


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **extra}


CRON = "import tocsin; tocsin.emit_alert('critical', 'cron job failed', 'exit 3', {'job': 'nightly'})"


def test_cron_job_that_emits_and_exits_delivers_every_time(tmp_path: Path) -> None:
    with Receiver(hanging(0.05)) as receiver:  # a 50 ms endpoint
        env = env_for(tmp_path, ATOCORE_ALERT_WEBHOOK=receiver.url_for("/hook"))
        for _ in range(5):
            subprocess.run([sys.executable, "-c", CRON], env=env, cwd=tmp_path, check=True, timeout=60,
                           capture_output=True)
        # every process had exited before this line: delivered means delivered at exit
        assert len(receiver.requests) == 5
    assert {r.json()["title"] for r in receiver.requests} == {"cron job failed"}


DROPPED_EMITTER = """
import sys
from tocsin import Config, Emitter
from tocsin_sink_webhook import WebhookSink

def job():
    e = Emitter(Config(environ={}, sinks={"webhook": {"url": sys.argv[1]}}), sinks={"webhook": WebhookSink},
                discover=False)
    for i in range(3):
        e.emit("warning", f"from a dropped emitter {i}", "m")

job()  # the emitter is unreachable from here on, its alerts still queued
"""


def test_alerts_of_an_emitter_nobody_references_are_still_delivered_at_exit(tmp_path: Path) -> None:
    with Receiver(hanging(0.05)) as receiver:
        subprocess.run([sys.executable, "-c", DROPPED_EMITTER, receiver.url], env=env_for(tmp_path), cwd=tmp_path,
                       check=True, timeout=60, capture_output=True)
        assert sorted(r.json()["title"] for r in receiver.requests) == [
            f"from a dropped emitter {i}" for i in range(3)]


def test_hanging_endpoint_delays_exit_by_at_most_the_deadline(tmp_path: Path) -> None:
    (tmp_path / "tocsin.toml").write_text("[tocsin]\nflush_timeout = 1\n")
    with Receiver(hanging(60)) as receiver:
        env = env_for(tmp_path, ATOCORE_ALERT_WEBHOOK=receiver.url_for("/hook"))
        start = time.monotonic()
        run = subprocess.run([sys.executable, "-c", CRON], env=env, cwd=tmp_path, timeout=60,
                             capture_output=True, text=True)
        elapsed = time.monotonic() - start
    assert run.returncode == 0
    assert elapsed < 6  # interpreter start + 1 s deadline, far from the 10 s read timeout
    assert "tocsin.delivery_flush_timeout" in run.stdout + run.stderr  # said, not silent


def test_no_token_in_any_output_log_or_store(tmp_path: Path) -> None:
    calls = {"n": 0}

    def respond(request: Received) -> Reply:
        # Proxies and error pages like to echo the URL they were asked for.
        calls["n"] += 1
        echo = f"upstream broke for {request.path}".encode()
        return Reply(500, {}, echo) if calls["n"] == 1 else Reply(404, {}, b'{"code": 10015}')

    with Receiver(respond) as discord, Receiver(always(400, b"invalid_payload")) as slack:
        # A port out of range: urllib3 refuses the URL quoting it whole.
        bad_url = f"http://127.0.0.1:99999/hook/{TOKEN}"
        config = tmp_path / "tocsin.toml"
        config.write_text(f"""
[sinks.discord]
url = "{discord.url_for(f'/api/webhooks/42/{TOKEN}')}"
backoff_base = 0.01
[sinks.slack]
url = "{slack.url_for(f'/services/T1/B2/{TOKEN}')}"
min_interval = 0
[sinks.webhook]
url = "{bad_url}"
max_age = "1s"
backoff_base = 0.01
headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}" }}
""")
        env = env_for(tmp_path, HOOK_TOKEN=TOKEN, TOCSIN_CONFIG=str(config))
        outputs = []
        for args in (["emit", "critical", "t", "m"], ["sinks"], ["sinks", "--json"], ["test", "--timeout", "5"],
                     ["test", "--json", "--timeout", "5"], ["emit", "info", "again", "m"]):
            run = subprocess.run([sys.executable, "-m", "tocsin", *args], env=env, cwd=tmp_path, timeout=120,
                                 capture_output=True, text=True)
            outputs += [run.stdout, run.stderr]
        lib = subprocess.run([sys.executable, "-c", CRON], env=env, cwd=tmp_path, timeout=60,
                             capture_output=True, text=True)
        outputs += [lib.stdout, lib.stderr]
    everything = "\n".join(outputs)
    assert "tocsin.destination_gone" in everything  # the failures were logged...
    assert "invalid_payload" in everything
    assert "upstream broke for ***" in everything  # the echoed path, masked
    assert "Failed to parse" in everything or "LocationParseError" in everything
    assert "/api/webhooks/42/***" in everything  # ...with the destination recognisable
    assert TOKEN not in everything  # ...and never the token
    state = tmp_path / "state" / "tocsin"
    assert TOKEN not in (state / "alerts.log").read_text()
    rows = sqlite3.connect(state / "state.db").execute("SELECT * FROM history").fetchall()
    assert TOKEN not in repr(rows)
