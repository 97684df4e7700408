"""``tocsin config``: the file read (or where none was found), every effective setting of every
sink instance with where it came from, secrets masked, and every problem.

It only reads. The effective settings are what each sink really asked for: the sinks are
loaded as ``tocsin sinks`` loads them (constructing a sink opens nothing), with settings that
note each getter's key, default and result. So whatever instances and keys the registry and the
sinks know, this command shows, with no list of keys of its own to keep in step.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._redact import redact
from ._text import duration, is_secret_key, problem_text, tidy

if TYPE_CHECKING:
    from .._config import Config

__all__ = ["register"]

_ENV_REF: Final = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
# Variables that change the configuration (besides TOCSIN_CONFIG, which chooses the file).
_OVERRIDE_PREFIXES: Final = ("TOCSIN_", "ATOCORE_")
_NOT_OVERRIDES: Final = frozenset({"TOCSIN_CONFIG", "TOCSIN_QUIET"})
_GETTERS: Final = ("get_str", "get_bool", "get_int", "get_float", "get_duration", "get_str_list", "get_path",
                    "get_severity", "get_str_map")
# Config fields that are not settings of [tocsin].
_NOT_SETTINGS: Final = frozenset({"sinks", "source", "problems", "environ", "list_sources"})
_DURATION_KEY: Final = re.compile(r"(^|_)(timeout|delay|linger|interval|wait|seconds|after|age)$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tocsin config``."""
    parser = subparsers.add_parser(
        "config", help="show the configuration file read, every sink's effective settings and their sources, "
                       "and every problem")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true", help="exit 1 when there is any problem, 0 otherwise (for CI)")
    parser.set_defaults(func=_command)


# -- noting what each sink read -------------------------------------------------------------


@dataclasses.dataclass
class _Read:
    value: Any
    default: Any


