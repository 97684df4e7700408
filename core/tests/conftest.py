from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tocsin import Config, Emitter


@pytest.fixture
def make_emitter() -> Iterator[Callable[..., Emitter]]:
    made: list[Emitter] = []

    def make(plugins: dict[str, Any], **config: Any) -> Emitter:
        emitter = Emitter(Config(environ={}, **config), sinks=plugins, discover=False)
        made.append(emitter)
        return emitter

    yield make
    for emitter in made:
        emitter.close(0)
