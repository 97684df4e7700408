"""tocsin-dashboard: ``tocsin serve``, a read-only web page and JSON API over tocsin's state.

The page shows the last alert of each severity, the history (filtered, paged, refreshed live),
alerts per severity over time, and each sink's health. The API serves the same data:
``/api/last``, ``/api/history``, ``/api/counts``, ``/api/sinks`` (GET only).

Embedded in an application, it reports that application's own sinks live::

    from tocsin_dashboard import Dashboard, make_server
    server = make_server(port=8765, dashboard=Dashboard(emitter=tocsin.get_default_emitter()))
    server.start()   # a daemon thread; server.close() stops it
"""

from __future__ import annotations

from ._server import DEFAULT_PORT, Dashboard, DashboardServer, InsecureBindError, is_loopback, make_server

__all__ = ["DEFAULT_PORT", "Dashboard", "DashboardServer", "InsecureBindError", "is_loopback", "make_server"]
