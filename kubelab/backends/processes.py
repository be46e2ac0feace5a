"""Finding a cluster's processes by its marker, so none outlives the cluster.

A process cluster keeps each node's files under ``<root>/nodes/<node>`` (``ControlPlane.root_dir``); every
container process is started with such a path in its command line or environment (the runtime roots its sandbox
there), so ``<root>/nodes/`` is the cluster's marker (``ControlPlane.marker``): ``find(marker)`` lists the
processes carrying it (Linux ``/proc``), ``reap(marker)`` kills those a runtime lost track of, after its own
``shutdown()``. Only processes of the same user are looked at, and the marker is a directory kubelab made, so no
unrelated process matches it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def _carries(pid: int, marker: bytes) -> bool:
    proc = Path("/proc") / str(pid)
    for part in ("cmdline", "environ"):
        try:
            if marker in (proc / part).read_bytes():
                return True
        except OSError:  # gone, or not ours to read
            continue
    return False


def find(marker: str) -> list[int]:
    """Live processes (not zombies) of this user, other than this one, whose command line or environment
    contains ``marker``."""
    if not marker:
        return []
    want = marker.encode()
    me, uid = os.getpid(), os.getuid()
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no procfs (macOS): nothing can be checked
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("Z", "X"):
            continue
        if _carries(pid, want):
            found.append(pid)
    return sorted(found)


def reap(marker: str, grace: float = 1.0) -> list[int]:
    """SIGTERM the processes carrying ``marker``, SIGKILL those left after ``grace`` seconds; returns their
    pids."""
    pids = find(marker)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = pids
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = set(find(marker))  # zombies do not count: their parent (the runtime) collects them
        left = [p for p in left if p in alive]
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids
