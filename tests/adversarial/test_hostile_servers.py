"""Hostile servers against the delivery engine (issue 8): real loopback receivers, bounded runs.

Found by the adversarial run after the delivery round; each test names what it broke.
"""

from __future__ import annotations

import pytest

from tocsin import Config, Emitter
from tocsin.testing import Received, Receiver, Reply
from tocsin_sink_webhook import WebhookSink

pytestmark = [pytest.mark.timeout(30)]

NESTED = b"[" * 50_000  # well under the 64 KiB of body the engine keeps


def _emitter(url: str) -> Emitter:
    return Emitter(Config(environ={}, sinks={"webhook": {"url": url}}), sinks={"webhook": WebhookSink},
                   discover=False)


@pytest.mark.parametrize("status", [503, 429])
def test_a_deeply_nested_json_error_body_is_retried_not_dropped(status: int) -> None:
    """BUG (fixed): ``Response.json()`` caught ``ValueError`` only; a 503/429 whose body is deeply
    nested JSON made ``json.loads`` raise ``RecursionError``, the classification failed, and the
    alert was treated as rejected by the service: dropped after one attempt instead of retried."""
    answers: list[int] = []

    def behaviour(request: Received) -> Reply:
        if not answers:
            answers.append(status)
            return Reply(status, {"Content-Type": "application/json", "Retry-After": "0.2"}, NESTED)
        answers.append(204)
        return Reply(204)

    with Receiver(behaviour) as receiver:
        emitter = _emitter(receiver.url_for("/hook"))
        try:
            emitter.emit("critical", "db down", "m")
            assert emitter.flush(15)
        finally:
            emitter.close()
        assert answers[0] == status
        assert len(receiver.requests) == 2, f"expected a retry after {status}, got {answers}"
