"""The spool across real process exits: normal exit, os._exit and SIGTERM with ``durable``,
``tocsin spool`` and ``tocsin spool deliver``, several drainers, and leases."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tocsin import Config, Emitter
from tocsin._alert import make_alert
from tocsin.delivery._spool import Spool, destination_key
from tocsin.testing import Receiver, always, hanging

TOKEN = "SpOoLtOkEn" + "x9" * 20
CLI = [sys.executable, "-m", "tocsin"]


def setup(tmp_path: Path, url: str, *, flush_timeout: float = 1.0, durable: bool = False) -> dict[str, str]:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'[tocsin]\nflush_timeout = {flush_timeout}\nspool = "{tmp_path / "spool.db"}"\n'
                      f'enable = ["webhook"]\n[sinks.webhook]\nurl = "{url}"\nbackoff_max = 0.5\n'
                      f'durable = {"true" if durable else "false"}\n')
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    return {**base, "TOCSIN_CONFIG": str(config), "XDG_STATE_HOME": str(tmp_path / "state")}


EMIT = """
import os, sys, time
import tocsin
ids = [tocsin.emit_alert("warning", f"a{i}", "m", {"i": i}).id for i in range(int(sys.argv[1]))]
print("IDS", " ".join(ids), flush=True)
how = sys.argv[2]
if how == "os._exit":
    os._exit(0)
if how == "sigterm":
    time.sleep(60)
"""


def emit_in_child(env: dict[str, str], tmp_path: Path, count: int, how: str) -> tuple[list[str], float]:
    start = time.monotonic()
    if how == "sigterm":
        proc = subprocess.Popen([sys.executable, "-c", EMIT, str(count), how], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        ids = next(line for line in proc.stdout if line.startswith("IDS ")).split()[1:]
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        return ids, time.monotonic() - start
    out = subprocess.run([sys.executable, "-c", EMIT, str(count), how], env=env, cwd=tmp_path, timeout=60,
                         capture_output=True, text=True, check=True)
    ids = next(line for line in out.stdout.splitlines() if line.startswith("IDS ")).split()[1:]
    return ids, time.monotonic() - start


def received_ids(receiver: Receiver) -> list[str]:
    return [str(r.json()["id"]) for r in receiver.requests]


def test_hanging_endpoint_exit_spools_and_spool_deliver_delivers_every_alert(tmp_path: Path) -> None:
    with Receiver(hanging(30)) as stuck:
        env = setup(tmp_path, stuck.url_for(f"/hook/{TOKEN}"), flush_timeout=1.0)
        ids, took = emit_in_child(env, tmp_path, 30, "exit")
    assert len(ids) == 30
    assert took < 1.0 + 3.0  # flush_timeout, then the spool write; never the request's deadline

    listing = subprocess.run([*CLI, "spool"], env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0
    assert "30 alerts" in listing.stdout
    assert TOKEN not in listing.stdout + listing.stderr
    as_json = json.loads(subprocess.run([*CLI, "spool", "--json"], env=env, capture_output=True, text=True,
                                        timeout=60).stdout)
    assert [d["alerts"] for d in as_json["destinations"]] == [30]
    assert TOKEN not in json.dumps(as_json)

    with Receiver(always(204)) as healthy:  # the same URL, healthy now
        env = setup(tmp_path, healthy.url_for(f"/hook/{TOKEN}"))
        # the spool keys rows by URL: deliver to the new port by rewriting the identity
        _move_rows(tmp_path / "spool.db", stuck.url_for(f"/hook/{TOKEN}"), healthy.url_for(f"/hook/{TOKEN}"))
        done = subprocess.run([*CLI, "spool", "deliver", "--timeout", "20"], env=env, capture_output=True,
                              text=True, timeout=60)
        got = received_ids(healthy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(got) == sorted(ids)  # every alert, with the id it was emitted with
    assert TOKEN not in done.stdout + done.stderr
    again = subprocess.run([*CLI, "spool", "deliver"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0
    assert "nothing spooled" in again.stdout


def _move_rows(db: Path, old_url: str, new_url: str) -> None:
    """Loopback receivers get a new port each run; a real webhook keeps its URL."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE spool SET destination = ? WHERE destination = ?",
                     (destination_key("webhook", new_url), destination_key("webhook", old_url)))


