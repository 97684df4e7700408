"""Routing, repeat suppression and resolves with the real sinks, real loopback receivers and
real processes: named instances, matchers, sixty cron runs making one message, resolves as
each sink renders them, and misspelt sink names reported on every run."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tocsin
from tocsin import Emitter, load_config
from tocsin._repeat import RepeatStore
from tocsin.testing import Receiver, always

TOCSIN = str(Path(sys.executable).parent / "tocsin")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **extra}


def emitter_for(tmp_path: Path, toml: str) -> Emitter:
    path = tmp_path / "tocsin.toml"
    path.write_text(toml)
    return Emitter(load_config(path, environ=env_for(tmp_path)))


@pytest.fixture
def slack_receivers() -> Iterator[tuple[Receiver, Receiver]]:
    with Receiver(always(200, b"ok")) as one, Receiver(always(200, b"ok")) as two:
        yield one, two


def slack_titles(receiver: Receiver) -> list[str]:
    return [b["text"]["text"] for r in receiver.requests for b in r.json()["blocks"] if b["type"] == "header"]


def test_two_slack_instances_post_to_two_channels_by_their_matchers(
    tmp_path: Path, slack_receivers: tuple[Receiver, Receiver]
) -> None:
    oncall, ingest = slack_receivers
    emitter = emitter_for(tmp_path, f"""
[tocsin]
enable = ["oncall", "ingest-team"]

[sinks.oncall]
type = "slack"
url = "{oncall.url_for('/services/T0/B0/oncall')}"
matchers = ["severity=critical"]

[sinks.ingest-team]
type = "slack"
url = "{ingest.url_for('/services/T0/B1/ingest')}"
matchers = ["queue=~ingest.*"]
""")
    assert emitter.config.problems == []
    assert {(r.name, r.type) for r in emitter.sinks() if r.loaded} == {("oncall", "slack"), ("ingest-team", "slack")}
    emitter.emit("critical", "db down", "m")
    emitter.emit("warning", "backlog", "m", {"queue": "ingest-eu"})
    emitter.emit("critical", "ingest stuck", "m", {"queue": "ingest"})
    emitter.emit("info", "noise", "m", {"queue": "billing"})
    assert emitter.close(20)
    assert slack_titles(oncall) == ["CRITICAL: db down", "CRITICAL: ingest stuck"]
    assert slack_titles(ingest) == ["WARNING: backlog", "CRITICAL: ingest stuck"]
    assert emitter.sink_status("oncall")["delivered"] == 2


def test_each_matcher_operator_routes_and_regexes_are_anchored(tmp_path: Path) -> None:
    with Receiver(always(200)) as receiver:
        tables = {"eq": "severity=critical", "ne": "queue!=ingest", "re": "queue=~ingest",
                  "nre": 'queue!~"ingest.*"'}
        emitter = emitter_for(tmp_path, "[tocsin]\nenable = [" + ", ".join(f'"{n}"' for n in tables) + "]\n" + "".join(
            f'[sinks.{name}]\ntype = "webhook"\nurl = "{receiver.url_for("/" + name)}"\nmatchers = [\'{m}\']\n'
            for name, m in tables.items()))
        assert emitter.config.problems == []
        emitter.emit("critical", "a", "m", {"queue": "ingest"})
        emitter.emit("warning", "b", "m", {"queue": "ingest-eu"})
        emitter.emit("info", "c", "m", {"queue": "billing"})
        emitter.emit("info", "d", "m")
        assert emitter.close(20)
    got: dict[str, list[str]] = {}
    for request in receiver.requests:
        got.setdefault(request.path.lstrip("/"), []).append(request.json()["title"])
    assert {k: sorted(v) for k, v in got.items()} == {
        "eq": ["a"],
        "ne": ["b", "c", "d"],
        "re": ["a"],              # "ingest-eu" does not match the anchored "ingest"
        "nre": ["c", "d"],
    }


CRON_TOML = """
[tocsin]
enable = ["hook"]

