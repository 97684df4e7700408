"""The file sink: one O_APPEND write per alert, reopened when the file is rotated away."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

from tocsin import Alert, SinkSettings, hookimpl

from ._format import format_jsonl, format_text

__all__ = ["FileSink"]

_FORMATS: dict[str, Callable[[Alert], str]] = {"text": format_text, "jsonl": format_jsonl}


def _ends_mid_line(path: os.PathLike[str] | str, size: int) -> bool:
    """Whether the file's last byte is not a newline (read once, when the file is opened)."""
    try:
        with open(path, "rb") as f:
            f.seek(size - 1)
            return f.read(1) not in (b"\n", b"")
    except OSError:
        return False  # unreadable (write-only log, a device): assume a clean end


class FileSink:
    """Appends each alert to a file as one line; see the package docstring for settings.

    Each line is written with a single ``write(2)`` on a descriptor opened with ``O_APPEND``,
    so lines from many threads and processes never interleave. Before each write the path is
    checked against the open file (as ``logging.handlers.WatchedFileHandler`` does): when a
    rotation tool moved or removed it, the file is reopened at the path.
    """

    def __init__(self, settings: SinkSettings) -> None:
        # $ATOCORE_ALERT_LOG arrives here as `path`: load_config applies it.
        self.path = settings.get_path("path", settings.state_dir() / "alerts.log")
        fmt = settings.get_str("format", "text")
        if fmt not in _FORMATS:
            # A value expanded from ${VAR} may be anything the environment holds: not printed.
            shown = "the value of an environment variable" if "${" in str(settings.get("format")) else repr(fmt)
            settings.problem("format", f"expected 'text' or 'jsonl', got {shown}")
            fmt = "text"
        self.format = fmt
        self._render = _FORMATS[fmt]
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        # The file ends in the middle of a line (a short write on a full disk, or a file that
        # another writer left so): the next line starts with "\n" rather than being glued on.
        self._dirty = False
        self._lock = threading.Lock()
        self.written = 0
        self.last_error: str | None = None
        # A lock held by another thread at fork() would stay held for ever in the child.
        ref = weakref.ref(self)
        def after_fork_in_child() -> None:
            sink = ref()
            if sink is not None:
                sink._lock = threading.Lock()

        os.register_at_fork(after_in_child=after_fork_in_child)

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        st = os.fstat(fd)
        self._ident = (st.st_dev, st.st_ino)
        self._dirty = st.st_size > 0 and _ends_mid_line(self.path, st.st_size)
        return fd

    def _current_fd(self) -> int:
        if self._fd is not None:
            try:
                st = os.stat(self.path)
                moved = (st.st_dev, st.st_ino) != self._ident
            except FileNotFoundError:
                moved = True
            if not moved:
                return self._fd
            os.close(self._fd)
            self._fd = None
        self._fd = self._open()
        return self._fd

    @hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        line = self._render(alert).encode("utf-8")
        try:
            with self._lock:
                fd = self._current_fd()
                prefix = b"\n" if self._dirty else b""
                data = memoryview(prefix + line)
                done = 0
                try:
                    while done < len(data):  # a short write (full disk, signal) leaves the rest to write
                        done += os.write(fd, data[done:])
                except OSError:
                    # Part of this line reached the file: it ends mid-line now. Only the "\n" (or
                    # nothing past it): it ends on a line boundary. Nothing: as it was.
                    if done > len(prefix):
                        self._dirty = True
                    elif done == len(prefix):
                        self._dirty = False
                    raise
                self._dirty = False
                self.written += 1
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise  # tocsin logs it with this sink's name and counts it

    @hookimpl
    def sink_status(self) -> dict[str, object]:
        return {"target": str(self.path), "format": self.format, "written": self.written,
                "delivered": self.written, "last_error": self.last_error}

    @hookimpl
    def sink_close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
