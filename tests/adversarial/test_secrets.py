"""Item 7 of issue 9: no secret in a configuration problem message, in any part redact() may
leave, or in a response body a hostile server echoes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin import SinkSettings, load_config
from tocsin.testing import Received, Receiver, Reply

pytestmark = pytest.mark.timeout(20)
RunPy = Callable[..., subprocess.CompletedProcess[str]]

SECRET_KEYS = ["url", "urls", "secret", "headers", "token", "password", "api_token", "webhook_url"]
# Values a careless configuration may put under a secret key: every TOML type, secrets inside.
_secretish = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=20).map(
    lambda s: "Zs" + s)
_values = st.one_of(
    _secretish.map(lambda s: f"Bearer {s}"),
    _secretish.map(lambda s: f"https://hooks.example.org/x?token={s}"),
    st.integers(min_value=10_000_000, max_value=10**12).flatmap(lambda n: st.sampled_from([n, -n])),
    st.floats(min_value=1e7, max_value=1e9, allow_nan=False).flatmap(lambda f: st.sampled_from([f, -f])),
    st.lists(_secretish.map(lambda s: f"https://h.example/{s}"), min_size=1, max_size=3),
    st.dictionaries(_secretish, _secretish, min_size=1, max_size=2),
    st.booleans(),
)


def _fragments(value: Any) -> list[str]:
    """What of ``value`` must never be printed."""
    if isinstance(value, bool):
        return []  # True/False identify nothing
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in (*_fragments(k), *_fragments(v))]
    if isinstance(value, list):
        return [f for v in value for f in _fragments(v)]
    return [str(value), repr(value)]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SECRET_KEYS), _values)
def test_problem_messages_never_print_a_secret_keys_value(key: str, value: Any) -> None:
    s = SinkSettings("webhook", {key: value}, environ={})
    for read in (s.get_str, s.get_str_map, lambda k: s.get_int(k, 1, minimum=0),
                 lambda k: s.get_float(k, 1.0, minimum=0), s.get_bool, lambda k: s.get_path(k, Path())):
        read(key)
    text = "\n".join(str(p) for p in s.problems)
    assert s.problems  # each value is wrong for at least one getter: something was said
    for fragment in _fragments(value):
        assert fragment not in text, (fragment, text)


def test_problem_message_still_shows_harmless_values() -> None:
    s = SinkSettings("state", {"history": "ten"}, environ={})
    s.get_int("history", 1000)
    assert "expected an integer, got str 'ten'" in str(s.problems[0])


def test_tocsin_table_values_expanded_from_env_are_not_printed(tmp_path: Path) -> None:
    cfg = tmp_path / "tocsin.toml"
    cfg.write_text('[tocsin]\nproject = "https://x.example/?token=Zs11aa22bb"\nenable = "${SECRET}"\n')
    config = load_config(cfg, environ={})
    text = "\n".join(str(p) for p in config.problems)
    assert "tocsin.project" in text
    assert "tocsin.enable" in text
    assert "Zs11aa22bb" not in text
    assert "${SECRET}" not in text


HOSTILE_CONFIG = """
[tocsin]
flush_timeout = 2
[sinks.webhook]
url = ["https://alerts.example.org/hook?token=ZsListUrlTok1"]
headers = "Bearer ZsHeaderStr2"
secret = 12345678
[sinks.slack]
url = {{ a = "https://hooks.slack.com/services/ZsT/ZsB/ZsSlackTok3" }}
[sinks.discord]
url = "{discord}"
"""


def test_cli_and_library_print_no_value_of_a_misconfigured_secret(
    tmp_path: Path, run_py: RunPy, scenario_env: Callable[..., dict[str, str]]
) -> None:
    cfg = tmp_path / "tocsin.toml"
    # Loopback only: port 9 (discard) refuses, so the test alert fails fast and stays local.
    cfg.write_text(HOSTILE_CONFIG.format(discord="http://127.0.0.1:9/api/webhooks/1/${DISCORD_TOKEN}"))
    env = {"TOCSIN_CONFIG": str(cfg), "DISCORD_TOKEN": "ZsEnvTok4"}
    outputs = []
    for args in (["sinks"], ["sinks", "--json"], ["test", "--timeout", "1"]):
        cli = subprocess.run([sys.executable, "-m", "tocsin", *args], env=scenario_env(**env), cwd=tmp_path,
                             capture_output=True, text=True, timeout=15)
        outputs += [cli.stdout, cli.stderr]
    lib = run_py("import tocsin\ntocsin.emit_alert('info', 't', 'm')\ntocsin.flush(1)\n", env=env)
    outputs += [lib.stdout, lib.stderr]
    everything = "\n".join(outputs)
    assert "sinks.webhook.headers" in everything  # the problems are reported...
    assert "sinks.webhook.url" in everything
    assert "sinks.webhook.secret" in everything
    for secret in ("ZsListUrlTok1", "ZsHeaderStr2", "12345678", "ZsSlackTok3", "ZsEnvTok4"):
        assert secret not in everything, secret  # ...without the values


def _echo_credentials(request: Received) -> Reply:
    # A misbehaving API: it quotes back what it was sent, piece by piece, in a 400.
    path, _, query = request.path.partition("?")
    pieces = [*path.split("/"), *(kv.partition("=")[2] for kv in query.split("&")),
              request.headers.get("authorization", "").partition(" ")[2]]
    return Reply(400, {"content-type": "application/json"},
                 ('{"error": "invalid request", "echo": "' + " ".join(pieces) + '"}').encode())


ECHO_SCRIPT = """
import sys
import tocsin
for i in range(4):
    tocsin.emit_alert("warning", f"t{i}", "m")
