"""Loopback address blocks for process-runtime clusters, one block per running cluster on this machine.

Every process-runtime cluster puts its pods, Services and nodes on 127.0.0.0/8, which the host shares. Two such
clusters with the same addresses would fight over them (two nginx pods on 127.244.1.2:80, two kube-proxies on
127.96.0.1:443), as two kind clusters would if Docker gave them the same network. So each cluster leases a
*slot*: slot 0 has the well-known addresses (pods 127.244.0.0/16, Services 127.96.0.0/16, nodes 127.18.0.N);
slot k shifts them (pods 127.(244-k).0.0/16, Services 127.(96+k).0.0/16, nodes 127.18.k.N).

A lease is an exclusive ``flock`` on ``<tmp>/kubelab-netslots/<k>.lock``, held for the cluster's life: the
kernel drops it when the holder exits, however it ends, so a crashed lab never leaks its block. Leases are per
open file, so two clusters in one process get different slots too.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SLOTS = 32  # 127.96..127.127 for Services, 127.213..127.244 for pods: disjoint


@dataclass
class Slot:
    index: int
    fd: int

    @property
    def pod_subnet(self) -> str:
        return f"127.{244 - self.index}.0.0/16"

    @property
    def service_subnet(self) -> str:
        return f"127.{96 + self.index}.0.0/16"

    @property
    def node_prefix(self) -> str:
        return f"127.18.{self.index}."

    def release(self) -> None:
        if self.fd >= 0:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = -1


def slot_dir() -> Path:
    """Shared by every user of the machine (their clusters share the loopback too): world-writable and sticky."""
    d = Path(tempfile.gettempdir()) / "kubelab-netslots"
    try:
        d.mkdir()
        d.chmod(0o1777)  # mkdir's mode is cut by the umask
    except FileExistsError:
        pass
    return d


def lease() -> Slot:
    """The lowest free slot, held until ``release()`` (or the process's exit)."""
    d = slot_dir()
    for k in range(SLOTS):
        path = d / f"{k}.lock"
        try:  # flock needs only a readable descriptor: another user's lock file works as well as ours
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:  # cannot even read it: count the block as taken rather than risk sharing it
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return Slot(k, fd)
    raise RuntimeError(f"all {SLOTS} loopback address blocks for process-runtime clusters are in use on this "
                       "machine: delete a cluster (kubelab down / delete_cluster) first")
