"""Alerts raised while this thread is already inside tocsin: deferred, never lost, never a deadlock.

``emit_alert`` may be called from a signal handler, a ``__del__``, an ``atexit`` handler or a
sink's own hook — that is, while the same thread is already inside tocsin and may hold one of
its locks (a queue's condition, the default emitter's creation lock, a log writer's lock).
Taking any lock then can deadlock the process, and dropping the alert loses exactly the alert
of a process being told to stop.

So every public entry point marks the thread as *inside* (:func:`entered`), and an alert raised
while it is inside takes no lock at all: it is built (pure computation) and appended to a
process-wide deque (``deque.append`` is atomic under the GIL). The outermost entry point drains
that deque as it leaves, delivering each deferred alert like any other.

Loops stay prevented: an alert that a sink raises from inside its own hook is not handed back
to that sink (the others get it), and chains of alerts raising alerts stop after
:data:`MAX_GENERATIONS`. An alert from a signal handler that interrupted a sink's hook is not
the sink's own: it goes to every sink.
"""

from __future__ import annotations

import collections
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._alert import Alert

__all__ = [
    "MAX_GENERATIONS", "Deferred", "defer", "enter_sink", "entered", "inside", "leave_sink",
]

MAX_GENERATIONS: Final = 4
"""How many alerts-raised-while-delivering-an-alert deep a chain may go before it is dropped."""


class _State(threading.local):
    depth = 0
    """How many public tocsin calls this thread is inside."""
    sink: str | None = None
    """The sink whose hook this thread is running, if any."""
    generation = 0
    """0 for an alert from the caller; n for one raised while delivering a generation n-1 alert."""


_state = _State()


class Deferred:
    """One alert waiting to be delivered by the outermost tocsin call on its way out."""

    __slots__ = ("alert", "deliver", "exclude", "generation")

    def __init__(self, deliver: Callable[[Alert, str | None], None], alert: Alert, exclude: str | None,
                 generation: int) -> None:
        self.deliver = deliver
        self.alert = alert
        self.exclude = exclude
        """The sink that raised it from inside its own hook: it does not get it back."""
        self.generation = generation


_deferred: collections.deque[Deferred] = collections.deque()
dropped_loops = 0
"""Alerts dropped because they were too many generations deep (a sink loop); logged at drain."""


def inside() -> bool:
    """Whether this thread is already inside a public tocsin call."""
    return _state.depth > 0



def enter_sink(name: str) -> str | None:
    """Mark this thread as running sink ``name``'s hook; returns what to pass to :func:`leave_sink`.
    (Two plain calls rather than a context manager: this is on every sink call's path.)"""
    previous, _state.sink = _state.sink, name
    return previous


def leave_sink(previous: str | None) -> None:
    """Undo :func:`enter_sink`."""
    _state.sink = previous


def _signal_handler_codes() -> set[CodeType]:
    import signal  # here, not at import: `import signal` builds its enums (~10 ms), and only this rare path needs it

    codes = set()
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):  # pragma: no cover - a signal this platform lists but refuses
            continue
        code = getattr(handler, "__code__", None) or getattr(getattr(handler, "__func__", None), "__code__", None)
        if isinstance(code, CodeType):
            codes.add(code)
    return codes


def _from_signal_handler(frame: FrameType | None) -> bool:
    """Whether a Python signal handler stands between ``frame`` and the sink hook it interrupted."""
    codes = _signal_handler_codes()
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _signal_interrupted_drain(frame: FrameType | None) -> bool:
    """Whether a Python signal handler stands between ``frame`` and the :func:`_drain` below it:
    the alert then interrupted a deferred alert's delivery and is no child of it."""
    codes = _signal_handler_codes()
    while frame is not None:
        if frame.f_code in codes:
            return True
        if frame.f_code is _drain.__code__:
            return False
        frame = frame.f_back
    return False


def defer(deliver: Callable[[Alert, str | None], None], alert: Alert) -> None:
    """Queue ``alert`` for the outermost tocsin call of this process to deliver. Takes no lock."""
    global dropped_loops
    generation = _state.generation + 1
    if generation > 1 and _signal_interrupted_drain(sys._getframe(1)):
        # A burst of signals landing while deferred alerts are delivered (a slow, durable sink)
        # would otherwise build chains "more than MAX_GENERATIONS deep" and drop them as a loop.
        generation = 1
    if generation > MAX_GENERATIONS:
        dropped_loops += 1  # counted here, logged at drain: logging now could take a held lock
        return
    exclude = _state.sink
    if exclude is not None and _from_signal_handler(sys._getframe(1)):
        exclude = None
    _deferred.append(Deferred(deliver, alert, exclude, generation))


def _drain() -> None:
    global dropped_loops
    while True:
        try:
            item = _deferred.popleft()
        except IndexError:
            break
        previous, _state.generation = _state.generation, item.generation
        try:
            item.deliver(item.alert, item.exclude)
        finally:
            _state.generation = previous
    if dropped_loops:
        count, dropped_loops = dropped_loops, 0
        from ._log import diagnostic

        diagnostic("warning", "tocsin.alert_loop_dropped", alerts=count,
                   note=f"alerts raised while delivering alerts, more than {MAX_GENERATIONS} deep")


@contextlib.contextmanager
def entered() -> Iterator[None]:
    """Mark this thread as inside tocsin; the outermost call delivers what was deferred meanwhile."""
    _state.depth += 1
    try:
        yield
    finally:
        if _state.depth == 1:
            try:
                _drain()
            finally:
                _state.depth = 0
            # A signal may land between the drain and the line above: deliver it now, outside.
            if _deferred:
                with entered():
                    pass
        else:
            _state.depth -= 1