def test_durable_alerts_survive_os_exit(tmp_path: Path) -> None:
    with Receiver(hanging(30)) as stuck:
        url = stuck.url_for("/hook")
        env = setup(tmp_path, url, durable=True)
        ids, _ = emit_in_child(env, tmp_path, 50, "os._exit")
    with Receiver(always(204)) as healthy:
        _move_rows(tmp_path / "spool.db", url, healthy.url_for("/hook"))
        env = setup(tmp_path, healthy.url_for("/hook"))
        done = subprocess.run([*CLI, "spool", "deliver", "--timeout", "20"], env=env, capture_output=True,
                              text=True, timeout=60)
        got = received_ids(healthy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(set(got)) == sorted(ids)


def test_durable_alerts_survive_sigterm(tmp_path: Path) -> None:
    with Receiver(hanging(30)) as stuck:
        url = stuck.url_for("/hook")
        env = setup(tmp_path, url, durable=True)
        ids, _ = emit_in_child(env, tmp_path, 20, "sigterm")
    with Receiver(always(204)) as healthy:
        _move_rows(tmp_path / "spool.db", url, healthy.url_for("/hook"))
        env = setup(tmp_path, healthy.url_for("/hook"))
        done = subprocess.run([*CLI, "spool", "deliver", "--timeout", "20"], env=env, capture_output=True,
                              text=True, timeout=60)
        got = received_ids(healthy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(set(got)) == sorted(ids)


def test_durable_alerts_delivered_normally_leave_nothing_in_the_spool(tmp_path: Path) -> None:
    with Receiver(always(204)) as receiver:
        env = setup(tmp_path, receiver.url_for("/hook"), durable=True)
        ids, _ = emit_in_child(env, tmp_path, 20, "exit")
        got = received_ids(receiver)
    assert sorted(got) == sorted(ids)
    assert Spool(tmp_path / "spool.db").count() == 0


def seed_rows(path: Path, url: str, count: int) -> list[str]:
    spool = Spool(path)
    alerts = [make_alert("warning", f"s{i}", "m") for i in range(count)]
    spool.add(destination_key("webhook", url), "webhook", "redacted", alerts, owned=False)
    return [a.id for a in alerts]


def test_two_processes_draining_one_spool_never_send_a_row_twice(tmp_path: Path) -> None:
    with Receiver(hanging(0.01)) as receiver:
        url = receiver.url_for("/hook")
        ids = seed_rows(tmp_path / "spool.db", url, 600)
        env = setup(tmp_path, url)
        procs = [subprocess.Popen([*CLI, "spool", "deliver", "--timeout", "40"], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        for proc in procs:
            proc.communicate(timeout=60)
        got = received_ids(receiver)
    counts = collections.Counter(got)
    assert sorted(counts) == sorted(ids)
    assert max(counts.values()) == 1
    # the one that finished first may have seen the other's leased rows still waiting (exit 1)
    assert 0 in [p.returncode for p in procs]
    assert Spool(tmp_path / "spool.db").count() == 0


def test_a_process_that_starts_the_destination_delivers_what_was_spooled(tmp_path: Path) -> None:
    with Receiver(always(204)) as receiver:
        url = receiver.url_for("/hook")
        ids = seed_rows(tmp_path / "spool.db", url, 5)
        from tocsin_sink_webhook import WebhookSink

        config = Config(environ={}, spool=str(tmp_path / "spool.db"), sinks={"webhook": {"url": url}})
        with Emitter(config, sinks={"webhook": WebhookSink}, discover=False):
            assert receiver.wait_for(5)  # nothing emitted: these come from the spool
        assert sorted(received_ids(receiver)) == sorted(ids)
    assert Spool(tmp_path / "spool.db").count() == 0


def test_leases_keep_rows_from_other_owners_until_the_owner_is_dead(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    seed_rows(path, "http://x/", 10)
    key = destination_key("webhook", "http://x/")
    first, second = Spool(path), Spool(path)
    assert len(first.claim(key, 6)) == 6
    assert len(second.claim(key, 100)) == 4  # the 6 leased to a live owner are not offered
    assert second.claim(key, 100) == []
    # an owner on this host whose process is gone: its rows are free at once
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE spool SET owner = ? WHERE owner = ?", (first.owner.replace(
            first.owner.split("\t")[1], dead), first.owner))
    assert len(second.claim(key, 100)) == 6


def test_without_a_spool_pending_alerts_at_close_are_counted_lost(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    from tocsin_sink_webhook import WebhookSink

    with Receiver(hanging(30)) as receiver:
        config = Config(environ={}, spool=False, sinks={"webhook": {"url": receiver.url}})
        emitter = Emitter(config, sinks={"webhook": WebhookSink}, discover=False)
        for i in range(3):
            emitter.emit("info", f"a{i}", "m")
        with capture_logs() as logs:
            emitter.close(0.2)
    assert [e["alerts"] for e in logs if e["event"] == "tocsin.delivery_abandoned"] == [3]


def test_spool_commands_when_empty_or_disabled(tmp_path: Path) -> None:
    env = setup(tmp_path, "http://127.0.0.1:9/hook")
    empty = subprocess.run([*CLI, "spool"], env=env, capture_output=True, text=True, timeout=60)
    assert empty.returncode == 0
    assert "nothing spooled" in empty.stdout
    assert not (tmp_path / "spool.db").exists()  # looking does not create it
    deliver = subprocess.run([*CLI, "spool", "deliver", "--timeout", "1"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert deliver.returncode == 0
    config = Path(env["TOCSIN_CONFIG"])
    config.write_text(config.read_text().replace(f'spool = "{tmp_path / "spool.db"}"', "spool = false"))
    disabled = subprocess.run([*CLI, "spool"], env=env, capture_output=True, text=True, timeout=60)
    assert disabled.returncode == 2
    assert "disabled" in disabled.stderr


def test_spool_deliver_exits_1_when_alerts_are_left(tmp_path: Path) -> None:
    with Receiver(always(503)) as receiver:
        url = receiver.url_for("/hook")
        seed_rows(tmp_path / "spool.db", url, 3)
        env = setup(tmp_path, url)
        done = subprocess.run([*CLI, "spool", "deliver", "--timeout", "1"], env=env, capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 1
    assert "3 alerts" in done.stdout
    assert Spool(tmp_path / "spool.db").count() == 3  # given back, not lost
