"""``tocsin resolve TITLE [MESSAGE]``: say that an alert is over, from a shell or a cron job.

Like ``tocsin emit``: the resolve is emitted even when the configuration has errors (exit 2
then), and the command waits for the sinks to hand it over.
"""

from __future__ import annotations

import argparse

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
    from ._main import _emit

    return _emit(args, status="resolved")
