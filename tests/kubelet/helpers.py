"""Shared set-up for kubelet tests: a Harness (real registry, FakeClock), one kubelet, an admin client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from kubernetes.client import ApiClient

from kubelab.client import Client
from kubelab.config import LabConfig
from kubelab.kubelet import Kubelet, NodeSpec
from tests.harness import Harness

Obj = dict[str, Any]
NODE = "node-1"


class Lab:
    def __init__(self, config: LabConfig | None = None, static_pods: list[Obj] | None = None,
                 spec: NodeSpec | None = None) -> None:
        self.h = Harness(config=config)
        self.admin: Client = self.h.client("admin")
        self.kubelet = Kubelet(self.h.client("kubelet"), spec or NodeSpec(NODE), self.h.config, trace=self.h.trace,
                               static_pods=static_pods or [])
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.kubelet.run())
        await self.h.settle()

    async def stop(self) -> None:
        self.kubelet.close()
        if self.task is not None:
            self.task.cancel()
        await self.h.settle()

    async def advance(self, seconds: float) -> None:
        await self.h.advance(seconds)

    def run_pod(self, name: str, containers: list[Obj], namespace: str = "default", **spec: Any) -> Obj:
        pod = self.admin.create("pods", {"metadata": {"name": name}, "spec": {"containers": containers, **spec}},
                                namespace=namespace)
        self.admin.bind(namespace, name, self.kubelet.name)
        return pod

    def pod(self, name: str, namespace: str = "default") -> Obj | None:
        return self.admin.try_get("pods", name, namespace)

    def live(self, name: str, namespace: str = "default") -> Obj:
        """The pod, which must exist."""
        pod = self.pod(name, namespace)
        assert pod is not None, f"pod {name} is gone"
        return pod

    def status(self, name: str, namespace: str = "default") -> Obj:
        return self.live(name, namespace).get("status") or {}

    def container(self, name: str, index: int = 0, init: bool = False) -> Obj:
        key = "initContainerStatuses" if init else "containerStatuses"
        return self.status(name)[key][index]

    def events(self, name: str, namespace: str = "default") -> list[Obj]:
        evs = self.admin.list("events", namespace, field_selector=f"involvedObject.name={name}")
        return sorted(evs, key=lambda e: int(e["metadata"]["resourceVersion"]))

    def reasons(self, name: str, namespace: str = "default") -> list[str]:
        return [e["reason"] for e in self.events(name, namespace)]

    def condition(self, name: str, type_: str) -> Obj:
        return next(c for c in self.status(name)["conditions"] if c["type"] == type_)


def official(obj: Obj, model: str) -> Any:
    """Deserialize with the official client (strict pydantic models): proves the object's shape is right."""
    return ApiClient().deserialize(json.dumps(obj), model, "application/json")


def scenario(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(fn())


async def collect(it: Any) -> bytes:
    out = b""
    async for chunk in it:
        out += chunk
    return out
