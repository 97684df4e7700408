"""Against the real thing: Prometheus Alertmanager processes on loopback (see conftest.py).

Each test bounds its waits; the fixtures kill every process they start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tocsin import Config, Emitter
from tocsin_sink_alertmanager import AlertmanagerSink

QUIET = 6.0
"""Seconds to keep listening after a notification to be sure no second one follows: several
group_intervals (1 s) and peer timeouts (2 s) of the test configuration."""


def emitter_for(urls: list[str], **table: Any) -> Emitter:
    config = Config(environ={}, project="shop",
                    sinks={"alertmanager": {"urls": urls, "backoff_base": 0.1, "labels": ["queue"], **table}})
    return Emitter(config, sinks={"alertmanager": AlertmanagerSink}, discover=False)


def cli_env(tmp_path: Path, urls: list[str], flush_timeout: float = 10, **extra: str) -> dict[str, str]:
    lines = ['[tocsin]', 'enable = ["alertmanager"]', 'project = "shop"', f"flush_timeout = {flush_timeout}",
             "[sinks.alertmanager]", f"urls = {json.dumps(urls)}", 'labels = ["queue"]', "backoff_base = 0.1"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    (tmp_path / "tocsin.toml").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_"))}
    env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
               TOCSIN_CONFIG=str(tmp_path / "tocsin.toml"))
    return env


def test_one_alert_becomes_a_notification_with_its_labels_and_annotations(alertmanager: Any, webhook: Any) -> None:
    emitter = emitter_for([alertmanager.url], generator_url="https://runbooks.example/queue")
    alert = emitter.emit("critical", "Queue stuck", "mail queue has not moved for 10 min",
                         {"queue": "mail", "depth": 1234})
    assert emitter.flush(10)
    emitter.close(0)

    [notification] = webhook.wait_for("Queue stuck", "firing")
    [sent] = notification["alerts"]
    assert sent["status"] == "firing"
    assert sent["labels"] == {"alertname": "Queue stuck", "severity": "critical", "host": alert.host,
                              "project": "shop", "queue": "mail"}
    assert sent["annotations"]["summary"] == "Queue stuck"
    assert sent["annotations"]["description"] == "mail queue has not moved for 10 min"
    assert json.loads(sent["annotations"]["context"]) == {"queue": "mail", "depth": 1234}
    assert sent["generatorURL"] == "https://runbooks.example/queue"

    listed = json.loads(alertmanager.amtool("alert", "query", "-o", "json"))
    assert [a["labels"]["alertname"] for a in listed] == ["Queue stuck"]
    assert listed[0]["labels"]["queue"] == "mail"


def test_the_same_alert_from_three_processes_is_one_notification_with_one_alert(
        alertmanager: Any, webhook: Any, tmp_path: Path) -> None:
    env = cli_env(tmp_path, [alertmanager.url])
    command = [sys.executable, "-m", "tocsin", "emit", "critical", "Database down", "cannot connect to db-1",
               "-c", "queue=orders"]
    processes = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(3)]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode(errors="replace")
    assert webhook.wait_for("Database down", "firing")
    time.sleep(QUIET)  # a second notification would come within a group_interval or two
    [notification] = webhook.about("Database down")
    [sent] = notification["alerts"]
    assert sent["labels"]["queue"] == "orders"
    assert len(alertmanager.alerts()) == 1


def test_resolve_alert_becomes_a_resolved_notification(alertmanager: Any, webhook: Any) -> None:
    """What tocsin.resolve_alert emits (status "resolved", the severity it fired with) ends the
    alert in Alertmanager, which sends its resolved notification."""
    emitter = emitter_for([alertmanager.url])
    emitter.emit("warning", "Disk almost full", "/var at 91%", {"queue": "disk"})
    assert emitter.flush(10)
    assert webhook.wait_for("Disk almost full", "firing")
    emitter.emit("warning", "Disk almost full", "/var back at 60%", {"queue": "disk"}, status="resolved")
    assert emitter.flush(10)
    emitter.close(0)
    [notification] = webhook.wait_for("Disk almost full", "resolved")
    [sent] = notification["alerts"]
    assert sent["status"] == "resolved"
    assert sent["labels"]["queue"] == "disk"


def test_ha_pair_every_alert_to_both_one_notification_each_even_with_a_peer_killed(
        alertmanager_pair: list[Any], webhook: Any) -> None:
    first, second = alertmanager_pair
    emitter = emitter_for([first.url, second.url], max_age="5s")
    try:
        emitter.emit("critical", "Payments failing", "5xx from the gateway", {"queue": "payments"})
        assert emitter.flush(10)
        for am in alertmanager_pair:  # sent to both, as Prometheus does
            assert [a["labels"]["alertname"] for a in am.alerts()] == ["Payments failing"]
        assert webhook.wait_for("Payments failing", "firing", timeout=30)
        time.sleep(QUIET)
        assert len(webhook.about("Payments failing")) == 1, "the cluster should have deduplicated"

        first.stop()
        emitter.emit("critical", "Search down", "no answer from the index", {"queue": "search"})
        emitter.flush(10)
        assert webhook.wait_for("Search down", "firing", timeout=30), second.log_tail()
        time.sleep(QUIET)
        [notification] = webhook.about("Search down")
        assert len(notification["alerts"]) == 1
        assert len(webhook.about("Payments failing")) == 1
        peers = {p["target"]: p for p in emitter.sink_status("alertmanager")["peers"]}  # type: ignore[union-attr]
        assert peers[second.url + "/"]["delivered"] == 2
        assert peers[first.url + "/"]["delivered"] == 1
    finally:
        emitter.close(0)


def test_both_peers_down_alerts_spooled_at_exit_then_delivered_by_tocsin_spool_deliver(
        start_alertmanager: Callable[..., Any], free_port: Callable[[], int], webhook: Any, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    cluster = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    env = cli_env(tmp_path, urls, flush_timeout=1, connect_timeout="0.5")
    script = ("import tocsin\n"
              "for i in range(20):\n"
              "    tocsin.emit_alert('critical', f'spooled {i}', 'while Alertmanager was down', {'queue': 'q'})\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    pair = [start_alertmanager(f"am{i}", web_port=ports[i], cluster_port=cluster[i], peers=(cluster[1 - i],),
                               wait=False) for i in (0, 1)]
    for am in pair:
        am.wait_ready()
    deliver = subprocess.run([sys.executable, "-m", "tocsin", "spool", "deliver"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert deliver.returncode == 0, deliver.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(pair[0].alerts()) < 20:
        time.sleep(0.2)
    assert sorted(a["labels"]["alertname"] for a in pair[0].alerts()) == sorted(f"spooled {i}" for i in range(20))
