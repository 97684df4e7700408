from __future__ import annotations

from pathlib import Path

import pytest

from tocsin import Severity, load_config
from tocsin._config import SinkSettings, find_config_file


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert config.source is None
    assert config.problems == []
    assert config.enable is None
    assert config.project == "atocore"
    assert config.flush_timeout == 10.0


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    xdg = tmp_path / "xdg"
    (xdg / "tocsin").mkdir(parents=True)
    write(xdg / "tocsin" / "config.toml", "")
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert find_config_file(env) == xdg / "tocsin" / "config.toml"
    write(tmp_path / "tocsin.toml", "")
    assert find_config_file(env) == Path("tocsin.toml")
    assert find_config_file({**env, "TOCSIN_CONFIG": "/elsewhere.toml"}) == Path("/elsewhere.toml")


def test_full_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", """
[tocsin]
enable = ["file", "state"]
disable = ["slack"]
project = "myproj"
flush_timeout = 3
[sinks.file]
path = "~/alerts.log"
min_severity = "WARNING"
""")
    config = load_config(path, environ={})
    assert config.problems == []
    assert config.enable == ("file", "state")
    assert config.disable == ("slack",)
    assert config.project == "myproj"
    assert config.flush_timeout == 3.0
    settings = config.settings_for("file")
    assert settings.get_severity("min_severity", Severity.INFO) is Severity.WARNING
    assert settings.get_path("path", Path("x")) == Path.home() / "alerts.log"
    assert config.sink_enabled("file") == (True, "listed in enable")
    assert config.sink_enabled("slack") == (False, "disabled by config")
    assert config.sink_enabled("discord") == (False, "not in the enable list")


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[tocsin]\nenable = ["file"]\n[sinks.file]\npath = "/from/file"\n')
    config = load_config(path, environ={
        "TOCSIN_ENABLE": "state, file", "TOCSIN_DISABLE": "file", "ATOCORE_ALERT_LOG": "/from/env.log",
    })
    assert config.enable == ("state", "file")
    assert config.disable == ("file",)
    assert config.sinks["file"]["path"] == "/from/env.log"
    assert config.sink_enabled("file")[0] is False  # disable wins over enable


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[tocsin\n", "-", "invalid TOML"),
        ('[tocsin]\nenable = "file"\n', "tocsin.enable", "expected a list"),
        ("[tocsin]\nflush_timeout = -1\n", "tocsin.flush_timeout", "expected seconds"),
        ('[tocsin]\nproject = "a/b"\n', "tocsin.project", "without '/'"),
        ("sinks = 3\n", "sinks", "expected a table"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    config = load_config(path, environ={})
    [problem] = config.errors
    assert problem.source == str(path)
    assert problem.key == key
    assert fragment in problem.message
    assert str(problem).startswith(f"{path}: {key}: ")


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    config = load_config(environ={"TOCSIN_CONFIG": str(tmp_path / "nope.toml")})
    assert [p.message for p in config.errors] == ["configuration file not found"]


def test_unknown_keys_warn(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[tocsin]\nenabel = []\n[extra]\n")
    config = load_config(path, environ={})
    assert config.errors == []
    assert {(p.key, p.level) for p in config.problems} == {("tocsin.enabel", "warning"), ("extra", "warning")}


def test_sink_settings_getters_record_problems_and_fall_back() -> None:
    problems: list = []
    s = SinkSettings("x", {
        "n": "3", "flag": 1, "sev": "loud", "low": 0, "url": "https://h/${TOKEN}", "missing": "${NOPE}",
        "headers": {"Authorization": "Bearer ${TOKEN}", "bad": 1}, "f": True,
    }, source="c.toml", environ={"TOKEN": "s3cret"}, problems=problems)
    assert s.get_int("n", 7) == 7
    assert s.get_bool("flag", False) is False
    assert s.get_severity("sev", Severity.INFO) is Severity.INFO
    assert s.get_int("low", 5, minimum=1) == 5
    assert s.get_float("f", 2.0) == 2.0  # a boolean is not a number
    assert s.get_str("url") == "https://h/s3cret"
    assert s.get_str("missing") == ""
    assert s.get_str_map("headers") == {"Authorization": "Bearer s3cret"}
    keys = [p.key for p in problems]
    assert keys == ["sinks.x.n", "sinks.x.flag", "sinks.x.sev", "sinks.x.low", "sinks.x.f",
                    "sinks.x.missing", "sinks.x.headers.bad"]
    assert all(p.source == "c.toml" for p in problems)
    assert s.unread_keys() == []


def test_unread_keys() -> None:
    s = SinkSettings("x", {"path": "p", "min_severity": "info", "colour": "red"})
    s.get_str("path")
    assert s.unread_keys() == ["colour"]


@pytest.mark.parametrize(
    ("url", "sink"),
    [
        ("https://discord.com/api/webhooks/123/abc", "discord"),
        ("https://discordapp.com/api/webhooks/123/abc", "discord"),
        ("https://ptb.discord.com/api/v10/webhooks/123/abc", "discord"),
        ("https://canary.discord.com/api/webhooks/123/abc?wait=true", "discord"),
        ("https://hooks.slack.com/services/T0/B0/xyz", "slack"),
        ("https://alerts.example.com/hook", "webhook"),
        ("https://discord.com.evil.example/api/webhooks/1/x", "webhook"),
    ],
)
def test_seed_webhook_variable_goes_to_the_sink_of_its_service(url: str, sink: str) -> None:
    config = load_config(environ={"ATOCORE_ALERT_WEBHOOK": url, "XDG_CONFIG_HOME": "/nonexistent"})
    assert config.sinks == {sink: {"url": url}}


@pytest.mark.parametrize(("value", "expected"), [
    (None, "state/tocsin/spool.db"), ('"~/x/spool.db"', "x/spool.db"), ("false", None),
    ("true", "state/tocsin/spool.db"),
])
def test_spool_setting(tmp_path: Path, value: str | None, expected: str | None) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[tocsin]\n" + (f"spool = {value}\n" if value else ""))
    config = load_config(path, environ={"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)})
    assert config.problems == []
    spool = config.spool_path()
    if expected is None:
        assert spool is None
    else:
        assert spool is not None
        assert str(spool).endswith(expected)
    assert config.settings_for("x").spool == spool


@pytest.mark.parametrize("value", ["3", '""', "[1]"])
def test_bad_spool_setting_is_an_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f"[tocsin]\nspool = {value}\n")
    config = load_config(path, environ={})
    assert [p.key for p in config.errors] == ["tocsin.spool"]


def test_get_duration() -> None:
    settings = SinkSettings("s", {"a": "10m", "b": 5, "c": "soon", "d": True})
    assert settings.get_duration("a", 1) == 600
    assert settings.get_duration("b", 1) == 5
    assert settings.get_duration("c", 7) == 7
    assert settings.get_duration("d", 8) == 8
    assert settings.get_duration("missing", 9) == 9
    assert [p.key for p in settings.problems] == ["sinks.s.c", "sinks.s.d"]
