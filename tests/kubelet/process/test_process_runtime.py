"""ProcessRuntime with real processes: volumes, exit codes, stop signals, events, hygiene, failure modes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from kubelab.clock import SystemClock
from kubelab.kubelet.process import ProcessRuntime, fs, process_runtime_unavailable_reason
from kubelab.kubelet.process.proc import LIVE
from kubelab.kubelet.runtime import CONTAINER_RUNNING, ContainerConfig, ContainerEvent, CRIError, Mount
from tests.kubelet.process.helpers import exited, pids_in_group, run, runtime, sandbox, until

pytestmark = pytest.mark.skipif(process_runtime_unavailable_reason() is not None,
                                reason=str(process_runtime_unavailable_reason()))


def test_two_containers_share_an_empty_dir_and_nothing_appears_on_the_host(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    assert not os.path.exists("/data")

    async def main() -> None:
        async with runtime(tmp_path / "rt") as rt:
            pod = await sandbox(rt)
            mounts = [Mount("/data", str(vol))]
            w = await run(rt, ["sh", "-c", "echo from-writer > /data/msg; ls -l /data/msg; sleep 30"], name="writer",
                          mounts=mounts, pod=pod)
            r = await run(rt, ["sh", "-c", "until [ -f /data/msg ]; do sleep 0.05; done; cat /data/msg"],
                          name="reader", mounts=mounts, pod=pod)
            assert await exited(rt, r) == 0
            assert [e.line async for e in rt.logs(r)] == ["from-writer"]
            assert not os.path.exists("/data")  # proot fakes the mount point (in the container's own rootfs)
            lines = [e.line async for e in rt.logs(w)]
            assert lines and lines[0].startswith("-rw") and lines[0].endswith("/data/msg")  # statx works
            assert (vol / "msg").read_text() == "from-writer\n"
            await rt.stop_container(w, 0)  # SIGKILL: proot still cleans up after itself

    asyncio.run(main())
    assert not os.path.exists("/data")


@pytest.mark.parametrize(("script", "code", "reason"), [
    ("exit 3", 3, "Error"), ("true", 0, "Completed"), ("kill -9 $$", 137, "Error"), ("kill -TERM $$", 143, "Error")])
def test_exit_codes_are_the_real_ones(tmp_path: Path, script: str, code: int, reason: str) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sh", "-c", script])
            assert await exited(rt, cid) == code
            st = await rt.container_status(cid)
            assert st.reason == reason and st.started_at is not None and st.finished_at is not None

    asyncio.run(main())


def test_main_process_exit_ends_the_container_and_its_children(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sh", "-c", "sleep 60 & sleep 0.2; exit 4"])
            assert await exited(rt, cid, timeout=5) == 4

    asyncio.run(main())


def test_stop_sends_sigterm_then_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            plain = await run(rt, ["sleep", "3600"], name="plain")
            handler = await run(rt, ["sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.05; done"],
                                name="handler")
            stubborn = await run(rt, ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"],
                                 name="stubborn")

            async def ready() -> bool:
                return [e.line async for e in rt.logs(stubborn)] == ["ready"]
            await until(ready)
            await asyncio.sleep(0.1)  # the handler's trap is set
            await asyncio.gather(rt.stop_container(plain, 5), rt.stop_container(handler, 5))
            assert (await rt.container_status(plain)).exit_code == 143
            assert (await rt.container_status(handler)).exit_code == 0
            assert [e.line async for e in rt.logs(handler)] == ["bye"]
            await rt.stop_container(stubborn, 0.3)
            st = await rt.container_status(stubborn)
            assert (st.exit_code, st.reason) == (137, "Error")

    asyncio.run(main())


def test_events_and_stop_pod_sandbox(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            events: list[ContainerEvent] = []
            rt.subscribe(events.append)
            sid, sb = await sandbox(rt)
            cid = await run(rt, ["sleep", "3600"], pod=(sid, sb))
            assert (await rt.container_status(cid)).state == CONTAINER_RUNNING
            assert (await rt.pod_sandbox_status(sid)).ip.startswith("127.244.9.")
            await rt.stop_pod_sandbox(sid)
            await rt.remove_pod_sandbox(sid)
            assert [e.type for e in events] == ["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT",
                                                "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"]

    asyncio.run(main())


def test_command_not_found_is_a_start_error(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            with pytest.raises(CRIError, match='exec: "no-such-tool": executable file not found in \\$PATH'):
                await run(rt, ["no-such-tool"])
            st = (await rt.list_containers())[0]
            assert (st.exit_code, st.reason) == (128, "StartError")

    asyncio.run(main())


def test_memory_limit_is_enforced_as_rlimit_data(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["python3", "-c", "b = bytearray(200 * 1024 * 1024)"], image="python",
                            memory_limit=64 * 1024 * 1024)
            assert await exited(rt, cid, timeout=20) == 1
            assert [e.line async for e in rt.logs(cid)][-1] == "MemoryError"

    asyncio.run(main())


def test_pod_cidr_must_be_loopback(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            rt.update_runtime_config("10.244.1.0/24")
            with pytest.raises(CRIError, match="needs a pod CIDR inside 127.0.0.0/8"):
                await sandbox(rt)

    asyncio.run(main())


def test_proot_missing_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            sid, sb = await sandbox(rt)
            await rt.pull_image("busybox")
            cid = await rt.create_container(sid, ContainerConfig("c", "busybox", command=["true"]), sb)
            monkeypatch.setattr(fs, "PROOT", str(tmp_path / "no-proot"))
            with pytest.raises(CRIError, match="proot is not installed .*apt-get install proot"):
                await rt.start_container(cid)
            assert (await rt.container_status(cid)).reason == "StartError"
            with pytest.raises(RuntimeError, match="scripts/setup.sh"):
                ProcessRuntime(SystemClock(), root_dir=tmp_path / "other")

    asyncio.run(main())
    assert "proot is not installed" in str(fs.unavailable_reason())


def test_shutdown_kills_every_process_group(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cids = [await run(rt, ["sh", "-c", "sleep 3600 & sleep 3600"], name=f"c{i}") for i in range(3)]
            web = await run(rt, [], image="nginx", name="web")
            session = await rt.exec(cids[0], ["sleep", "3600"])
            groups = [rt._containers[c].group.pid for c in cids]  # type: ignore[union-attr]
            groups.append(session.group.pid)  # type: ignore[attr-defined]

            async def started() -> bool:
                return all(len(pids_in_group(g)) >= 2 for g in groups)
            await until(started)
            assert len(LIVE) >= 4
            rt.shutdown()
            rt.shutdown()
            assert all(pids_in_group(g) == [] for g in groups)
            assert not LIVE
            assert web

    asyncio.run(main())


def test_orphans_of_a_main_process_that_exited_at_once_do_not_keep_the_container(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sh", "-c", "sleep 60 & exit 4"])
            assert await exited(rt, cid, timeout=5) == 4

    asyncio.run(main())


def test_nested_mount_points_work_in_overlapping_containers_and_leave_nothing_on_the_host(tmp_path: Path) -> None:
    vol = tmp_path / "cfg"
    vol.mkdir()
    (vol / "app.conf").write_text("x=1\n")
    target = "/etc/kubelab-test-config"
    assert not os.path.exists(target)

    async def main() -> None:
        async with runtime(tmp_path / "rt") as rt:
            mounts = [Mount(target, str(vol))]
            first = await run(rt, ["sleep", "0.6"], name="first", mounts=mounts)
            await asyncio.sleep(0.2)  # (its proot has started)
            long = await run(rt, ["sh", "-c", f"sleep 1.5; ls {target}"], name="long", mounts=mounts)
            assert await exited(rt, first) == 0
            assert await exited(rt, long) == 0
            assert [e.line async for e in rt.logs(long)] == ["app.conf"]

    asyncio.run(main())
    assert not os.path.exists(target)
