"""kubectl logs through the log provider: tailLines, timestamps, previous, follow, and the kubelet's 400s."""

from __future__ import annotations

import asyncio
import re

import pytest

from kubelab.api.errors import ApiError
from kubelab.kubelet import make_log_provider
from tests.kubelet.helpers import NODE, Lab, collect, scenario

TICKER = [{"name": "c", "image": "busybox", "command": ["sh", "-c", "while true; do echo tick $(date); sleep 1; done"]}]


def test_tail_lines_timestamps_and_follow() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("ticker", TICKER)
        await lab.advance(3.5)
        logs = make_log_provider({NODE: lab.kubelet})
        pod = lab.live("ticker")
        lines = (await collect(logs(pod, "c", {}))).decode().splitlines()
        assert len(lines) == 4 and all(line.startswith("tick ") and line.endswith(" UTC 2026") for line in lines)
        assert len((await collect(logs(pod, "c", {"tailLines": "2"}))).decode().splitlines()) == 2
        stamped = (await collect(logs(pod, "c", {"tailLines": "1", "timestamps": "true"}))).decode()
        assert re.fullmatch(r"2026-01-01T00:00:03(\.\d{1,9})?Z tick Thu Jan  1 00:00:03 UTC 2026\n", stamped)
        assert (await collect(logs(pod, "c", {"limitBytes": "3"}))) == b"tic"
        # follow: keeps streaming until the container stops
        got: list[bytes] = []

        async def follow() -> None:
            async for chunk in logs(pod, "c", {"follow": "true", "tailLines": "0"}):
                got.append(chunk)

        task = asyncio.create_task(follow())
        await lab.advance(2.0)
        assert len(got) == 2 and not task.done()
        lab.admin.delete("pods", "ticker", "default")
        await lab.advance(2.0)
        assert task.done()
        await lab.stop()

    scenario(run)


def test_previous_and_waiting_errors() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("crash", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "echo oops; exit 1"]}])
        lab.run_pod("bad", [{"name": "c", "image": "nginx:nope"}])
        lab.run_pod("web", [{"name": "c", "image": "nginx"}])
        logs = make_log_provider({NODE: lab.kubelet})
        with pytest.raises(ApiError) as e:
            logs(lab.live("web"), "c", {})
        assert e.value.code == 400
        assert e.value.message == 'container "c" in pod "web" is waiting to start: ContainerCreating'
        await lab.advance(3)
        assert (await collect(logs(lab.live("crash"), "c", {"previous": "true"}))) == b"oops\n"
        with pytest.raises(ApiError) as e:
            logs(lab.live("bad"), "c", {})
        assert e.value.message in ('container "c" in pod "bad" is waiting to start: image can\'t be pulled',
                                   'container "c" in pod "bad" is waiting to start: trying and failing to pull image')
        with pytest.raises(ApiError) as e:
            logs(lab.live("web"), "c", {"previous": "true"})
        assert e.value.message == 'previous terminated container "c" in pod "web" not found'
        notice = (await collect(logs(lab.live("web"), "c", {}))).decode()
        assert "simulated runtime" in notice and "nginx" in notice
        lab.kubelet.stop()
        with pytest.raises(ApiError) as e:
            logs(lab.live("web"), "c", {})
        assert e.value.code == 500 and "connection refused" in e.value.message
        await lab.stop()

    scenario(run)