[sinks.hook]
type = "webhook"
url = "{url}"
repeat_interval = "1h"
"""


def _cron_run(config: str, env: dict[str, str]) -> None:
    """One cron run: a fresh emitter from the configuration file, one alert, flushed at exit."""
    emitter = Emitter(load_config(config, environ=env))
    emitter.emit("critical", "cron job failed", "exit 3", {"job": "nightly"})
    emitter.close(20)


def test_sixty_cron_runs_make_one_message_and_the_next_allowed_reports_59(tmp_path: Path) -> None:
    with Receiver(always(200)) as receiver:
        config = tmp_path / "tocsin.toml"
        config.write_text(CRON_TOML.format(url=receiver.url_for("/hook")))
        env = env_for(tmp_path)
        # 60 separate processes, ten at a time (forked: a cron job's fresh interpreter costs
        # ~10x more CPU and proves nothing more about the shared store).
        ctx = multiprocessing.get_context("fork")
        for _wave in range(6):
            procs = [ctx.Process(target=_cron_run, args=(str(config), env)) for _ in range(10)]
            for p in procs:
                p.start()
            for p in procs:
                p.join(60)
                assert p.exitcode == 0
        assert len(receiver.requests) == 1
        assert receiver.requests[0].json()["repeats"] == 0
        store = tmp_path / "state" / "tocsin" / "repeats.db"
        assert RepeatStore(store).counts("hook") == {('["cron job failed"]', "critical"): 59}

        # The hour is over (expired in the store, as an hour would): the next run goes, with the count.
        assert RepeatStore(store).expire("hook") == 1
        result = subprocess.run([TOCSIN, "emit", "critical", "cron job failed", "exit 3", "-c", "job=nightly"],
                                env={**env, "TOCSIN_CONFIG": str(config)}, cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert len(receiver.requests) == 2
    body = receiver.requests[1].json()
    assert body["repeats"] == 59
    assert body["repeats_since"].endswith("Z")
    assert RepeatStore(store).counts("hook") == {('["cron job failed"]', "critical"): 0}


def test_tocsin_resolve_passes_suppression_with_the_severity_it_fired_with(tmp_path: Path) -> None:
    with Receiver(always(200)) as receiver:
        config = tmp_path / "tocsin.toml"
        config.write_text(CRON_TOML.format(url=receiver.url_for("/hook")))
        env = {**env_for(tmp_path), "TOCSIN_CONFIG": str(config)}

        def tocsin(*args: str) -> None:
            result = subprocess.run([TOCSIN, *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60)
            assert result.returncode == 0, result.stderr

        tocsin("emit", "critical", "db down", "m")
        tocsin("emit", "critical", "db down", "m")  # held back
        tocsin("resolve", "db down", "replica promoted")
        tocsin("emit", "critical", "db down", "m")  # the resolve reset the group: sent at once
    bodies = [r.json() for r in receiver.requests]
    assert [(b["status"], b["severity"], b["repeats"]) for b in bodies] == [
        ("firing", "critical", 0), ("resolved", "critical", 1), ("firing", "critical", 0)]
    assert bodies[1]["message"] == "replica promoted"


def test_a_resolve_as_each_sink_renders_it(tmp_path: Path) -> None:
    with Receiver(always(204)) as discord, Receiver(always(200, b"ok")) as slack, Receiver(always(200)) as hook:
        emitter = emitter_for(tmp_path, f"""
