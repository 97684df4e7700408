"""``tocsin history``: the alerts of the state store, newest first (a ``tocsin.commands`` plugin).

Exit status: 0 success (also when nothing matches); 1 the store is missing or unreadable;
2 a bad option.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Final, TextIO

from tocsin import redact
from tocsin.cli import command_config

from ._history import MAX_LIMIT, StoreError, history

__all__ = ["register", "run"]

# Alert text may hold anything; a terminal must not receive escape sequences from it.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def register(subparsers: Any) -> None:
    """Add ``tocsin history`` to the ``tocsin`` command line (the ``tocsin.commands`` hook)."""
    parser = subparsers.add_parser(
        "history", help="the alerts recorded by the state sink, newest first",
        description="The alerts recorded by the state sink, newest first (read-only: never creates a store).",
    )
    parser.add_argument("--severity", "-s", metavar="S", help="only these severities: critical, or warning,critical")
    parser.add_argument("--since", metavar="WHEN",
                        help="only alerts since: 30s, 10m, 1h, 2d, 1w, or a time (ISO 8601)")
    parser.add_argument("--grep", "-g", metavar="TEXT", help="only alerts whose title, message or context has TEXT")
    parser.add_argument("--limit", "-n", default="50", metavar="N",
                        help=f"at most N alerts (1 … {MAX_LIMIT}, default 50)")
    parser.add_argument("--json", action="store_true", help="a JSON list of entries")
    parser.add_argument("--include-test", action="store_true", help="also the test alerts of `tocsin test`")
    parser.set_defaults(func=run)


def terminal_text(text: str) -> str:
    """``text`` with control characters (escape sequences, carriage returns) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``tocsin history`` with parsed ``args``; returns the exit status."""
    # The tocsin command hands its streams over as args.out and args.err.
    out = out or getattr(args, "out", None) or sys.stdout
    err = err or getattr(args, "err", None) or sys.stderr
    config = command_config(args)
    try:
        entries = history(severity=args.severity, since=args.since, grep=args.grep, limit=args.limit, config=config,
                          include_test=args.include_test)
    except ValueError as exc:
        err.write(f"tocsin history: {exc}\n")
        return 2
    except StoreError as exc:
        err.write(f"tocsin history: {redact(str(exc))}\n")
        return 1
    if args.json:
        out.write(redact(json.dumps(entries, indent=2, ensure_ascii=False)) + "\n")
        return 0
    if not entries:
        out.write("no alerts match\n")
        return 0
    for entry in entries:
        first = entry["message"].split("\n", 1)[0]
        resolved = "RESOLVED " if entry["status"] == "resolved" else ""
        line = f"{entry['timestamp']}  {entry['severity']:<8}  {resolved}{entry['title']}"
        if first:
            line += f": {first[:200]}"
        if entry["host"]:
            line += f"  [{entry['host']}]"
        out.write(redact(terminal_text(line)) + "\n")
    return 0
