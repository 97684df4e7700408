from __future__ import annotations

import pytest

from tocsin import Severity
from tocsin._severity import parse_severity


def test_members_equal_the_seed_strings() -> None:
    assert Severity.CRITICAL == "critical"
    assert {"info": 1}[Severity.INFO] == 1
    assert f"{Severity.WARNING}" == "warning"


def test_order_is_by_urgency_not_alphabet() -> None:
    assert Severity.INFO < Severity.WARNING < Severity.CRITICAL
    assert sorted([Severity.CRITICAL, Severity.INFO, Severity.WARNING]) == [
        Severity.INFO, Severity.WARNING, Severity.CRITICAL,
    ]
    assert max(Severity) is Severity.CRITICAL


@pytest.mark.parametrize(
    ("given", "expected"),
    [("CRITICAL", Severity.CRITICAL), (" Warning ", Severity.WARNING), (b"info", Severity.INFO),
     ("error", None), ("", None), (None, None), (3, None), (Severity.WARNING, Severity.WARNING)],
)
def test_parse(given: object, expected: Severity | None) -> None:
    assert parse_severity(given) is expected
