"""A kubelet driving a "real" runtime on a FakeClock: the simulated runtime with ``real = True``, recording the
container configs it is given and answering exec probes from a programmable table; a tiny HTTP server for
httpGet probes. Pods get loopback addresses (127.244.1.x) so probes can really connect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubelab.clock import Clock
from kubelab.config import LabConfig
from kubelab.kubelet import Kubelet, NodeSpec
from kubelab.kubelet.runtime import ContainerConfig, CRIError, PodSandboxConfig, SimulatedRuntime
from tests.kubelet.helpers import NODE, Lab

Obj = dict[str, Any]
ExecFn = Callable[[list[str]], tuple[int, str]]
POD_CIDR = "127.244.1.0/24"
FIRST_POD_IP = "127.244.1.2"


class RealDouble(SimulatedRuntime):
    """The simulated runtime posing as a real one: the kubelet prepares volumes and probes for it."""

    real = True

    def __init__(self, clock: Clock, config: LabConfig | None = None, **kw: Any) -> None:
        super().__init__(clock, config, **kw)
        self.configs: dict[str, ContainerConfig] = {}
        self.exec_handlers: dict[str, ExecFn] = {}  # container name -> handler
        self.execs: list[tuple[str, list[str]]] = []

    async def create_container(self, sandbox_id: str, config: ContainerConfig,
                               sandbox_config: PodSandboxConfig) -> str:
        cid = await super().create_container(sandbox_id, config, sandbox_config)
        self.configs[cid] = config
        return cid

    def config_of(self, name: str, attempt: int = 0) -> ContainerConfig:
        return next(c for c in self.configs.values() if c.name == name and c.attempt == attempt)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        c = self._container(container_id)
        if c.status.state != "CONTAINER_RUNNING":
            raise CRIError("Unknown", f"container {container_id} is not running")
        self.execs.append((c.config.name, cmd))
        handler = self.exec_handlers.get(c.config.name)
        if handler is None:
            return 0, b"", b""
        code, out = handler(cmd)
        return code, out.encode(), b""


class RealLab(Lab):
    def __init__(self, root: Path, config: LabConfig | None = None, pod_cidr: str = POD_CIDR) -> None:
        super().__init__(config, spec=NodeSpec(NODE, pod_cidr=pod_cidr))
        self.runtime = RealDouble(self.h.clock, self.h.config, name=NODE)
        self.root = root
        self.kubelet = Kubelet(self.h.client("kubelet"), NodeSpec(NODE, pod_cidr=pod_cidr), self.h.config,
                               trace=self.h.trace, runtime=self.runtime, root_dir=root)

    def pod_dir(self, name: str, namespace: str = "default") -> Path:
        return self.root / "pods" / self.live(name, namespace)["metadata"]["uid"]

    def messages(self, name: str, reason: str) -> list[str]:
        return [e["message"] for e in self.events(name) if e["reason"] == reason]


class HttpServer:
    """Answers every request with ``self.status``; counts requests and keeps their raw heads."""

    def __init__(self, host: str = FIRST_POD_IP) -> None:
        self.host = host
        self.status = 200
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HttpServer:
        self.server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = await reader.readline()
            if not line:
                break
            head += line
        self.requests.append(head.decode())
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()


async def until(lab: Lab, cond: Callable[[], bool], seconds: float = 30.0, step: float = 0.1) -> None:
    """Advance the fake clock in small steps until ``cond`` holds (at most ``seconds`` of fake time)."""
    waited = 0.0
    while not cond():
        assert waited < seconds, "condition not reached"
        await lab.advance(step)
        await asyncio.sleep(0.001)  # real sockets (probes) need a moment of real time
        waited += step
