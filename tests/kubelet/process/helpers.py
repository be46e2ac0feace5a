"""Shared setup for the process runtime tests: a runtime on a SystemClock in a temp dir, and bounded waits."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from kubelab.clock import SystemClock
from kubelab.kubelet.process import ProcessRuntime
from kubelab.kubelet.process.proc import LIVE
from kubelab.kubelet.runtime import CONTAINER_EXITED, ContainerConfig, Mount, PodSandboxConfig

CIDR = "127.244.9.0/24"


@asynccontextmanager
async def runtime(root: Path) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(SystemClock(), name="test-node", root_dir=root)
    rt.update_runtime_config(CIDR)
    try:
        yield rt
    finally:
        rt.shutdown()
        rt.shutdown()  # idempotent
    assert not LIVE, f"process groups left behind: {LIVE}"


async def sandbox(rt: ProcessRuntime, name: str = "p") -> tuple[str, PodSandboxConfig]:
    sb = PodSandboxConfig(name=name, namespace="default", uid=f"uid-{name}")
    return await rt.run_pod_sandbox(sb), sb


async def run(rt: ProcessRuntime, command: list[str], *, image: str = "busybox", name: str = "c",
              mounts: list[Mount] | None = None, pod: tuple[str, PodSandboxConfig] | None = None,
              **kw: object) -> str:
    sid, sb = pod or await sandbox(rt)
    await rt.pull_image(image)
    cfg = ContainerConfig(name=name, image=image, command=command, mounts=mounts or [], **kw)  # type: ignore[arg-type]
    cid = await rt.create_container(sid, cfg, sb)
    await rt.start_container(cid)
    return cid


async def until(cond: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async def loop() -> None:
        while not await cond():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(loop(), timeout)


async def exited(rt: ProcessRuntime, cid: str, timeout: float = 10.0) -> int:
    async def done() -> bool:
        return (await rt.container_status(cid)).state == CONTAINER_EXITED
    await until(done, timeout)
    return (await rt.container_status(cid)).exit_code


def pids_in_group(pgid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != b"Z":
                out.append(int(d))
    return out
