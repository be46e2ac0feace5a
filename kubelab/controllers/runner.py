"""The control loop, written once (mirrors the shape of every kube-controller-manager controller).

Informer handlers only enqueue keys; workers pop a key and call ``sync(key)``, which is level-triggered and
idempotent: read the cache, compute desired vs actual, act through the client, write status last. A sync that
raises is retried with per-key exponential backoff; ``requeue_after`` schedules a later look (timers such as
progress deadlines or CronJob schedules), on the injected clock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory, WorkQueue
from kubelab.client.informer import meta_key
from kubelab.config import LabConfig
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class Controller:
    """Subclass: set ``name``, register informer handlers in ``setup`` (calling ``self.enqueue``), and write
    ``sync``. Construct with the shared client, informer factory, lab config and trace bus."""

    name = "controller"
    workers = 1

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        self.client = client
        self.informers = informers
        self.config = config
        self.trace = trace or TraceBus(client.clock)
        self.clock = client.clock
        self.queue = WorkQueue(client.clock)
        self.setup()

    # -- to override ----------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Get informers from ``self.informers`` and add handlers that enqueue keys."""

    async def sync(self, key: str) -> None:
        """Reconcile one object. Raise to retry with backoff."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------------------------------
    def enqueue(self, obj: Obj) -> None:
        self.queue.add(meta_key(obj))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def requeue_after(self, key: str, seconds: float) -> None:
        self.queue.add_after(key, seconds)

    def emit(self, action: str, obj: Obj | None = None, **kw: Any) -> None:
        self.trace.emit(f"controller-manager/{self.name}", action, obj=obj, **kw)

    # -- the loop -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.informers.wait_synced()
        workers = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                if e.code != 409:  # conflicts are routine: we read a stale cache; just retry
                    log.info("%s: sync %s: %s", self.name, key, e.message)
                self.queue.add_rate_limited(key)
            except Exception:
                log.exception("%s: sync %s failed", self.name, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def shutdown(self) -> None:
        self.queue.shutdown()
