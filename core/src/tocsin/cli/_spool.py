"""``tocsin spool``: what waits in the spool, per destination, and delivering it now."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tocsin spool`` and ``tocsin spool deliver`` to the command line."""
    from ._main import _global_options, _seconds

    spool = sub.add_parser("spool", help="list the alerts waiting in the spool, per destination")
    spool.add_argument("--json", action="store_true", help="machine-readable output")
    spool.set_defaults(func=_list)
    actions = spool.add_subparsers(dest="spool_command", metavar="ACTION")
    deliver = actions.add_parser("deliver", help="deliver what the spool holds now (exit 0 when nothing is left)")
    deliver.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                         help="how long to try at most (default 60 s)")
    deliver.set_defaults(func=_deliver)
    _global_options(deliver, suppress=True)


def _open(args: argparse.Namespace) -> Any:
    from .._config import load_config
    from ..delivery._spool import open_spool

    config = load_config(args.config)
    path = config.spool_path()
    return config, (open_spool(path) if path is not None else None)


def _write_rows(args: argparse.Namespace, rows: list[dict[str, Any]], path: object) -> None:
    from .._redact import redact

    if not rows:
        args.out.write(f"nothing spooled ({path})\n")
        return
    args.out.write(f"spool {path}\n")
    for row in rows:
        leased = f", {row['leased']} being delivered by a running process" if row["leased"] else ""
        args.out.write(redact(f"{row['sink']:<10} {row['target']}  {row['alerts']} alert"
                              f"{'s' if row['alerts'] != 1 else ''}, oldest {row['oldest_s']:g} s{leased}") + "\n")


def _list(args: argparse.Namespace) -> int:
    from .._redact import redact

    _, spool = _open(args)
    if spool is None:
        args.err.write("tocsin: the spool is disabled ([tocsin] spool = false)\n")
        return 2
    rows = spool.summary()
    if args.json:
        args.out.write(redact(json.dumps({"spool": str(spool.path), "destinations": rows}, indent=2)) + "\n")
    else:
        _write_rows(args, rows, spool.path)
    return 0


def _deliver(args: argparse.Namespace) -> int:
    from .._emitter import Emitter
    from ..delivery._destination import live_destinations

    config, spool = _open(args)
    if spool is None:
        args.err.write("tocsin: the spool is disabled ([tocsin] spool = false)\n")
        return 2
    if spool.count() == 0:
        if not args.quiet:
            args.out.write(f"nothing spooled ({spool.path})\n")
        return 0
    deadline = time.monotonic() + args.timeout
    emitter = Emitter(config)  # each network destination starts delivering its spooled alerts
    delivered = 0
    try:
        for destination in live_destinations():
            destination.deliver_spooled(max(0.0, deadline - time.monotonic()))
            delivered += int(destination.counters["delivered"])
    finally:
        emitter.close(0)  # what could not be sent goes back to the spool
    left = spool.summary()
    if not args.quiet or left:
        args.out.write(f"delivered {delivered} alert{'s' if delivered != 1 else ''}\n")
        if left:
            _write_rows(args, left, spool.path)
            configured = {(r.name) for r in emitter.sinks() if r.loaded}
            for row in left:
                if row["sink"] not in configured:
                    args.out.write(f"  ({row['sink']}: no such sink is configured here)\n")
    return 1 if left else 0
