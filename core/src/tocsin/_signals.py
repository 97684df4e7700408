"""An opt-in SIGTERM handler that lets a terminated process deliver what it queued.

By default SIGTERM kills a Python process at once: no ``finally``, no ``atexit``, so the exit
flush never runs and the embedded sinks' background work is lost (docs/exit-paths.md).
:func:`install_sigterm_flush` is the one line that changes that.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any, Final

__all__ = ["install_sigterm_flush"]

_SIGTERM_EXIT_STATUS: Final = 128 + 15
"""What a shell reports for a process killed by SIGTERM; the status the default case exits with."""


def _flush_bounded(timeout: float | None) -> None:
    # In a helper thread, joined with a deadline: the interrupted main thread may hold a lock
    # the flush needs (a signal arrives at any bytecode), and waiting for it here would hang.
    import tocsin

    # Not get_default_emitter(): building an emitter (config, plugins) inside a signal handler
    # is no time to start; with none built yet there is nothing to flush.
    default = getattr(tocsin, "_default", None)
    if default is None:
        return
    budget = default.config.flush_timeout if timeout is None else max(0.0, timeout)
    done = threading.Event()

    def run() -> None:
        try:
            tocsin.flush(timeout)
        finally:
            done.set()

    threading.Thread(target=run, name="tocsin-sigterm-flush", daemon=True).start()
    done.wait(budget + 1.0)


def install_sigterm_flush(timeout: float | None = None) -> None:
    """Make SIGTERM flush tocsin's sinks before the process ends. Call it once, from the main thread.

    - When SIGTERM had its default action (or none was installed from Python), the handler
      raises ``SystemExit(143)``: the interpreter exits normally, so ``finally`` blocks and
      ``atexit`` handlers run, and with them tocsin's exit flush of every emitter (within
      ``flush_timeout``). The exit status is 143, what a shell shows for SIGTERM. A second
      SIGTERM during that exit is ignored, so that it cannot cut the flush short.
    - When the application had its own Python handler, tocsin flushes the default emitter
      (at most ``timeout`` seconds, default ``flush_timeout``), then calls that handler, which
      decides what happens next (it may exit, or carry on shutting down gracefully).
    - When SIGTERM was ignored (``SIG_IGN``), it stays ignored apart from the flush.

    ``timeout`` bounds the flush of the chained and ignored cases. Raises ``ValueError`` when
    called from a thread other than the main thread (a rule of :func:`signal.signal`).
    """
    import signal  # here: `import tocsin` should not pay for building the signal module's enums

    previous = signal.getsignal(signal.SIGTERM)
    if getattr(previous, "_tocsin_sigterm_flush", False):
        return  # installed already: never chain to ourselves

    exiting = False

    def on_sigterm(signum: int, frame: FrameType | None) -> Any:
        nonlocal exiting
        if previous in (signal.SIG_DFL, None):
            if exiting:
                return None  # a second SIGTERM must not cut short the exit flush the first began
            exiting = True
            # Exit as sys.exit would: every atexit handler (tocsin's flush among them) runs.
            # Raised rather than flushed here: unwinding releases any lock the interrupted
            # code held, so the exit flush cannot wait on it.
            sys.exit(_SIGTERM_EXIT_STATUS)
        _flush_bounded(timeout)
        if callable(previous):
            return previous(signum, frame)
        return None  # SIG_IGN: the application chose to survive SIGTERM

    on_sigterm._tocsin_sigterm_flush = True  # type: ignore[attr-defined]  # marks our handler
    signal.signal(signal.SIGTERM, on_sigterm)
