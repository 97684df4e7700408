"""The ``tocsin`` command: its parser, the built-in commands, and the plugin commands.

Exit status: 0 success; 1 a check failed (``tocsin test``, ``tocsin sinks`` with a sink that
failed to load, ``tocsin config --check`` with any problem); 2 a usage or configuration
error. ``tocsin emit`` emits even when the configuration has errors (with defaults for what is
wrong), because losing the alert of a failing cron job to a typo helps nobody; it still exits
with 2 so that the typo is noticed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .._discovery import COMMANDS_GROUP, find_entry_points
from . import _resolve, _show_config, _spool
from ._text import problem_text, tidy, tidy_event

if TYPE_CHECKING:
    from .._config import Config
    from .._emitter import Emitter

__all__ = ["command_config", "main"]

def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``--config`` and ``--quiet``, accepted before the command and after it. On the commands'
    parsers the defaults are suppressed, so that an option given before the command survives."""
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: $TOCSIN_CONFIG, "
                        "./tocsin.toml, $XDG_CONFIG_HOME/tocsin/config.toml)", **({"default": None} | default))
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing unless something failed "
                        "(also TOCSIN_QUIET=1)", **default)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def _parser(err: TextIO) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description="Raise operational alerts through tocsin's sinks.")
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    emit = sub.add_parser("emit", help="emit one alert and wait for the sinks to hand it over")
    emit.add_argument("severity", help="info, warning or critical (anything else is info)")
    emit.add_argument("title")
    emit.add_argument("message")
    emit.add_argument("--context", "-c", action="append", default=[], metavar="KEY=VALUE",
                      help="a context entry; VALUE is parsed as JSON when it is valid JSON (repeatable)")
    emit.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                      help="how long to wait for delivery (default: flush_timeout, 10 s)")
    emit.set_defaults(func=_emit)

    sinks = sub.add_parser("sinks", help="list discovered sinks: enabled, loaded, and why not")
    sinks.add_argument("--json", action="store_true", help="machine-readable output")
    sinks.set_defaults(func=_sinks)

    test = sub.add_parser("test", help="send a test alert through each enabled sink and report")
    test.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS")
    test.add_argument("--json", action="store_true", help="machine-readable output")
    test.add_argument("--severity", default="info", choices=("info", "warning", "critical"),
                      help="the test alert's severity (default info)")
    test.set_defaults(func=_test)

    new = sub.add_parser("new-sink", help="create a ready-to-publish tocsin-sink-NAME package")
    new.add_argument("name", help="the sink's name: lower-case letters, digits and _")
    new.add_argument("--dir", metavar="PATH", help="where to create it (default ./tocsin-sink-NAME)")
    new.add_argument("--network", action="store_true", help="start from the delivery engine (a webhook-style sink)")
    new.set_defaults(func=_new_sink)
    _show_config.register(sub)

    _resolve.register(sub)  # tocsin resolve TITLE [MSG]
    _spool.register(sub)  # tocsin spool [deliver]
    _add_plugin_commands(sub, err)
    for command in sub.choices.values():
        _global_options(command, suppress=True)
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], err: TextIO) -> None:
    """Let each ``tocsin.commands`` entry point add its subcommands; one that fails is reported
    and left out, and every other command still works."""
    try:
        entry_points = find_entry_points(COMMANDS_GROUP)
    except Exception as exc:  # broken metadata of some unrelated distribution
        err.write(f"tocsin: could not list command plugins: {type(exc).__name__}: {exc}\n")
        return
    for ep in entry_points:
        before = dict(sub.choices)
        try:
            register: Any = ep.load()
            register(sub)
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # SystemExit at import included: one plugin never stops the CLI
            # Take back whatever it half-registered, so that no broken command is offered.
            for name in set(sub.choices) - set(before):
                del sub.choices[name]
            sub._choices_actions[:] = [a for a in sub._choices_actions if a.dest in sub.choices]
            from .._redact import redact

            err.write(redact(f"tocsin: command plugin {ep.name!r} ({ep.distribution or ep.value}) failed to load: "
                             f"{type(exc).__name__}: {exc}") + "\n")


def _configure_logging(quiet: bool) -> None:
    # The CLI is an application, so it may configure structlog (the library never does):
    # diagnostics go to stderr, keeping stdout for the command's own output.
    import logging

    import structlog

    structlog.reset_defaults()  # main() may run more than once in a process (tests): start afresh
    structlog.configure(
        processors=[tidy_event, *structlog.get_config()["processors"]],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR if quiet else logging.NOTSET),
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser(err)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 2 and (salvaged := _salvage_emit(argv, out, err)) is not None:
            return salvaged
        raise
    if args.version:
        from .._version import __version__

        out.write(f"tocsin {__version__}\n")
        return 0
    if args.command is None:
        parser.print_help(out)
        return 2
    # Every command writes its output to args.out and its messages to args.err.
    args.out, args.err = out, err
    args.quiet = bool(args.quiet) or os.environ.get("TOCSIN_QUIET", "").strip() not in ("", "0")
    _configure_logging(args.quiet)
    status: int = args.func(args)
    return status