tocsin.flush(5)
"""


def test_a_server_echoing_credentials_in_400_bodies_puts_none_in_the_log(tmp_path: Path, run_py: RunPy) -> None:
    with Receiver(_echo_credentials) as receiver:
        port = receiver.url.rsplit(":", 1)[1].strip("/")
        url = f"http://127.0.0.1:{port}/hook/Tk3n9x?token=q7Sc3tQ&wait=true"
        cfg = tmp_path / "tocsin.toml"
        headers = 'headers = { Authorization = "Bearer ${HOOK_TOKEN}" }\n'
        cfg.write_text(f'[sinks.webhook]\nurl = "{url}"\nmax_attempts = 1\n' + headers)
        run = run_py(ECHO_SCRIPT, env={"TOCSIN_CONFIG": str(cfg), "HOOK_TOKEN": "hdr7Tok"})
        assert len(receiver.requests) == 4
        assert all(r.headers["authorization"] == "Bearer hdr7Tok" for r in receiver.requests)
    everything = run.stdout + run.stderr
    assert "invalid request" in everything  # the body was logged...
    for secret in ("Tk3n9x", "q7Sc3tQ", "hdr7Tok"):
        assert secret not in everything  # ...with none of what it echoed


def test_sinks_do_not_echo_a_value_expanded_from_the_environment(tmp_path: Path) -> None:
    from tocsin_sink_file import FileSink
    from tocsin_sink_state import StateSink

    environ = {"LEAKY": "ZsExpandedSecret9", "XDG_STATE_HOME": str(tmp_path)}
    state = SinkSettings("state", {"write": "${LEAKY}", "path": str(tmp_path / "s.db")}, environ=environ)
    StateSink(state)
    file = SinkSettings("file", {"format": "${LEAKY}", "path": str(tmp_path / "a.log")}, environ=environ)
    FileSink(file)
    text = "\n".join(str(p) for p in [*state.problems, *file.problems])
    assert "sinks.state.write" in text
    assert "sinks.file.format" in text
    assert "ZsExpandedSecret9" not in text
