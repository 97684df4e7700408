"""pytest fixtures for sink authors. Enable them in a ``conftest.py``::

    pytest_plugins = ["tocsin.testing.fixtures"]

``make_emitter``
    builds isolated emitters: ``make_emitter({"pager": PagerSink}, sinks={"pager": {...}})``
    gives an :class:`~tocsin.Emitter` with only those sinks (no discovery, no configuration
    file, no environment), closed after the test.
``captured_alerts``
    a :class:`~tocsin.testing.RecordingSink` behind an emitter of its own:
    ``captured_alerts.emitter.emit(...)``, then ``captured_alerts.alerts``.
``receiver``
    a :class:`~tocsin.testing.Receiver` on 127.0.0.1 answering 200, stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from .._config import Config
from .._emitter import Emitter
from ._receiver import Receiver, always
from ._recording import RecordingSink

__all__ = ["captured_alerts", "make_emitter", "receiver"]


@pytest.fixture
def make_emitter() -> Iterator[Callable[..., Emitter]]:
    """A factory of isolated emitters: ``make_emitter(plugins, **config)``; closed at teardown."""
    made: list[Emitter] = []

    def make(plugins: Mapping[str, object], **config: Any) -> Emitter:
        config.setdefault("environ", {})
        emitter = Emitter(Config(**config), sinks=plugins, discover=False)
        made.append(emitter)
        return emitter

    yield make
    for emitter in made:
        emitter.close(0)


class CapturedAlerts(RecordingSink):
    """A recording sink that knows the emitter feeding it."""

    emitter: Emitter


@pytest.fixture
def captured_alerts(make_emitter: Callable[..., Emitter]) -> CapturedAlerts:
    """A :class:`RecordingSink` with an isolated emitter of its own (``.emitter``)."""
    sink = CapturedAlerts()
    sink.emitter = make_emitter({"captured": sink})
    return sink


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 answering ``200 ok``."""
    with Receiver(always(200, b"ok")) as running:
        yield running
