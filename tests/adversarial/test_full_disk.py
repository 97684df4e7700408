"""Item 5 of issue 9: a real full filesystem (a 64 KiB tmpfs) under the file sink.

A write that the disk cuts short leaves half a line; the next alert must start on a fresh line
rather than being glued to it. Mounting needs root: the test is skipped, saying so, elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(20)
RunPy = Callable[..., subprocess.CompletedProcess[str]]

LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \[(INFO|WARNING|CRITICAL)\] [^\[]*$")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                           capture_output=True, text=True, timeout=10)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


SCRIPT = """
import os, sys
from pathlib import Path
import tocsin

mnt = Path(sys.argv[1])
filler = mnt / "filler"
with open(filler, "wb", buffering=0) as f:  # fill the filesystem to the last byte
    try:
        while True:
            f.write(b"x" * 4096)
    except OSError:
        pass
os.truncate(filler, max(0, filler.stat().st_size - 4096))  # free one page: 3 lines and a bit
for i in range(8):
    tocsin.emit_alert("warning", f"fill {i}", "m" * 1000)
filler.unlink()  # space again
for i in range(3):
    tocsin.emit_alert("warning", f"afterfree {i}", "ok")
st = tocsin.get_default_emitter().stats()["sinks"]["file"]
print(st["written"], st["failures"])
"""


def test_after_a_short_write_on_a_full_disk_the_next_line_starts_fresh(tiny_fs: Path, run_py: RunPy) -> None:
    log = tiny_fs / "alerts.log"
    run = run_py(SCRIPT, str(tiny_fs), env={"TOCSIN_ENABLE": "file", "ATOCORE_ALERT_LOG": str(log)})
    assert run.returncode == 0, run.stderr
    written, failures = map(int, run.stdout.split())
    assert failures >= 1  # the disk did fill up
    lines = log.read_text().splitlines()
    whole = [line for line in lines if LINE.match(line) and line.endswith((": ok", ": " + "m" * 1000))]
    assert len(whole) == written  # every line counted written is whole...
    assert [line for line in lines if "afterfree" in line] == [
        line for line in whole if "afterfree" in line]  # ...and none glued to a fragment
    assert sum("afterfree" in line for line in whole) == 3
    assert len(lines) - len(whole) <= 1  # at most the one fragment the disk cut
    assert all(line.count("[WARNING]") <= 1 for line in lines)
