"""The kit for third-party sinks: `tocsin new-sink`, installed for real, and a contract with teeth."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tocsin
from tocsin.cli._scaffold import new_sink
from tocsin.delivery import Message, NetworkSink
from tocsin.testing import Receiver, render_hostile
from tocsin.testing.contract import HOSTILE_ALERTS

pytestmark = pytest.mark.slow


def run_pytest(python: str, project: Path, *args: str, installed: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "ATOCORE_", "PYTEST_"))}
    if not installed:
        env["PYTHONPATH"] = str(project / "src")
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def kit_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A fresh virtualenv with tocsin's wheels, pytest, and two generated sinks installed as generated."""
    base = tmp_path_factory.mktemp("kit")
    generated = {
        "pager": new_sink("pager", base / "tocsin-sink-pager"),
        "hook_two": new_sink("hook_two", base / "tocsin-sink-hook-two", network=True),
    }
    root = base / "venv"
    venv.EnvBuilder(with_pip=True).create(root)
    bindir = root / "bin"
    wheels = [str(w) for w in wheelhouse.glob("tocsin-*.whl")]
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--find-links", str(wheelhouse), *wheels, "pytest", *map(str, generated.values())],
                   check=True, timeout=600)
    return bindir, generated


def test_generated_sinks_are_discovered_once_installed(kit_venv: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    bindir, _ = kit_venv
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "s"),
           "XDG_CONFIG_HOME": str(tmp_path / "c")}
    run = subprocess.run([str(bindir / "tocsin"), "sinks", "--json"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=60, check=True)
    sinks = {s["name"]: s for s in json.loads(run.stdout)}
    assert sinks["pager"]["loaded"] is True
    assert sinks["pager"]["distribution"] == "tocsin-sink-pager"
    assert sinks["hook_two"]["loaded"] is True
    assert sinks["hook_two"]["status"] == {"configured": False}


@pytest.mark.parametrize("name", ["pager", "hook_two"])
def test_generated_sink_tests_pass_unchanged(kit_venv: tuple[Path, dict[str, Path]], name: str) -> None:
    bindir, generated = kit_venv
    result = run_pytest(str(bindir / "python"), generated[name])
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
    assert "skipped" not in result.stdout  # the entry-point check ran too


def test_new_sink_refuses_bad_names_and_full_directories(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "tocsin", "new-sink"]
    assert subprocess.run([*cli, "Bad-Name", "--dir", str(tmp_path / "x")], capture_output=True).returncode == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    run = subprocess.run([*cli, "ok", "--dir", str(tmp_path / "full")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "not empty" in run.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


# Each breakage is a few lines put into a freshly generated sink; the contract test named must
# catch it. The same test passes on the sink as generated (the baseline below).
LOCAL_HOOK = "        line = json.dumps(alert.to_dict(), ensure_ascii=True) + \"\\n\"\n"
NETWORK_MESSAGE = "count=1, id=a.id)"
BREAKAGES = {
    "raises": (False, LOCAL_HOOK, "        raise RuntimeError('broken sink')\n" + LOCAL_HOOK,
               "test_hostile_alerts_never_raise"),
    "skips non-ascii": (False, LOCAL_HOOK, "        if not alert.title.isascii():\n            return\n" + LOCAL_HOOK,
                        "test_hostile_alerts_arrive"),
    "counts nothing": (False, ', "delivered": self.delivered}', "}", "test_hostile_alerts_arrive"),
    "raw title header": (True, NETWORK_MESSAGE, 'count=1, id=a.id, headers={"Title": a.title})',
                         "test_hostile_alerts_arrive"),
    "blocks": (False, LOCAL_HOOK, "        __import__('time').sleep(1.0)\n" + LOCAL_HOOK,
               "test_alert_emitted_returns_quickly"),
    "mutates": (False, LOCAL_HOOK, "        object.__setattr__(alert, 'title', alert.title + '!')\n" + LOCAL_HOOK,
                "test_alert_is_not_mutated"),
    "sends inline": (True, "    def render(", """    @tocsin.hookimpl
    def alert_emitted(self, alert: tocsin.Alert) -> None:  # posts on the caller's thread
                urllib.request.urlopen(urllib.request.Request(self.url, data=b"{}"), timeout=2)

    def render(""", "test_alert_emitted_returns_quickly"),
    "logs its url": (True, "        return [\n", """        import structlog
        structlog.get_logger().warning("posting", url=self.url)
        return [
""", "test_no_secret_in_logs_or_status"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_contract_catches_a_broken_sink(tmp_path: Path, breakage: str) -> None:
    network, anchor, replacement, contract_test = BREAKAGES[breakage]
    project = new_sink("victim", tmp_path / "victim", network=network)
    args = ["tests/test_contract.py", "-k", contract_test]

    baseline = run_pytest(sys.executable, project, *args, installed=False)
    assert baseline.returncode == 0, baseline.stdout[-3000:]

    module = project / "src" / "tocsin_sink_victim" / "__init__.py"
    source = module.read_text()
    assert anchor in source
    module.write_text(source.replace(anchor, replacement, 1))
    broken = run_pytest(sys.executable, project, *args, installed=False)
    assert broken.returncode == 1, broken.stdout[-3000:]
    assert f"FAILED tests/test_contract.py::TestVictimSinkContract::{contract_test}" in broken.stdout
    assert "expected" in broken.stdout, broken.stdout[-3000:]  # every failure says what it expected


def test_recorded_counts_for_a_sink_without_a_delivered_count(tmp_path: Path) -> None:
    project = new_sink("quiet", tmp_path / "quiet")
    module = project / "src" / "tocsin_sink_quiet" / "__init__.py"
    module.write_text(module.read_text().replace(', "delivered": self.delivered}', "}"))
    contract = project / "tests" / "test_contract.py"
    contract.write_text(contract.read_text() + """
    def recorded(self, sink: object, tmp_path: Path) -> int:
        path = tmp_path / "quiet.jsonl"
        return len(path.read_text().splitlines()) if path.exists() else 0
""")
    run = run_pytest(sys.executable, project, "tests/test_contract.py", "-k", "hostile_alerts_arrive", installed=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 passed" in run.stdout


# A third-party ntfy sink as its author first wrote it: the raw title in an HTTP header. Before
# the arrival check it lost every alert whose title HTTP cannot carry (non-latin-1, line breaks)
# after alert_emitted had returned, and passed the whole contract.
NTFY_SINK = """
import base64

import tocsin
import tocsin.delivery


def title_header(title: str) -> str:
    return TITLE


class NtfySink(tocsin.delivery.NetworkSink):
    def render(self, alerts: list[tocsin.Alert]) -> list[tocsin.delivery.Message]:
        return [tocsin.delivery.Message(a.message.encode("utf-8"), count=1, id=a.id,
                                        headers={"Title": title_header(a.title), "Tags": str(a.severity)})
                for a in alerts]
"""
NAIVE_TITLE = "title"
RFC2047_TITLE = '"=?utf-8?b?" + base64.b64encode(title.encode("utf-8")).decode("ascii") + "?="'
NTFY_TESTS = """
import email.header

from tocsin import Config, Emitter
from tocsin.testing import Receiver
from tocsin.testing.contract import NetworkSinkContract

from ntfy_sink import NtfySink


class TestNtfySinkContract(NetworkSinkContract):
    sink_name = "ntfy"
    sink_class = NtfySink
    check_entry_point = False  # run from its source tree, not installed

    def sink_settings(self, tmp_path, url):
        return {"url": url}


def test_title_arrives_whole() -> None:
    title = "ünïcødé ☃ 🚨 中文\\nline two"
    with Receiver() as receiver:
        config = Config(environ={}, sinks={"ntfy": {"url": receiver.url_for("/alerts")}})
        with Emitter(config, sinks={"ntfy": NtfySink}, discover=False) as emitter:
            emitter.emit("critical", title, "body")
            assert emitter.flush(10)
    [request] = receiver.requests
    header = request.headers["Title"]  # looked up in any case
    assert header == request.headers["title"]
    [(raw, charset)] = email.header.decode_header(header)
    assert raw.decode(charset) == title
"""


def ntfy_project(tmp_path: Path, title: str) -> Path:
    project = tmp_path / "tocsin-sink-ntfy"
    (project / "src").mkdir(parents=True)
    (project / "src" / "ntfy_sink.py").write_text(NTFY_SINK.replace("TITLE", title))
    (project / "test_ntfy.py").write_text(NTFY_TESTS)
    return project


def test_contract_catches_a_title_header_that_http_cannot_carry(tmp_path: Path) -> None:
    naive = run_pytest(sys.executable, ntfy_project(tmp_path / "naive", NAIVE_TITLE), "test_ntfy.py", "-k",
                       "Contract", installed=False)
    out = naive.stdout
    assert naive.returncode == 1, out[-3000:]
    failed = sorted(line.split("::")[-1].split(" ")[0] for line in out.splitlines() if line.startswith("FAILED"))
    assert failed == ["test_hostile_alerts_arrive", "test_hostile_alerts_render"], out[-3000:]
    # What was expected and what was received, naming the alert: the first hostile one, whose
    # 1 000-character title ends in "…" once truncated (not latin-1).
    assert "hostile alert #0 titled 'TTTT" in out, out[-3000:]
    # Lost at once, or (an engine that retries what it could not send) still pending at the deadline.
    assert ("did not arrive: expected 'ntfy' to count it delivered (0 before, at least 1 after), received 0" in out
            or "expected flush(10) to hand over hostile alert #0" in out), out[-3000:]
    assert "the header 'Title' = …'TTTTTTTTTT" in out, out[-3000:]
    assert "is not latin-1 ('…' at " in out, out[-3000:]
    assert "During handling" not in out, out[-3000:]

    encoded = run_pytest(sys.executable, ntfy_project(tmp_path / "encoded", RFC2047_TITLE), "test_ntfy.py",
                         installed=False)
    assert encoded.returncode == 0, encoded.stdout[-3000:]
    assert "1 skipped" in encoded.stdout  # the entry-point check only: the sink is not installed


class HeaderSink(NetworkSink):
    """Puts one fixed header value on every message: what render_hostile must judge as http.client does."""

    value = ""

    def render(self, alerts: list[tocsin.Alert]) -> list[Message]:
        return [Message(b"{}", count=1, id=a.id, headers={"X-Title": self.value}) for a in alerts]


def http_client_sends(value: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", 9)  # never connected: putheader only builds
    connection.putrequest("POST", "/")
    try:
        connection.putheader("X-Title", value)
    except (UnicodeEncodeError, ValueError):
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(["a\r\nInjected: 1", "é", "☃", "a\n b"]))
def test_render_hostile_refuses_exactly_the_header_values_http_client_refuses(value: str) -> None:
    sink = HeaderSink.__new__(HeaderSink)  # render needs no settings
    sink.value = value
    if http_client_sends(value):
        rendered = render_hostile(sink)
        assert [alert for alert, _ in rendered] == HOSTILE_ALERTS
    else:
        with pytest.raises(AssertionError, match=r"HeaderSink.render\(\) for hostile alert #0 .*'X-Title'"):
            render_hostile(sink)


def test_render_hostile_builds_a_class_with_its_settings_and_checks_every_field() -> None:
    class Pager(NetworkSink):
        def configure(self, settings: tocsin.SinkSettings) -> None:
            self.team = settings.get_str("team", "ops")

        def render(self, alerts: list[tocsin.Alert]) -> list[Message]:
            return [Message(json.dumps({"team": self.team, "id": a.id}).encode(), count=1) for a in alerts]

    rendered = render_hostile(Pager, {"team": "dev"})
    assert [json.loads(m.body) for _, [m] in rendered] == [{"team": "dev", "id": a.id} for a in HOSTILE_ALERTS]
    with pytest.raises(AssertionError, match="expected a string, got int"):
        render_hostile(Pager, {"team": 3})
    with pytest.raises(TypeError, match="pass the class"):
        render_hostile(Pager(tocsin.SinkSettings("pager", {})), {"team": "dev"})

    class CountsZero(Pager):
        def render(self, alerts: list[tocsin.Alert]) -> list[Message]:
            return [Message(b"x", count=0)] if "\n" in alerts[0].title else super().render(alerts)

    class Skips(Pager):
        def render(self, alerts: list[tocsin.Alert]) -> list[Message]:
            return [] if alerts[0].title.startswith("lone") else super().render(alerts)

    with pytest.raises(AssertionError, match=r"hostile alert #1 .*expected count to be an int >= 1.*received 0"):
        render_hostile(CountsZero)
    with pytest.raises(AssertionError, match=r"hostile alert #2 .*non-empty list of Message"):
        render_hostile(Skips)


def test_received_headers_are_looked_up_in_any_case() -> None:
    with Receiver() as receiver:
        connection = http.client.HTTPConnection("127.0.0.1", int(receiver.url.rsplit(":", 1)[1]), timeout=5)
        connection.request("POST", "/h", body=b"{}", headers={"X-Title": "=?utf-8?b?w6k=?="})
        connection.getresponse().read()
        connection.close()
    [received] = receiver.requests
    headers = received.headers
    assert headers["X-Title"] == headers["x-title"] == headers["X-TITLE"] == "=?utf-8?b?w6k=?="
    assert "Content-Length" in headers
    assert "x-title" in list(headers)  # iterated lower-cased
    assert headers.get(42) is None  # type: ignore[call-overload]  # a non-str key is just absent
    assert dict(headers) == {k.lower(): v for k, v in headers.items()}
