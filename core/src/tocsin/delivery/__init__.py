"""tocsin's delivery engine: what a network sink is built on.

A network sink subclasses :class:`NetworkSink` and says only how alerts look on the wire
(:meth:`NetworkSink.render` returns :class:`Message` objects) and, for a service with its own
error conventions, how to read an answer (:meth:`NetworkSink.classify` returns a
:class:`Verdict`). Everything else — queueing, coalescing, pacing, retries with
:class:`RetryPolicy`, timeouts, redaction and the flush at exit — is :class:`Destination`'s,
the same for every sink::

    from tocsin.delivery import Message, NetworkSink

    class NtfySink(NetworkSink):
        def render(self, alerts):
            return [Message(body=a.title.encode(), count=1) for a in alerts]

Importing this package does not import urllib3: the first request does.
"""

from __future__ import annotations

from .._normalise import truncate
from .._seed_compat import severity_emoji
from ._destination import Destination, Message, Outcome, Verdict, classify_response, dropped_notice
from ._http import Response
from ._retry import RetryPolicy
from ._sink import NetworkSink, destination_settings

__all__ = [
    "Destination",
    "Message",
    "NetworkSink",
    "Outcome",
    "Response",
    "RetryPolicy",
    "Verdict",
    "classify_response",
    "destination_settings",
    "dropped_notice",
    "severity_emoji",
    "truncate",
]