def _salvage_emit(argv: Sequence[str], out: TextIO, err: TextIO) -> int | None:
    """After a usage error in ``tocsin emit`` (a bad ``--timeout``, an option this version does
    not know): emit the alert anyway, read leniently from ``argv``, and return 2; None when the
    command is not ``emit`` or no severity and title can be found. argparse has already said
    what was wrong. A failing cron job's alert matters more than the typo in its command line."""
    with_value = {"--context", "-c", "--timeout", "--config"}
    words = iter(argv)
    positional: list[str] = []
    context: list[str] = []
    config: str | None = None
    for word in words:
        if word == "--":
            positional.extend(words)
            break
        if word in with_value:
            value = next(words, None)
            if value is not None and word in ("-c", "--context"):
                context.append(value)
            elif value is not None and word == "--config":
                config = value
        elif word.startswith(("--context=", "--config=")):
            name, _, value = word.partition("=")
            if name == "--context":
                context.append(value)
            else:
                config = value
        elif word.startswith("-c") and not word.startswith("--"):
            context.append(word[2:])
        elif not word.startswith("-") or word == "-":
            positional.append(word)
    if positional[:1] != ["emit"] or len(positional) < 3:
        return None
    severity, title, *message = positional[1:]
    args = argparse.Namespace(severity=severity, title=title, message=" ".join(message), context=context,
                              timeout=None, config=config, quiet=False, out=out, err=err)
    _configure_logging(False)
    err.write("tocsin: emitting the alert anyway (exit status 2)\n")
    _emit(args)
    return 2


# -- built-in commands ------------------------------------------------------------------


def _config(args: argparse.Namespace) -> Config:
    from .._config import load_config

    return load_config(args.config)


