"""The ``tocsin`` command: emit alerts from shell scripts, inspect sinks and the state store.

Exit status: 0 success; 1 a check failed (``tocsin test``, ``tocsin last`` without a store);
2 a usage or configuration error. ``tocsin emit`` emits even when the configuration has errors
(with defaults for what is wrong), because losing the alert of a failing cron job to a typo
helps nobody; it still exits with 2 so that the typo is noticed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description="Raise operational alerts through tocsin's sinks.")
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: $TOCSIN_CONFIG, "
                        "./tocsin.toml, $XDG_CONFIG_HOME/tocsin/config.toml)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    emit = sub.add_parser("emit", help="emit one alert and wait for the sinks to hand it over")
    emit.add_argument("severity", help="info, warning or critical (anything else is info)")
    emit.add_argument("title")
    emit.add_argument("message")
    emit.add_argument("--context", "-c", action="append", default=[], metavar="KEY=VALUE",
                      help="a context entry; VALUE is parsed as JSON when it is valid JSON (repeatable)")
    emit.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="how long to wait for delivery (default: flush_timeout, 10 s)")

    sinks = sub.add_parser("sinks", help="list discovered sinks: enabled, loaded, and why not")
    sinks.add_argument("--json", action="store_true", help="machine-readable output")

    last = sub.add_parser("last", help="the last alert of each severity, from the state store")
    last.add_argument("--json", action="store_true", help="an object keyed by severity")

    test = sub.add_parser("test", help="send a test alert through each enabled sink and report")
    test.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    test.add_argument("--json", action="store_true", help="machine-readable output")
    new = sub.add_parser("new-sink", help="create a ready-to-publish tocsin-sink-NAME package")
    new.add_argument("name", help="the sink's name: lower-case letters, digits and _")
    new.add_argument("--dir", metavar="PATH", help="where to create it (default ./tocsin-sink-NAME)")
    new.add_argument("--network", action="store_true", help="start from the delivery engine (a webhook-style sink)")
    return parser


def _configure_logging() -> None:
    # The CLI is an application, so it may configure structlog (the library never does):
    # diagnostics go to stderr, keeping stdout for the command's own output.
    import structlog

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


def _context(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--context {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _report_problems(config: Any, err: TextIO) -> bool:
    from ._redact import redact

    for problem in config.problems:
        err.write(f"tocsin: config {problem.level}: {redact(str(problem))}\n")
    return bool(config.errors)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.version:
        from ._version import __version__

        out.write(f"tocsin {__version__}\n")
        return 0
    if args.command is None:
        _parser().print_help(out)
        return 2
    _configure_logging()
    if args.command == "new-sink":
        return _new_sink(args.name, args.dir, args.network, out, err)

    from ._config import load_config
    from ._emitter import Emitter

    config = load_config(args.config)
    if args.command == "emit":
        try:
            context = _context(args.context)
        except ValueError as exc:
            err.write(f"tocsin: {exc}\n")
            return 2
        emitter = Emitter(config)
        bad_config = _report_problems(config, err)
        emitter.emit(args.severity, args.title, args.message, context)
        if not emitter.close(args.timeout):
            err.write("tocsin: some sinks did not hand the alert over in time (see the log above)\n")
        return 2 if bad_config else 0

    emitter = Emitter(config)
    try:
        bad_config = _report_problems(config, err)
        if args.command == "sinks":
            status = _sinks(emitter, args.json, out)
        elif args.command == "last":
            status = _last(emitter, args.json, out, err)
        else:
            status = _test(emitter, args.timeout, args.json, out)
    finally:
        emitter.close(0)
    return 2 if bad_config else status


def _sinks(emitter: Any, as_json: bool, out: TextIO) -> int:
    from ._redact import redact

    rows = []
    for record in emitter.sinks():
        row = record.to_dict()
        row["status"] = emitter.sink_status(record.name) if record.loaded else {}
        rows.append(row)
    if as_json:
        out.write(redact(json.dumps(rows, indent=2, default=str)) + "\n")
        return 0
    if not rows:
        out.write("no sinks installed (pip install tocsin-sink-file tocsin-sink-state, ...)\n")
        return 0
    for row in rows:
        dist = f"{row['distribution']} {row['version']}" if row["distribution"] else "(given directly)"
        if not row["enabled"]:
            state = f"disabled: {row['reason']}"
        elif row["error"]:
            state = f"FAILED: {row['error']}"
        elif row["status"].get("configured") is False:
            state = "loaded, not configured"
        else:
            state = f"loaded ({row['reason']})"
        target = row["status"].get("target")
        line = f"{row['name']:<10} {dist:<28} {state}"
        if target:
            line += f"\n{'':<10} -> {target}"
        out.write(redact(line) + "\n")
    return 0


def _last(emitter: Any, as_json: bool, out: TextIO, err: TextIO) -> int:
    sink = emitter.sink("state")
    if sink is None or not hasattr(sink, "last_alerts"):
        err.write("tocsin: the state sink is not installed or not enabled (pip install tocsin-sink-state)\n")
        return 1
    last = sink.last_alerts()
    if as_json:
        out.write(json.dumps(last, indent=2, ensure_ascii=False) + "\n")
        return 0
    if not last:
        out.write(f"no alerts recorded yet in {sink.path}\n")
    for severity in ("critical", "warning", "info"):
        if severity in last:
            a = last[severity]
            out.write(f"{severity:<9} {a['timestamp']}  {a['title']}: {a['message']}\n")
    return 0


def _test(emitter: Any, timeout: float, as_json: bool, out: TextIO) -> int:
    from ._redact import redact

    checks = emitter.check_sinks(timeout)
    if as_json:
        out.write(redact(json.dumps([c.to_dict() for c in checks], indent=2)) + "\n")
    else:
        if not checks:
            out.write("no sinks enabled\n")
        for check in checks:
            out.write(redact(f"{check.name:<10} {'ok    ' if check.ok else 'FAILED'} {check.detail}") + "\n")
    return 0 if all(c.ok for c in checks) else 1


def _new_sink(name: str, directory: str | None, network: bool, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from ._errors import TocsinError
    from ._scaffold import new_sink

    try:
        path = new_sink(name, Path(directory) if directory else None, network=network)
    except TocsinError as exc:
        err.write(f"tocsin: {exc}\n")
        return 2
    out.write(f"created {path}\n  cd {path} && python -m venv .venv && .venv/bin/pip install -e '.[test]'"
              " && .venv/bin/python -m pytest\n")
    return 0
