"""The simulated CRI runtime on a FakeClock: programs, stop semantics, sandbox networking, events."""

from __future__ import annotations

import asyncio

import pytest

from kubelab.clock import FakeClock
from kubelab.kubelet.runtime import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    ContainerConfig,
    ContainerEvent,
    CRIError,
    PodSandboxConfig,
    SimulatedRuntime,
)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _advance(clock: FakeClock, seconds: float, step: float = 0.25) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        await _settle()


async def _container(rt: SimulatedRuntime, command: list[str], image: str = "busybox") -> str:
    sb = PodSandboxConfig(name="p", namespace="default", uid="uid-1")
    sid = await rt.run_pod_sandbox(sb)
    await rt.pull_image(image)
    cid = await rt.create_container(sid, ContainerConfig(name="c", image=image, command=command), sb)
    await rt.start_container(cid)
    return cid


def test_loop_keeps_running_and_writing() -> None:
    async def run() -> None:
        clock = FakeClock()
        rt = SimulatedRuntime(clock)
        rt.update_runtime_config("10.244.1.0/24")
        cid = await _container(rt, ["sh", "-c", "while true; do echo tick; sleep 1; done"])
        await _settle()
        await _advance(clock, 5)
        st = await rt.container_status(cid)
        assert st.state == CONTAINER_RUNNING
        lines = [e.line async for e in rt.logs(cid)]
        assert lines == ["tick"] * 6

    asyncio.run(run())


def test_stop_servers_exit_zero_pid1_shells_are_killed_after_timeout() -> None:
    async def run() -> None:
        clock = FakeClock()
        rt = SimulatedRuntime(clock)
        rt.update_runtime_config("10.244.1.0/24")
        events: list[ContainerEvent] = []
        rt.subscribe(events.append)
        web = await _container(rt, [], image="nginx")
        sleeper = await _container(rt, ["sleep", "3600"])
        await rt.stop_container(web, 5)
        assert (await rt.container_status(web)).exit_code == 0
        task = asyncio.create_task(rt.stop_container(sleeper, 1.0))
        await _settle()
        assert (await rt.container_status(sleeper)).state == CONTAINER_RUNNING
        await _advance(clock, 1.0)
        await task
        st = await rt.container_status(sleeper)
        assert st.state == CONTAINER_EXITED and st.exit_code == 137 and st.reason == "Error"
        assert [e.type for e in events if e.container_id == sleeper][-1] == "CONTAINER_STOPPED_EVENT"
        with pytest.raises(CRIError, match="Unimplemented.*process runtime"):
            await rt.exec(web, ["ls"])

    asyncio.run(run())


def test_sandbox_addresses_come_from_the_pod_cidr_and_run_out() -> None:
    async def run() -> None:
        rt = SimulatedRuntime(FakeClock())
        rt.update_runtime_config("10.244.3.0/29")  # .1 is the gateway: .2 .. .6 are for pods
        ids = [await rt.run_pod_sandbox(PodSandboxConfig(name=f"p{i}", namespace="d", uid=str(i))) for i in range(5)]
        ips = [(await rt.pod_sandbox_status(i)).ip for i in ids]
        assert ips == ["10.244.3.2", "10.244.3.3", "10.244.3.4", "10.244.3.5", "10.244.3.6"]
        with pytest.raises(CRIError, match="no IP addresses available in range set: 10.244.3.2-10.244.3.6"):
            await rt.run_pod_sandbox(PodSandboxConfig(name="x", namespace="d", uid="x"))
        await rt.remove_pod_sandbox(ids[1])
        again = await rt.run_pod_sandbox(PodSandboxConfig(name="y", namespace="d", uid="y"))
        assert (await rt.pod_sandbox_status(again)).ip == "10.244.3.3"
        host = await rt.run_pod_sandbox(PodSandboxConfig(name="h", namespace="d", uid="h", host_network=True))
        assert (await rt.pod_sandbox_status(host)).ip == ""

    asyncio.run(run())


def test_create_needs_the_image_and_pull_errors_read_like_grpc() -> None:
    async def run() -> None:
        rt = SimulatedRuntime(FakeClock())
        rt.update_runtime_config("10.244.1.0/24")
        sb = PodSandboxConfig(name="p", namespace="default", uid="u")
        sid = await rt.run_pod_sandbox(sb)
        with pytest.raises(CRIError, match="not found"):
            await rt.create_container(sid, ContainerConfig(name="c", image="alpine:3.20"), sb)
        with pytest.raises(CRIError) as e:
            await rt.pull_image("alpine:0.0.1")
        assert str(e.value).startswith("rpc error: code = NotFound desc = failed to pull and unpack image")
        assert await rt.image_status("registry.k8s.io/pause:3.10") is not None  # kind's preloaded images

    asyncio.run(run())