def _recording_settings(cls: type) -> type:
    """A subclass of the settings class ``cls`` whose getters note (key, default, result)."""

    def wrap(name: str) -> Callable[..., Any]:
        def getter(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            depth = self.__dict__.get("_tocsin_depth", 0)
            self._tocsin_depth = depth + 1  # get_path calls get_str: note the outer call only
            try:
                value = getattr(super(recording, self), name)(key, *args, **kwargs)
            finally:
                self._tocsin_depth = depth
            if depth == 0:
                default = args[0] if args else kwargs.get("default", {} if name == "get_str_map" else None)
                self._tocsin_reads.setdefault(key, _Read(value, default))
            return value

        return getter

    recording: type = type(f"Recording{cls.__name__}", (cls,), {name: wrap(name) for name in _GETTERS})
    return recording


def _recording_config(config: Config, reads: dict[str, dict[str, _Read]]) -> Config:
    """A shallow copy of ``config`` whose ``settings_for`` hands out noting settings."""
    base = type(config)

    def settings_for(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        settings: Any = base.settings_for(self, name, *args, **kwargs)
        settings.__class__ = _recording_settings(type(settings))
        settings._tocsin_reads = reads.setdefault(name, {})
        return settings

    clone = copy.copy(config)
    clone.__class__ = type(f"Recording{base.__name__}", (base,), {"settings_for": settings_for})
    return clone


# -- where each value came from -------------------------------------------------------------


def _file_data(path: str | None) -> dict[str, Any]:
    """The file as TOML, read only to tell which keys it sets ({} when unreadable: that problem
    is already in the configuration's problems)."""
    if path is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.10 only
    try:
        with open(path, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
            return data
    except (OSError, ValueError):
        return {}


def _env_sources(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Which environment variable set each value: load the configuration without the variables
    that override it, then with each alone, and compare. Keys: ("tocsin", field) or
    ("sinks", name, key)."""
    from .._config import load_config

    overrides = sorted(k for k in environ if k.startswith(_OVERRIDE_PREFIXES) and k not in _NOT_OVERRIDES)
    if not overrides:
        return {}
    bare_env = {k: v for k, v in environ.items() if k not in overrides}
    bare = _flatten(load_config(args.config, bare_env))
    sources: dict[tuple[str, ...], str] = {}
    for var in overrides:
        for key, value in _flatten(load_config(args.config, {**bare_env, var: environ[var]})).items():
            if key not in bare or bare[key] != value:
                sources.setdefault(key, var)
    return sources


def _flatten(config: Config) -> dict[tuple[str, ...], Any]:
    flat: dict[tuple[str, ...], Any] = {("tocsin", f): getattr(config, f) for f in _settings_fields(config)}
    for name, table in config.sinks.items():
        for key, value in table.items():
            flat[("sinks", name, key)] = value
    return flat


def _settings_fields(config: Config) -> list[str]:
    return [f.name for f in dataclasses.fields(config) if f.name not in _NOT_SETTINGS]


def _has_env_ref(value: object) -> bool:
    if isinstance(value, str):
        return bool(_ENV_REF.search(value))
    if isinstance(value, Mapping):
        return any(_has_env_ref(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_env_ref(v) for v in value)
    return False


def _env_refs(value: object) -> list[str]:
    if isinstance(value, str):
        return _ENV_REF.findall(value)
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _env_refs(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _env_refs(v)]
    return []


def _jsonable(value: object) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)  # Path, Severity (a str already), anything a sink returns


# -- the report ------------------------------------------------------------------------------


def _looked_at(environ: Mapping[str, str]) -> list[str]:
    """Where ``find_config_file`` looks, in its order (for "none was found")."""
    xdg = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return ["$TOCSIN_CONFIG (not set)", str(Path("tocsin.toml").resolve()), str(Path(xdg) / "tocsin" / "config.toml")]


def _setting(value: Any, source: str, key: str, raw: Any) -> dict[str, Any]:
    secret = is_secret_key(key) or _has_env_ref(raw)
    if secret:
        refs = _env_refs(raw)
        shown: Any = "<redacted: " + ", ".join(refs) + ">" if refs else "<redacted>"
        if value in (None, "", {}, []):
            shown = "<not set>" if not refs else shown
    else:
        shown = _jsonable(value)
    return {"value": shown, "source": source, "secret": secret}


def _report(args: argparse.Namespace) -> dict[str, Any]:
    from .._config import load_config
    from .._emitter import Emitter

    environ = dict(os.environ)
    config = load_config(args.config)
    reads: dict[str, dict[str, _Read]] = {}
    emitter = Emitter(_recording_config(config, reads))
    try:
        records = emitter.sinks()
        statuses = {r.name: emitter.sink_status(r.name) for r in records if r.loaded}
    finally:
        emitter.close(0)
    data = _file_data(config.source)
    shown_path = str(Path(config.source).resolve()) if config.source else None
    file_label = f"file {shown_path}"
    env_sources = _env_sources(args, environ)

    def source_of(path: tuple[str, ...], in_file: bool, raw: Any) -> str:
        if path in env_sources:
            return f"environment {env_sources[path]}"
        if in_file:
            refs = _env_refs(raw)
            return file_label + (f" ({', '.join(refs)} from the environment)" if refs else "")
        return "default"

    file_main: dict[str, Any] = data["tocsin"] if isinstance(data.get("tocsin"), dict) else {}
    main = {
        f: _setting(getattr(config, f), source_of(("tocsin", f), f in file_main, file_main.get(f)), f, None)
        for f in _settings_fields(config)
    }
    file_sinks: dict[str, Any] = data["sinks"] if isinstance(data.get("sinks"), dict) else {}
    sinks: dict[str, Any] = {}
    names = [r.name for r in records] + sorted(set(config.sinks) - {r.name for r in records})
    by_name = {r.name: r for r in records}
    for name in names:
        record = by_name.get(name)
        table = config.sinks.get(name, {})
        file_table: dict[str, Any] = file_sinks[name] if isinstance(file_sinks.get(name), dict) else {}
        noted = reads.get(name, {})
        settings = {}
        for key in [*noted, *(k for k in table if k not in noted)]:
            raw = table.get(key)
            value = noted[key].value if key in noted else raw
            settings[key] = _setting(value, source_of(("sinks", name, key), key in file_table, raw), key, raw)
        entry: dict[str, Any] = {
            "installed": record is not None,
            "distribution": record.distribution if record else None,
            "version": record.version if record else None,
            "enabled": record.enabled if record else False,
            "reason": record.reason if record else "no installed sink of this name",
            "loaded": record.loaded if record else False,
            "error": tidy(record.error) if record and record.error else None,
            "configured": statuses.get(name, {}).get("configured", True) if record and record.loaded else None,
            "settings": settings,
        }
        sinks[name] = entry
    problems = [
        {"level": p.level, "source": p.source, "key": p.key, "text": problem_text(p)}
        for p in config.problems
    ]
    for name, entry in sinks.items():
        if entry["enabled"] and entry["error"]:
            problems.append({"level": "error", "source": name, "key": f"sinks.{name}",
                             "text": f"sink {name!r} failed to load: {entry['error']}"})
        elif not entry["installed"]:
            problems.append({"level": "warning", "source": config.source or "<environment>", "key": f"sinks.{name}",
                             "text": f"[sinks.{name}]: no installed sink has this name; the table is ignored"})
    seen: set[str] = set()
    unique = [p for p in problems if not (p["text"] in seen or seen.add(p["text"]))]  # type: ignore[func-returns-value]  # set.add returns None: keeps the first of each
    return {
        "file": shown_path,
        "looked_at": [] if config.source else _looked_at(environ),
        "tocsin": main,
        "sinks": sinks,
        "problems": unique,
    }


def _shown(key: str, setting: dict[str, Any]) -> str:
    value = setting["value"]
    if setting["secret"]:
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _DURATION_KEY.search(key):
        return duration(float(value))
    return json.dumps(value, ensure_ascii=False)


def _write_text(report: dict[str, Any], out: Any) -> None:
    lines = []
    if report["file"]:
        lines.append(f"configuration file: {report['file']}")
    else:
        lines.append("configuration file: none found, so every setting is a default or comes from the environment;")
        lines.append("  looked for: " + ", then ".join(report["looked_at"]))

    def table(settings: dict[str, dict[str, Any]], loaded: bool = True) -> None:
        if not settings:
            lines.append("  (no settings: no table, and not loaded, so nothing read)" if not loaded
                         else "  (no settings)")
        width = max((len(k) for k in settings), default=0)
        shown = {key: _shown(key, setting) for key, setting in settings.items()}
        column = min(40, max((len(v) for v in shown.values()), default=0))
        for key, setting in settings.items():
            lines.append(f"  {key:<{width}} = {shown[key]:<{column}}  # {setting['source']}")

    lines.append("\n[tocsin]")
    table(report["tocsin"])
    for name, sink in report["sinks"].items():
        if not sink["installed"]:
            state = "not installed"
        elif not sink["enabled"]:
            state = f"disabled: {sink['reason']}"
        elif sink["error"]:
            state = f"FAILED: {sink['error']}"
        elif sink["configured"] is False:
            state = "loaded, not configured"
        else:
            state = f"loaded ({sink['reason']})"
        dist = f"{sink['distribution']} {sink['version']}" if sink["distribution"] else ""
        lines.append(f"\n[sinks.{name}]    # {dist + ': ' if dist else ''}{state}")
        if sink["installed"] and not sink["loaded"] and sink["settings"]:
            lines.append("  # not loaded: these are the table's values, unchecked")
        table(sink["settings"], sink["loaded"])
    problems = report["problems"]
    lines.append(f"\nproblems: {len(problems) or 'none'}")
    lines.extend(f"  {p['level']}: {p['text']}" for p in problems)
    out.write(redact("\n".join(lines)) + "\n")


def _command(args: argparse.Namespace) -> int:
    report = _report(args)
    if args.json:
        args.out.write(redact(json.dumps(report, indent=2, ensure_ascii=False)) + "\n")
    else:
        _write_text(report, args.out)
    return 1 if args.check and report["problems"] else 0
