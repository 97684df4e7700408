"""The command line as an operator meets it (issue 13; issue 9 item 10), each behaviour through
the real ``tocsin`` command in a subprocess, against the installed sinks and real receivers."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.testing import Receiver
from tocsin.testing._receiver import always

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "HOME": str(tmp_path)}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def tocsin(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def files_under(path: Path) -> set[Path]:
    return set(path.rglob("*"))


# -- 1. tocsin config --------------------------------------------------------------------------


def test_config_shows_file_settings_sources_and_problems(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tocsin.toml").write_text(
        '[tocsin]\nproject = "shop"\n'
        '[sinks.file]\nformat = "jsonl"\ncolour = "red"\n'
        '[sinks.webhook]\nurl = "${HOOK_URL}"\nheaders = {Authorization = "Bearer hunter2"}\n'
    )
    run_env = {**env, "HOOK_URL": "https://example.invalid/hook/sekrit-token",
               "ATOCORE_ALERT_LOG": str(tmp_path / "a.log")}
    run = tocsin(tmp_path, run_env, "config", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["file"] == str(tmp_path / "tocsin.toml")
    assert report["tocsin"]["project"] == {"value": "shop", "source": f"file {tmp_path / 'tocsin.toml'}",
                                           "secret": False}
    assert report["tocsin"]["flush_timeout"]["source"] == "default"
    file_sink = report["sinks"]["file"]["settings"]
    assert file_sink["format"]["value"] == "jsonl"
    assert file_sink["format"]["source"].startswith("file ")
    assert file_sink["path"] == {"value": str(tmp_path / "a.log"), "source": "environment ATOCORE_ALERT_LOG",
                                 "secret": False}
    assert file_sink["min_severity"] == {"value": "info", "source": "default", "secret": False}
    state = report["sinks"]["state"]["settings"]
    assert state["history"] == {"value": 1000, "source": "default", "secret": False}
    hook = report["sinks"]["webhook"]["settings"]
    assert hook["url"]["value"] == "<redacted: ${HOOK_URL}>"
    assert hook["url"]["source"].endswith("(${HOOK_URL} from the environment)")
    assert hook["headers"]["value"] == "<redacted>"
    problems = [p["text"] for p in report["problems"]]
    assert problems == ["tocsin.toml: sinks.file.colour: unknown key, ignored"]
    human = tocsin(tmp_path, run_env, "config")
    assert human.returncode == 0
    for secret in ("sekrit", "hunter2", "Bearer"):
        assert secret not in run.stdout + human.stdout + human.stderr
    assert "[sinks.webhook]" in human.stdout
    assert "# environment ATOCORE_ALERT_LOG" in human.stdout
    assert "flush_timeout = 10 s" in human.stdout
    assert "  warning: tocsin.toml: sinks.file.colour: unknown key" in human.stdout


def test_config_shows_duration_and_list_settings_as_read(tmp_path: Path, env: dict[str, str]) -> None:
    # get_duration and get_str_list are getters too: their keys show the effective value, and
    # their defaults show when unset (request_timeout was missing from the report before).
    (tmp_path / "tocsin.toml").write_text(
        '[sinks.webhook]\nurl = "https://example.invalid/hook"\nrepeat_interval = "1h"\ngroup_by = ["title"]\n')
    report = json.loads(tocsin(tmp_path, env, "config", "--json").stdout)
    hook = report["sinks"]["webhook"]["settings"]
    assert hook["repeat_interval"]["value"] == 3600.0
    assert hook["group_by"]["value"] == ["title"]
    assert hook["request_timeout"]["source"] == "default"
    assert re.search(r"repeat_interval +=\s+3600 s", tocsin(tmp_path, env, "config").stdout)


def test_config_with_no_file_says_where_it_looked(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, env, "config")
    assert run.returncode == 0, run.stderr
    assert "configuration file: none found" in run.stdout
    assert str(tmp_path / "tocsin.toml") in run.stdout
    assert str(tmp_path / "cfg" / "tocsin" / "config.toml") in run.stdout
    assert "$TOCSIN_CONFIG (not set)" in run.stdout
    assert "problems: none" in run.stdout


def test_config_check_exits_1_on_any_problem_0_otherwise(tmp_path: Path, env: dict[str, str]) -> None:
    assert tocsin(tmp_path, env, "config", "--check").returncode == 0
    (tmp_path / "tocsin.toml").write_text('[sinks.file]\nmin_severity = "loud"\n[sinks.fiel]\npath = "x"\n')
    run = tocsin(tmp_path, env, "config", "--check")
    assert run.returncode == 1
    assert "sinks.file.min_severity: unknown severity 'loud'" in run.stdout
    assert "[sinks.fiel]: no installed sink has this name" in run.stdout
    # --check only changes the exit status: without it the same report exits 0.
    assert tocsin(tmp_path, env, "config").returncode == 0


def test_config_never_prints_a_secret_key_whatever_its_type(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tocsin.toml").write_text(
        '[sinks.webhook]\nurl = "https://user:pw-in-url@example.invalid/x"\nsecret = 123456789\n'
        'token = ["tok-in-a-list"]\npassword = {nested = "pw-in-a-table"}\n'
    )
    run = tocsin(tmp_path, env, "config", "--json")
    human = tocsin(tmp_path, env, "config")
    for text in ("pw-in-url", "123456789", "tok-in-a-list", "pw-in-a-table"):
        assert text not in run.stdout + run.stderr + human.stdout + human.stderr


# -- 4. one rule for context values ------------------------------------------------------------


def test_context_values_spelt_as_json_in_every_sink(tmp_path: Path, env: dict[str, str], receiver: Receiver) -> None:
    (tmp_path / "tocsin.toml").write_text(
        f'[sinks.discord]\nurl = "{receiver.url_for("/api/webhooks/1/tok")}"\n'
        f'[sinks.slack]\nurl = "{receiver.url_for("/services/T/B/x")}"\n'
    )
    run = tocsin(tmp_path, env, "emit", "warning", "values", "m",
                 "-c", "ok=true", "-c", "none=null", "-c", "pct=91", "-c", "ratio=0.5", "-c", "name=web-1")
    assert run.returncode == 0, run.stderr
    assert receiver.wait_for(2, timeout=10)
    expected = {"ok": "true", "none": "null", "pct": "91", "ratio": "0.5", "name": "web-1"}
    by_path = {r.path: r.json() for r in receiver.requests}
    discord = by_path["/api/webhooks/1/tok"]["embeds"][0]["fields"]
    assert {f["name"]: f["value"] for f in discord} == expected
    slack = next(b for b in by_path["/services/T/B/x"]["blocks"] if "fields" in b)["fields"]
    assert {f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1] for f in slack} == expected
    line = (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    assert '{"ok": true, "none": null, "pct": 91, "ratio": 0.5, "name": "web-1"}' in line


# -- 5. test alerts: marked, kept out of `last`, their severity chosen ---------------------


def test_test_alerts_are_marked_and_kept_out_of_last(tmp_path: Path, env: dict[str, str]) -> None:
    assert tocsin(tmp_path, env, "emit", "info", "real info", "m").returncode == 0
    run = tocsin(tmp_path, env, "test", "--severity", "warning")
    assert run.returncode == 0, run.stdout + run.stderr
    db = sqlite3.connect(tmp_path / "state" / "tocsin" / "state.db")
    rows = db.execute("SELECT severity, title, context FROM history ORDER BY seq").fetchall()
    db.close()
    assert rows[-1] == ("warning", "tocsin test alert", '{"tocsin_test": true}')
    log = (tmp_path / "state" / "tocsin" / "alerts.log").read_text()
    assert '[WARNING] tocsin test alert: A test alert sent by `tocsin test`. {"tocsin_test": true}' in log
    # an info test alert now stands last of its severity in the store: `last` shows the real one
    assert tocsin(tmp_path, env, "test").returncode == 0
    last = json.loads(tocsin(tmp_path, env, "last", "--json").stdout)
    assert set(last) == {"info"}
    assert last["info"]["title"] == "real info"
    shown = json.loads(tocsin(tmp_path, env, "last", "--json", "--include-test").stdout)
    assert shown["info"]["title"] == shown["warning"]["title"] == "tocsin test alert"
    assert "tocsin test alert" not in tocsin(tmp_path, env, "last").stdout


def test_last_with_only_test_alerts_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    assert tocsin(tmp_path, env, "test").returncode == 0
    run = tocsin(tmp_path, env, "last")
    assert run.returncode == 0
    assert "no alerts recorded yet for project 'atocore'" in run.stdout
    assert "only test alerts (--include-test shows them)" in run.stdout


def test_last_sends_no_escape_sequence_to_the_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    # As tocsin history: alert text may hold anything, a terminal gets it as \\xNN.
    assert tocsin(tmp_path, env, "emit", "warning", "red \x1b[31m alert", "m\rover").returncode == 0
    shown = tocsin(tmp_path, env, "last").stdout
    assert "\x1b" not in shown
    assert "\r" not in shown
    assert "red \\x1b[31m alert: m\\x0dover" in shown


def test_test_severity_is_checked(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, env, "test", "--severity", "loud")
    assert run.returncode == 2
    assert "invalid choice" in run.stderr


# -- 6. new-sink refuses a taken name -----------------------------------------------------------


def test_new_sink_refuses_a_name_an_installed_sink_uses(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, env, "new-sink", "file")
    assert run.returncode == 2
    assert "sink name 'file' is already used by the installed sink 'file' of tocsin-sink-file" in run.stderr
    assert not (tmp_path / "tocsin-sink-file").exists()
    assert tocsin(tmp_path, env, "new-sink", "pager_duty").returncode == 0
    assert (tmp_path / "tocsin-sink-pager-duty" / "pyproject.toml").is_file()


# -- 7. read-only commands create nothing ------------------------------------------------------


def test_read_only_commands_create_no_file(tmp_path: Path, env: dict[str, str]) -> None:
    before = files_under(tmp_path)
    for args in (["sinks"], ["sinks", "--json"], ["config"], ["config", "--json", "--check"], ["last"],
                 ["last", "--json"], ["--version"]):
        run = tocsin(tmp_path, env, *args)
        assert run.returncode in (0, 1), (args, run.stderr)
    assert files_under(tmp_path) == before
    assert "no state store at" in tocsin(tmp_path, env, "last").stderr


def test_test_with_every_sink_disabled_says_why_nothing_ran(tmp_path: Path, env: dict[str, str]) -> None:
    run = tocsin(tmp_path, {**env, "TOCSIN_ENABLE": "nothing"}, "test")
    assert run.returncode == 0
    installed = len(json.loads(tocsin(tmp_path, env, "sinks", "--json").stdout))
    assert f"no sinks to test: {installed} installed, none enabled (`tocsin sinks` says why)" in run.stdout


# -- 8. durations rounded, no empty tail, each problem once -----------------------------------


def test_durations_are_rounded(tmp_path: Path, env: dict[str, str]) -> None:
    from tocsin.testing._receiver import hanging

    with Receiver(hanging(5)) as slow:
        (tmp_path / "tocsin.toml").write_text(f'[sinks.webhook]\nurl = "{slow.url}"\n')
        run = tocsin(tmp_path, env, "emit", "info", "t", "m", "--timeout", "0.3")
    assert "tocsin.delivery_flush_timeout" in run.stderr
    # what was left of the 0.3 s when the network sink's turn came, as a rough figure
    assert re.search(r"timeout='0\.[23]\d? s'", run.stderr), run.stderr
    assert not re.search(r"0\.\d{3}", run.stderr)  # never 0.29999… or 0.282


def test_an_empty_error_body_is_no_empty_tail(tmp_path: Path, env: dict[str, str]) -> None:
    with Receiver(always(404)) as gone:
        (tmp_path / "tocsin.toml").write_text(f'[tocsin]\nenable = ["discord"]\n[sinks.discord]\n'
                                              f'url = "{gone.url_for("/api/webhooks/1/tok")}"\n')
        run = tocsin(tmp_path, env, "test")
    assert run.returncode == 1
    assert "discord    FAILED HTTP 404\n" in run.stdout
    assert "HTTP 404:" not in run.stdout + run.stderr


def test_each_config_problem_printed_once(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tocsin.toml").write_text('[sinks.file]\nmin_severity = "loud"\n')
    for args in (["sinks"], ["emit", "info", "t", "m"], ["test"]):
        run = tocsin(tmp_path, env, *args)
        assert run.stderr.count("unknown severity 'loud'") == 1, (args, run.stderr)
    missing = tmp_path / "nonexistent.toml"
    run = tocsin(tmp_path, env, "--config", str(missing), "sinks")
    assert run.returncode == 2
    assert f"{missing}: configuration file not found" in run.stderr
    assert ": -:" not in run.stderr


# -- issue 9, item 10: --timeout 0 still reaches the embedded sinks -----------------------------


def test_timeout_0_still_writes_the_file_and_the_state_store(tmp_path: Path, env: dict[str, str]) -> None:
    runs = 5
    for i in range(runs):
        run = tocsin(tmp_path, env, "emit", "-q", "warning", f"cron {i}", "m", "--timeout", "0")
        assert run.returncode == 0, run.stderr
    db = sqlite3.connect(tmp_path / "state" / "tocsin" / "state.db")
    stored = db.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    db.close()
    assert stored == runs
    assert (tmp_path / "state" / "tocsin" / "alerts.log").read_text().count("[WARNING] cron") == runs


def test_timeout_0_gives_network_sinks_no_floor(tmp_path: Path, env: dict[str, str]) -> None:
    """The floor is for the sinks that write on this machine: a network sink that hangs still
    gets exactly --timeout, and the local sinks their write."""
    from tocsin.testing._receiver import hanging

    with Receiver(hanging(5)) as slow:
        (tmp_path / "tocsin.toml").write_text(f'[sinks.webhook]\nurl = "{slow.url}"\n')
        run = tocsin(tmp_path, env, "emit", "warning", "cron", "m", "--timeout", "0")
    assert "tocsin.delivery_flush_timeout" in run.stderr
    assert "timeout='0 s'" in run.stderr
    db = sqlite3.connect(tmp_path / "state" / "tocsin" / "state.db")
    assert db.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 1
    db.close()


# -- 3. the quick start says what it is doing ---------------------------------------------------


def test_quickstart_prints_a_line_per_step_and_while_pip_works(tmp_path: Path) -> None:
    """The real script and the real scripts/workspace.py, in a copy of the tree (core and one
    plugin) whose .venv "python" is a stand-in that records its arguments and takes a moment,
    as pip does."""
    (tmp_path / "scripts").mkdir()
    for name in ("quickstart.py", "workspace.py"):
        (tmp_path / "scripts" / name).write_text((ROOT / "scripts" / name).read_text())
    (tmp_path / "core").mkdir()
    (tmp_path / "plugins" / "file").mkdir(parents=True)
    (tmp_path / "plugins" / "file" / "pyproject.toml").write_text("")
    (tmp_path / "requirements-dev.txt").write_text("# tools\npytest>=8.0\n")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\nsleep 0.6\n')
    fake.chmod(0o755)
    run = subprocess.run([sys.executable, str(tmp_path / "scripts" / "quickstart.py"), "--setup-only"],
                         env={**os.environ, "QUICKSTART_HEARTBEAT": "0.2"}, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "[1/4] reusing .venv"
    assert any(line.startswith("[2/4] upgrading pip: done in") for line in lines)
    assert any(line.startswith("[3/4] installing the test and lint tools (1 packages): done in") for line in lines)
    assert "[4/4] installing tocsin, editable (core, file) ..." in lines
    assert any("still installing (" in line for line in lines)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[1].endswith("pytest>=8.0")
    assert calls[2].endswith("scripts/workspace.py install -q")