[sinks.discord]
url = "{discord.url_for('/api/webhooks/1/token')}"
[sinks.slack]
url = "{slack.url_for('/services/T/B/x')}"
[sinks.webhook]
url = "{hook.url}"
[sinks.quiet]
type = "webhook"
url = "{hook.url_for('/quiet')}"
send_resolved = false
[sinks.file]
path = "{tmp_path / 'alerts.log'}"
[sinks.state]
path = "{tmp_path / 'state.db'}"
""")
        assert emitter.config.problems == []
        old = tocsin.set_default_emitter(emitter)
        try:
            fired = tocsin.emit_alert("critical", "db down", "primary unreachable")
            resolved = tocsin.resolve_alert("db down", "replica promoted", {"by": "ops"}, severity="critical")
        finally:
            tocsin.set_default_emitter(old)
        assert (fired.status, resolved.status) == ("firing", "resolved")
        assert emitter.close(20)

    # One message or two, as the alerts arrive: the resolve is its last embed either way.
    last = discord.requests[-1].json()
    if len(discord.requests) == 1:
        assert "2 alerts (1 critical, 1 resolved)" in last["content"]
        assert last["embeds"][-1]["title"] == "RESOLVED: db down"
    else:
        assert "RESOLVED: db down" in last["content"]
    assert last["embeds"][-1]["color"] == 0x2ECC71

    payload = slack.requests[-1].json()
    headers = [b["text"]["text"] for r in slack.requests for b in r.json()["blocks"] if b["type"] == "header"]
    assert headers[-1] == "RESOLVED: db down"
    assert "RESOLVED" in payload["text"] or "RESOLVED" in str(payload["blocks"])

    bodies = {(r.path, r.json()["status"]) for r in hook.requests}
    assert bodies == {("/", "firing"), ("/", "resolved"), ("/quiet", "firing")}

    lines = (tmp_path / "alerts.log").read_text().splitlines()
    assert "[CRITICAL] db down: primary unreachable" in lines[0]
    assert '[RESOLVED] db down: replica promoted {"by": "ops"}' in lines[1]

    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT title, severity, status FROM history ORDER BY seq").fetchall() == [
        ("db down", "critical", "firing"), ("db down", "critical", "resolved")]


def run_cli(tmp_path: Path, *args: str, toml: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "tocsin.toml").write_text(toml)
    return subprocess.run([TOCSIN, *args], env=env_for(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize(("toml", "expected"), [
    ('[tocsin]\nenable = ["file", "stat"]\n', "tocsin.enable: no sink or sink instance is named 'stat'; "
                                              "did you mean 'state'?"),
    ('[tocsin]\ndisable = ["fiel"]\n', "did you mean 'file'?"),
    ("[sinks.slak]\nurl = 'https://hooks.slack.com/services/T/B/x'\n", "sinks.slak: no installed sink is named "
                                                                        "'slak'; did you mean 'slack'?"),
])
def test_misspelt_sink_names_are_reported_on_every_run_and_by_tocsin_sinks(
    tmp_path: Path, toml: str, expected: str
) -> None:
    emit = run_cli(tmp_path, "emit", "info", "t", "m", toml=toml)
    assert emit.returncode == 0, emit.stderr  # a warning: the alert went out all the same
    assert expected in emit.stderr
    assert "hooks.slack.com/services/T/B/x" not in emit.stderr
    listed = run_cli(tmp_path, "sinks", toml=toml)
    assert expected in listed.stderr


def test_tocsin_sinks_shows_instances_with_their_type_and_a_bad_one_fails(tmp_path: Path) -> None:
    toml = """
[sinks.oncall]
type = "webhook"
url = "http://127.0.0.1:9/x"
matchers = ["severity=critical"]
[sinks.broken]
type = "webhook"
matchers = ["queue=~(ingest"]
[sinks.typo]
type = "webhok"
"""
    result = run_cli(tmp_path, "sinks", toml=toml)
    assert result.returncode == 2, result.stderr  # configuration errors
    assert "oncall (webhook)" in result.stdout
    assert "broken (webhook)" in result.stdout
    assert "FAILED: invalid matchers" in result.stdout
    assert "typo (webhok)" in result.stdout
    assert "unknown sink type 'webhok'; did you mean 'webhook'?" in result.stdout
    assert "sinks.broken.matchers" in result.stderr
    assert "sinks.typo.type" in result.stderr
    test = run_cli(tmp_path, "test", "--timeout", "1", toml=toml)
    assert "broken (webhook) FAILED" in test.stdout
    assert "FAILED" in test.stdout


def test_tocsin_last_reads_a_state_instance_with_another_name(tmp_path: Path) -> None:
    toml = f'[sinks.dashboard]\ntype = "state"\npath = "{tmp_path / "dash.db"}"\n'
    emit = run_cli(tmp_path, "emit", "warning", "disk", "91%", toml=toml)
    assert emit.returncode == 0, emit.stderr
    resolve = run_cli(tmp_path, "resolve", "disk", "cleaned", "--severity", "warning", toml=toml)
    assert resolve.returncode == 0, resolve.stderr
    last = run_cli(tmp_path, "last", "--json", toml=toml)
    assert last.returncode == 0, last.stderr
    warning = json.loads(last.stdout)["warning"]
    assert (warning["title"], warning["message"], warning["status"]) == ("disk", "cleaned", "resolved")
