"""The kubelet side of exec/attach/port-forward (kubelab.kubelet.streaming): which container or sandbox, and the
words of each failure, with small fakes for the kubelet, its pod worker and its runtime."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.kubelet.runtime import CONTAINER_EXITED, CONTAINER_RUNNING, CRIError
from kubelab.kubelet.streaming import make_attach_provider, make_exec_provider, make_portforward_provider

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {"nodeName": "n1"}}


class FakeRuntime:
    real = False

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[Any, ...]] = []

    async def exec(self, cid: str, cmd: list[str], tty: bool = False, stdin: bool = False) -> str:
        self.calls.append(("exec", cid, cmd, tty, stdin))
        if self.error:
            raise self.error
        return "session"

    async def attach(self, cid: str, tty: bool = False, stdin: bool = False) -> str:
        self.calls.append(("attach", cid, tty, stdin))
        if self.error:
            raise self.error
        return "attached"

    async def port_forward(self, sid: str, port: int) -> Any:
        self.calls.append(("port_forward", sid, port))
        if self.error:
            raise self.error
        raise ConnectionRefusedError(111, "Connection refused")


def kubelet(runtime: FakeRuntime, *, running: bool = True, states: tuple[str, ...] = (CONTAINER_RUNNING,),
            sandbox: str | None = "sb1") -> Any:
    attempts = {"main": [SimpleNamespace(id=f"c{i}", state=s) for i, s in enumerate(states)]}
    worker = SimpleNamespace(attempts=attempts, sandbox_id=sandbox, sandbox_ready=sandbox is not None)
    return SimpleNamespace(running=running, spec=SimpleNamespace(internal_ip="172.18.0.3"), runtime=runtime,
                           worker_for_pod=lambda pod: worker)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_exec_reaches_the_running_instance() -> None:
    rt = FakeRuntime()
    provider = make_exec_provider({"n1": kubelet(rt, states=(CONTAINER_EXITED, CONTAINER_RUNNING))})
    assert run(provider(POD, "main", ["ls"], True, False)) == "session"
    assert rt.calls == [("exec", "c1", ["ls"], True, False)]
    attach = make_attach_provider({"n1": kubelet(rt)})
    assert run(attach(POD, "main", False, True)) == "attached"


@pytest.mark.parametrize(("kl", "message"), [
    (None, "error dialing backend: dial tcp n1:10250: connect: connection refused"),
    (kubelet(FakeRuntime(), running=False), "error dialing backend: dial tcp 172.18.0.3:10250: connect: "
                                            "connection refused"),
    (kubelet(FakeRuntime(), states=(CONTAINER_EXITED,)),
     'unable to upgrade connection: container not found ("main")'),
    (kubelet(FakeRuntime(CRIError("Unimplemented", "needs the process runtime"))),
     "unable to upgrade connection: rpc error: code = Unimplemented desc = needs the process runtime"),
    (kubelet(FakeRuntime(CRIError("Unknown", 'failed to exec in container: exec: "nope": not found'))),
     'error executing command in container: failed to exec in container: exec: "nope": not found'),
])
def test_exec_failures(kl: Any, message: str) -> None:
    provider = make_exec_provider({"n1": kl} if kl is not None else {})
    with pytest.raises(ApiError) as e:
        run(provider(POD, "main", ["ls"], False, False))
    assert e.value.message == message


def test_port_forward_checks_the_sandbox_then_dials() -> None:
    no_sandbox = make_portforward_provider({"n1": kubelet(FakeRuntime(), sandbox=None)})
    with pytest.raises(ApiError) as e:
        run(no_sandbox(POD))
    assert e.value.message == 'unable to upgrade connection: pod not found ("web_default")'

    simulated = make_portforward_provider({"n1": kubelet(FakeRuntime(CRIError("Unimplemented", "no processes")))})
    with pytest.raises(ApiError) as e:
        run(simulated(POD))
    assert e.value.message == "unable to upgrade connection: rpc error: code = Unimplemented desc = no processes"

    async def refused() -> str:
        dialer = await make_portforward_provider({"n1": kubelet(FakeRuntime())})(POD)
        with pytest.raises(ApiError) as e:
            await dialer.dial(81)
        return e.value.message

    msg = run(refused())
    assert msg.startswith("error forwarding port 81 to pod sb1, uid : failed to execute portforward in network "
                          'namespace "/var/run/netns/cni-')
    assert "dial tcp4 127.0.0.1:81: connect: connection refused" in msg
