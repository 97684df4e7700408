"""``tocsin resolve TITLE [MESSAGE]``: say that an alert is over, from a shell or a cron job.

Like ``tocsin emit``: the resolve is emitted even when the configuration has errors (exit 2
then), and the command waits for the sinks to hand it over.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``resolve`` command to the ``tocsin`` parser."""
    from ._main import _seconds

    resolve = subparsers.add_parser(
        "resolve", help="say that an alert is over (status resolved) and wait for the sinks to hand it over"
    )
    resolve.add_argument("title", help="the title of the alert that fired")
    resolve.add_argument("message", nargs="?", default="", help="what happened (optional)")
    resolve.add_argument("--severity", "-s", default=None, metavar="SEVERITY",
                         help="the severity it fired with (default: the one this host last saw for TITLE, else info)")
    resolve.add_argument("--context", "-c", action="append", default=[], metavar="KEY=VALUE",
                         help="a context entry; VALUE is parsed as JSON when it is valid JSON (repeatable)")
    resolve.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                         help="how long to wait for delivery (default: flush_timeout, 10 s)")
    resolve.set_defaults(func=_resolve)


def _resolve(args: argparse.Namespace) -> int:
    from .._emitter import Emitter
    from .._repeat import last_fired_severity
    from ._main import _config, _context, _report_problems

    config = _config(args)
    context: dict[str, Any]
    context, bad = _context(args.context)
    if bad:
        context["unparsed_context"] = bad
    emitter = Emitter(config)
    bad_config = _report_problems(config, args.err)
    for pair in bad:
        args.err.write(f"tocsin: --context {pair!r}: expected KEY=VALUE (kept as unparsed_context)\n")
    severity = args.severity
    if severity is None:
        found = last_fired_severity(config.environ, config.project, args.title)
        severity = found.value if found is not None else "info"
    emitter.emit(severity, args.title, args.message, context, status="resolved")
    if not emitter.close(args.timeout):
        args.err.write("tocsin: some sinks did not hand the resolve over in time (see the log above)\n")
    return 2 if bad_config or bad else 0
