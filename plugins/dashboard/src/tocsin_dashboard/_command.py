"""``tocsin serve``: run the dashboard (a ``tocsin.commands`` plugin).

Exit status: 0 after Ctrl-C or SIGTERM; 2 a refused or impossible address (non-loopback without a token,
port in use).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, TextIO

from tocsin import redact
from tocsin.cli import command_config

from ._server import DEFAULT_PORT, Dashboard, InsecureBindError, is_loopback, make_server

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add ``tocsin serve`` to the ``tocsin`` command line (the ``tocsin.commands`` hook)."""
    parser = subparsers.add_parser(
        "serve", help="a read-only web dashboard: last alerts, history, counts, sink health",
        description="Serve the dashboard and its read-only JSON API (/api/last, /api/history, /api/counts, "
                    "/api/sinks). Loopback only unless --token is given.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other "
                        "needs --token)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument("--token", default=None, help="required on every request (Authorization: Bearer or "
                        "?token=); default: $TOCSIN_DASHBOARD_TOKEN")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, err: TextIO | None = None) -> int:
    """Run ``tocsin serve`` with parsed ``args`` until interrupted; returns the exit status."""
    err = err or getattr(args, "err", None) or sys.stderr  # the tocsin command's stream
    token = args.token or os.environ.get("TOCSIN_DASHBOARD_TOKEN") or None
    config = command_config(args)
    try:
        if not is_loopback(args.host) and not token:
            raise InsecureBindError(
                f"refusing to serve on {args.host!r} without --token: anyone who can reach it could read "
                "the alerts (bind 127.0.0.1, or pass --token / set TOCSIN_DASHBOARD_TOKEN)")
        server = make_server(args.host, args.port, token=token, dashboard=Dashboard(config))
    except InsecureBindError as exc:
        err.write(f"tocsin serve: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"tocsin serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
        return 2
    err.write(f"tocsin serve: dashboard on {server.url} (store {server.dashboard.store_path}); Ctrl-C stops it\n")
    if token:
        # Say so, without showing it: the operator knows the token they gave.
        err.write("tocsin serve: a token is required on every request (open the page as /?token=…)\n")
        if not is_loopback(args.host):
            err.write(f"tocsin serve: listening beyond loopback on {redact(args.host)}; traffic is plain HTTP, "
                      "put it behind TLS if it crosses a network you do not trust\n")
    err.flush()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # leave serve_forever the same way as Ctrl-C: close, exit 0

    # A service manager stops it with SIGTERM (signal handlers belong to the main thread only).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        server.server_close()
        server.dashboard.close()
    return 0
