"""In-process test harness for control-plane components: a real registry and store, a fake clock, no sockets.

    h = Harness()                       # API server pieces + bootstrap objects, FakeClock
    c = h.client("my-controller")       # kubelab.client.Client with that field manager / event source
    f = h.informers                     # a shared InformerFactory (start it inside the event loop)
    await h.settle()                    # let queued callbacks and tasks run (no clock movement)
    await h.advance(5)                  # move the fake clock 5 s, settling before and after
"""

from __future__ import annotations

import asyncio

from kubelab.api.resources import ResourceRegistry
from kubelab.apiserver.bootstrap import Bootstrap
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.pki import ClusterPKI
from kubelab.apiserver.registry import Registry
from kubelab.client import Client, InformerFactory
from kubelab.clock import FakeClock
from kubelab.config import LabConfig
from kubelab.store import Store
from kubelab.trace import TraceBus

_PKI: ClusterPKI | None = None


class Harness:
    def __init__(self, config: LabConfig | None = None, clock: FakeClock | None = None, seed: int = 1) -> None:
        global _PKI
        self.clock = clock or FakeClock()
        self.config = config or LabConfig()
        store = Store(clock=self.clock)
        resources = ResourceRegistry()
        self.ctx = ServerContext(store=store, resources=resources,
                                 registry=Registry(store, resources, self.clock, seed=seed), clock=self.clock)
        self.trace = self.ctx.trace = TraceBus(self.clock)
        if _PKI is None:
            _PKI = ClusterPKI.generate()
        Bootstrap(self.ctx, _PKI.ca_cert_pem, seed=seed).run(None)
        self.informers = InformerFactory(self.client("informers"))

    def client(self, manager: str) -> Client:
        return Client(self.ctx, manager)

    async def settle(self, rounds: int = 50) -> None:
        """Run ready callbacks and tasks until things quiet down (bounded; never moves the clock)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float, step: float = 0.05) -> None:
        """Move the fake clock forward in small steps, settling between them (timers fire in order)."""
        await self.settle()
        remaining = seconds
        while remaining > 1e-9:
            d = min(step, remaining)
            self.clock.advance(d)
            remaining -= d
            await self.settle(10)
        await self.settle()
