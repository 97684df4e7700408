"""The dashboard as a person sees it: headless Chromium, driven over the DevTools protocol.

Chromium is Debian's ``chromium`` package (``apt-get install -y chromium``); the tests skip with
that hint where it is absent. The protocol is spoken through ``websocket-client`` (one small
pure-Python package) rather than selenium: a page load, a script evaluation and a screenshot
are three protocol calls. Screenshots land in ``tmp/artifacts/`` at the repository root (or
``$TOCSIN_TEST_ARTIFACTS``); each test prints the path.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tocsin import Config, Emitter
from tocsin_sink_state import StateSink

websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (requirements-dev.txt)")

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("TOCSIN_TEST_ARTIFACTS") or ROOT / "tmp" / "artifacts")
CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
WAIT = 15.0  # seconds any one condition may take to hold on a busy 2-core machine

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not found: install Debian's package (apt-get install -y chromium)"
)


class Browser:
    """One headless Chromium and one tab, over the DevTools protocol."""

    def __init__(self, profile: Path, log: Path) -> None:
        assert CHROMIUM is not None
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio", "--window-size=1280,1000",
             f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Chromium did not start; see {log}")
            time.sleep(0.05)
        port = int(port_file.read_text().split("\n")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=WAIT, suppress_origin=True)
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]  # JSON

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        deadline = time.monotonic() + WAIT
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                banner = self.eval("document.getElementById('banner') && document.getElementById('banner').textContent")
                raise AssertionError(f"timed out waiting for {what} (banner: {banner!r})")
            time.sleep(0.1)

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && document.body.dataset.polls >= 1", "the first render")

    def set_value(self, element_id: str, value: str, event: str) -> None:
        """Set a form field as a person would, and fire the event the page listens to."""
        self.eval(f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
                  f" e.value = {json.dumps(value)}; e.dispatchEvent(new Event({json.dumps(event)})); }})()")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    base = tmp_path_factory.mktemp("chromium")
    b = Browser(base / "profile", base / "chromium.log")
    yield b
    b.close()


def emitter_for(path: Path) -> Emitter:
    """An application's emitter whose state sink writes before emit returns."""
    config = Config(environ={}, sinks={"state": {"path": str(path), "write": "inline"}})
    return Emitter(config, sinks={"state": StateSink}, discover=False)


def rows(browser: Browser) -> list[dict[str, str]]:
    return browser.eval("""[...document.querySelectorAll('#history tbody tr')].map(r => (
        {severity: r.dataset.severity, title: r.querySelector('.title').textContent}))""")  # type: ignore[no-any-return]


def test_live_history_filters_and_sink_health(tmp_path: Path, serve: Any, browser: Browser, broken_sink: type) -> None:
    path = tmp_path / "state.db"
    app = emitter_for(path)
    app.emit("info", "Deploy started", "v1.2 to prod")
    app.emit("warning", "Disk at 91%", "/srv on db1")
    app.emit("critical", "Backup failed", "exit status 3")
    server = serve(path, sinks={"state": StateSink, "broken": broken_sink})

    browser.open(server.url + "?refresh=300")
    browser.wait_for("document.querySelectorAll('#history tbody tr').length === 3", "three history rows")
    assert [r["title"] for r in rows(browser)] == ["Backup failed", "Disk at 91%", "Deploy started"]
    browser.eval("window.__sameDocument = 'yes'")  # gone if the page reloads

    app.emit("critical", "Replica lag 412 s", "db2 behind")
    browser.wait_for("document.querySelector('#history tbody tr .title').textContent === 'Replica lag 412 s'",
                     "the newest alert at the top")
    assert browser.eval("window.__sameDocument") == "yes", "the page reloaded to show the new alert"
    browser.wait_for("document.querySelector('#last [data-severity=critical] .title').textContent"
                     " === 'Replica lag 412 s'", "the newest critical in the last-alert cards")
    browser.wait_for("document.getElementById('chart').dataset.total === '4'", "the chart counting four alerts")

    # the severity filter
    browser.set_value("severity", "critical", "change")
    browser.wait_for("[...document.querySelectorAll('#history tbody tr')].every(r => r.dataset.severity === "
                     "'critical') && document.querySelectorAll('#history tbody tr').length === 2", "critical only")
    # and the text filter on top of it
    browser.set_value("grep", "backup", "input")
    browser.wait_for("document.querySelectorAll('#history tbody tr').length === 1", "one match for 'backup'")
    assert rows(browser) == [{"severity": "critical", "title": "Backup failed"}]

    # the broken sink, failed and why, with its secrets masked
    state = browser.wait_for("document.querySelector('#sinks tr[data-sink=broken]')?.dataset.state", "the sinks table")
    assert state == "failed"
    assert browser.eval("document.querySelector('#sinks tr[data-sink=state]').dataset.state") == "loaded"
    why = browser.eval("document.querySelector('#sinks tr[data-sink=broken] .why').textContent")
    assert why.startswith("RuntimeError: cannot reach https://hooks.slack.com/")
    page_text = browser.eval("document.body.innerText")
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in page_text
    assert "s3cr3t-path-token" not in page_text

    browser.set_value("grep", "", "input")
    browser.set_value("severity", "", "change")
    browser.wait_for("document.querySelectorAll('#history tbody tr').length === 4", "the filters cleared")
    assert browser.screenshot("dashboard").stat().st_size > 10_000
    app.close(1)


HOSTILE = [
    '<img src=x onerror="window.__xss = 1">',
    "<script>window.__xss = 2</script>",
    '"><svg onload="window.__xss = 3">',
    "</td></tr><tr><td><iframe src=javascript:window.__xss=4>",
]


def test_hostile_alert_text_is_shown_as_text(tmp_path: Path, serve: Any, browser: Browser) -> None:
    path = tmp_path / "state.db"
    app = emitter_for(path)
    for title in HOSTILE:
        app.emit("critical", title, title, {"html": title})
    app.close(1)
    server = serve(path)
    browser.open(server.url + "?refresh=300")
    browser.wait_for(f"document.querySelectorAll('#history tbody tr').length === {len(HOSTILE)}", "the rows")
    time.sleep(0.5)  # give any injected handler the chance to run
    assert browser.eval("window.__xss") is None
    assert browser.eval("document.querySelectorAll('main img, main script, main iframe, #history svg, #last svg')"
                        ".length") == 0
    assert sorted(r["title"] for r in rows(browser)) == sorted(HOSTILE)
    assert browser.eval("document.querySelector('#last [data-severity=critical] .title').textContent") == HOSTILE[-1]
    browser.screenshot("dashboard-hostile-titles")


def test_missing_store_is_a_clear_message_on_the_page(tmp_path: Path, serve: Any, browser: Browser) -> None:
    server = serve(tmp_path / "none" / "state.db", sinks={})
    browser.open(server.url + "?refresh=300")
    banner = browser.wait_for("document.getElementById('banner').textContent", "the banner")
    assert banner.startswith("no state store at ")
    assert "Traceback" not in browser.eval("document.body.innerText")


def test_the_page_works_with_a_token(tmp_path: Path, serve: Any, browser: Browser) -> None:
    path = tmp_path / "state.db"
    app = emitter_for(path)
    app.emit("warning", "behind a token", "m")
    app.close(1)
    server = serve(path, token="page-token-123")
    browser.open(server.url + "?refresh=300&token=page-token-123")
    browser.wait_for("document.querySelector('#history tbody tr .title')?.textContent === 'behind a token'",
                     "the history through the API with the token")
    assert browser.eval("document.getElementById('banner').textContent") == ""