def _context(pairs: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The ``--context`` pairs as a dict, and the pairs that are not ``KEY=VALUE``."""
    out: dict[str, Any] = {}
    bad = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            bad.append(pair)
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out, bad


def command_config(args: argparse.Namespace) -> Config:
    """The configuration a command runs with, for command plugins: from ``args.config`` (or the
    usual places), each problem written once to ``args.err``, as the built-in commands do."""
    config = _config(args)
    _report_problems(config, getattr(args, "err", sys.stderr))
    return config


def _report_problems(config: Config, err: TextIO) -> bool:
    # The only place a command prints them: the library's structlog events of the same
    # problems are dropped by tidy_event, so that each is printed once.
    for problem in config.problems:
        err.write(f"tocsin: config {problem.level}: {problem_text(problem)}\n")
    return bool(config.errors)


def _emit(args: argparse.Namespace, status: str = "firing") -> int:
    """``tocsin emit``, and ``tocsin resolve`` with ``status="resolved"``."""
    from .._emitter import Emitter

    config = _config(args)
    severity = args.severity
    if severity is None:  # a resolve without --severity: the one this host last saw the title fire with
        from .._repeat import last_fired_severity

        found = last_fired_severity(config.environ, config.project, args.title)
        severity = found.value if found is not None else "info"
    context, bad = _context(args.context)
    if bad:
        # The alert of a failing cron job matters more than the typo: emit it, keep the
        # malformed pairs in the context, and exit 2 so that the typo is noticed.
        context["unparsed_context"] = bad
    emitter = Emitter(config)
    bad_config = _report_problems(config, args.err)
    for pair in bad:
        args.err.write(f"tocsin: --context {pair!r}: expected KEY=VALUE (kept as unparsed_context)\n")
    emitter.emit(severity, args.title, args.message, context, status=status)
    if not _hand_over(emitter, args.timeout):
        args.err.write(f"tocsin: some sinks did not hand the {'resolve' if status == 'resolved' else 'alert'} over "
                       "in time (see the log above)\n")
    return 2 if bad_config or bad else 0


def _is_local(emitter: Emitter, name: str) -> bool:
    """Whether sink ``name`` writes on this machine (a file, a database) rather than to a URL:
    not built on the delivery engine, and no URL as its target."""
    delivery = sys.modules.get("tocsin.delivery")  # not imported: no sink can be a NetworkSink
    if delivery is not None and isinstance(emitter.sink(name), delivery.NetworkSink):
        return False
    target = emitter.sink_status(name).get("target")
    return not (isinstance(target, str) and "://" in target)


def _hand_over(emitter: Emitter, timeout: float | None) -> bool:
    """Flush the sinks that write on this machine first, within at least ``flush_timeout``
    whatever ``--timeout`` says, then close the emitter, which flushes the network sinks within
    what is left of ``--timeout``.

    ``--timeout`` bounds the wait for the network. A local write takes milliseconds but runs on
    a writer thread that dies with the process: with ``--timeout 0`` the state store received
    none of 10 alerts. The alert the CLI promised to emit reaches every embedded sink.
    """
    import time

    budget = emitter.config.flush_timeout if timeout is None else timeout
    deadline = time.monotonic() + budget
    loaded = [r.name for r in emitter.sinks() if r.loaded]
    local = [n for n in loaded if _is_local(emitter, n)]
    complete = emitter.flush(max(budget, emitter.config.flush_timeout), names=local)
    return emitter.close(max(0.0, deadline - time.monotonic())) and complete


def _with_emitter(args: argparse.Namespace, command: Any) -> int:
    from .._emitter import Emitter

    config = _config(args)
    emitter = Emitter(config)
    try:
        bad_config = _report_problems(config, args.err)
        status: int = command(emitter, args)
    finally:
        emitter.close(0)
    return 2 if bad_config else status


def _sinks(args: argparse.Namespace) -> int:
    return _with_emitter(args, _list_sinks)


def _list_sinks(emitter: Emitter, args: argparse.Namespace) -> int:
    from .._redact import redact

    rows = []
    for record in emitter.sinks():
        row = record.to_dict()
        row["status"] = emitter.sink_status(record.name) if record.loaded else {}
        rows.append(row)
    failed = any(row["enabled"] and row["error"] for row in rows)
    if args.json:
        args.out.write(redact(json.dumps(rows, indent=2, default=str)) + "\n")
        return 1 if failed else 0
    if not rows:
        args.out.write(f"no sinks installed: no entry point in the group 'tocsin.sinks' of the Python at "
                       f"{sys.prefix} (pip install tocsin-sink-file tocsin-sink-state, ...)\n")
        return 0
    for row in rows:
        dist = f"{row['distribution']} {row['version']}" if row["distribution"] else (
            "(given directly)" if row["value"] else "-")
        if not row["enabled"]:
            state = f"disabled: {row['reason']}"
        elif row["error"]:
            state = f"FAILED: {tidy(row['error'])}"
        elif row["status"].get("configured") is False:
            state = "loaded, not configured"
        else:
            state = f"loaded ({row['reason']})"
        target = row["status"].get("target")
        name = row["name"] if row["type"] == row["name"] else f"{row['name']} ({row['type']})"
        line = f"{name:<10} {dist:<28} {state}"
        if target:
            line += f"\n{'':<10} -> {target}"
        args.out.write(redact(line) + "\n")
    return 1 if failed else 0


def _test(args: argparse.Namespace) -> int:
    return _with_emitter(args, _run_checks)


def _run_checks(emitter: Emitter, args: argparse.Namespace) -> int:
    from .._emitter import SinkCheck
    from .._redact import redact

    checks = [SinkCheck(c.name, c.ok, tidy(c.detail)) for c in emitter.check_sinks(args.timeout, args.severity)]
    if args.json:
        args.out.write(redact(json.dumps([c.to_dict() for c in checks], indent=2)) + "\n")
    else:
        if not checks:
            installed = emitter.sinks()
            why = (f"{len(installed)} installed, none enabled (`tocsin sinks` says why)" if installed
                   else f"none installed in the Python at {sys.prefix}")
            args.out.write(f"no sinks to test: {why}\n")
        types = {r.name: r.type for r in emitter.sinks()}  # instances show the plugin they run
        for check in checks:
            kind = types.get(check.name, check.name)
            name = check.name if kind == check.name else f"{check.name} ({kind})"
            args.out.write(redact(f"{name:<10} {'ok    ' if check.ok else 'FAILED'} {check.detail}") + "\n")
    return 0 if all(c.ok for c in checks) else 1


def _new_sink(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .._errors import TocsinError
    from ._scaffold import new_sink

    try:
        path = new_sink(args.name, Path(args.dir) if args.dir else None, network=args.network)
    except TocsinError as exc:
        args.err.write(f"tocsin: {exc}\n")
        return 2
    args.out.write(f"created {path}\n  cd {path} && python -m venv .venv && .venv/bin/pip install -e '.[test]'"
               " && .venv/bin/python -m pytest\n")
    return 0
