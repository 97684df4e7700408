"""tocsin-sink-alertmanager: alerts to Prometheus Alertmanager (API v2), across many hosts.

Every alert is POSTed (as a JSON array, many at once) to ``/api/v2/alerts`` of **every** peer
listed, as Prometheus does; the Alertmanager cluster deduplicates, groups, silences, inhibits
and routes. Each peer has its own queue, thread and retries: one peer down delays nobody.

Labels (the alert's identity): ``alertname`` (the title), ``severity``, ``host``, ``project``
and the context keys listed in ``labels``, names sanitised to ``[a-zA-Z_][a-zA-Z0-9_]*``.
Annotations: ``summary`` (title), ``description`` (message), ``context`` (JSON).
``startsAt`` is the alert's time, ``endsAt`` that plus ``resolve_after`` (a resolved alert:
now, so that Alertmanager sends its "resolved" notification).

Settings (``[sinks.alertmanager]``): ``url`` or ``urls`` (base URLs such as
``http://am-1:9093``), ``labels``, ``resolve_after`` (``"5m"``), ``generator_url``,
``bearer_token`` or ``basic_auth = {username, password}`` (write secrets as ``${ENV_VAR}``),
and the delivery settings of :class:`tocsin.delivery.NetworkSink` (``connect_timeout``,
``read_timeout``, ``max_age``, ``backoff_base``, ``backoff_max``, ``queue_size``,
``min_interval``).
"""

from __future__ import annotations

from ._payload import alert_payload, label_name
from ._sink import API_PATH, AlertmanagerSink, classify_alertmanager, peer_destinations

__all__ = [
    "API_PATH",
    "AlertmanagerSink",
    "alert_payload",
    "classify_alertmanager",
    "label_name",
    "peer_destinations",
]
