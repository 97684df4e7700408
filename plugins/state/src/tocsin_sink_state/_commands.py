"""``tocsin last``: the last alert of each severity, contributed to the ``tocsin`` command.

Registered through the ``tocsin.commands`` entry-point group. It only reads: a store that does
not exist is reported, never created. Test alerts (context ``{"tocsin_test": true}``, sent by
``tocsin test``) are left out unless ``--include-test``: for a severity whose last alert was a
test, the newest real alert of that severity in the history is shown instead.
"""

from __future__ import annotations

import argparse
import json

from tocsin import redact
from tocsin.cli import command_config

from ._history import StoreError, _stored_projects, last, store_location
from ._history_command import terminal_text

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tocsin last`` (the ``tocsin.commands`` entry point of this distribution)."""
    last = subparsers.add_parser("last", help="the last alert of each severity, from the state store")
    last.add_argument("--json", action="store_true", help="an object keyed by severity")
    last.add_argument("--include-test", action="store_true",
                      help="show test alerts too (sent by `tocsin test`; left out by default)")
    last.set_defaults(func=_last)


def _last(args: argparse.Namespace) -> int:
    config = command_config(args)
    name = (config.instances_of("state") or ["state"])[0]  # an instance may run it under another name
    enabled, reason = config.sink_enabled(name, "state")
    if not enabled:
        args.err.write(f"tocsin: note: the state sink is {reason}; showing what its store holds\n")
    path, project = store_location(config)
    try:
        found = last(path, project=project, include_test=args.include_test)
        others = [] if found else [p for p in _stored_projects(path) if p != project]
        only_tests = not found and not args.include_test and bool(last(path, project=project))
    except StoreError as exc:
        args.err.write(f"tocsin: {redact(str(exc))}\n")
        return 1
    if args.json:
        args.out.write(redact(json.dumps(found, indent=2, ensure_ascii=False)) + "\n")
        return 0
    if not found:
        hint = f"; it holds alerts of project {', '.join(others)}" if others else ""
        if only_tests:
            hint += "; only test alerts (--include-test shows them)"
        args.out.write(f"no alerts recorded yet for project {project!r} in {path}{hint}\n")
        return 0
    for severity in ("critical", "warning", "info"):
        if severity in found:
            a = found[severity]
            # Alert text may hold anything: no escape sequence reaches the terminal.
            resolved = "RESOLVED " if a.get("status") == "resolved" else ""
            line = f"{severity:<9} {a['timestamp']}  {resolved}{a['title']}: {a['message']}"
            args.out.write(redact(terminal_text(line)) + "\n")
    return 0
