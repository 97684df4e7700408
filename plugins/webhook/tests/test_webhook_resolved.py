"""The webhook body of a resolve and of a counted repeat."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tocsin._alert import make_alert
from tocsin_sink_webhook import alert_payload


def test_status_and_repeats_in_the_body() -> None:
    assert alert_payload(make_alert("critical", "t", "m", status="resolved"))["status"] == "resolved"
    plain = alert_payload(make_alert("critical", "t", "m"))
    assert (plain["status"], plain["repeats"]) == ("firing", 0)
    assert "repeats_since" not in plain
    since = dt.datetime(2026, 11, 29, 13, 0, tzinfo=dt.timezone.utc)
    counted = alert_payload(dataclasses.replace(make_alert("critical", "t", "m"), repeats=59, repeats_since=since))
    assert (counted["repeats"], counted["repeats_since"]) == (59, "2026-11-29T13:00:00Z")
