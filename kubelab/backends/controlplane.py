"""Everything of a cluster besides the API server: a kubelet per node, the scheduler, the controller manager,
and kind's add-ons, all as tasks on the API server's event loop talking to it through the in-process client.

Failure injection for lessons: ``stop_kubelet(node)`` silences a node (no heartbeats, no pod handling), as if
its machine died; ``start_kubelet(node)`` brings it back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import logging
import pkgutil
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.apiserver.context import ServerContext
from kubelab.backends import addons
from kubelab.backends.kindconfig import ClusterPlan, NodePlan
from kubelab.client import Client, InformerFactory
from kubelab.config import LabConfig
from kubelab.controllers.runner import Controller

log = logging.getLogger(__name__)


def controller_classes() -> list[type[Controller]]:
    """Every Controller in kubelab.controllers (one module per controller, as kube-controller-manager's)."""
    import kubelab.controllers as pkg

    found: list[type[Controller]] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in ("runner",):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if (issubclass(cls, Controller) and cls is not Controller and cls.__module__ == mod.__name__
                    and cls.sync is not Controller.sync and not inspect.isabstract(cls)):
                found.append(cls)
    return sorted(found, key=lambda c: c.name)


def node_spec(node: NodePlan) -> Any:
    """The kubelet's NodeSpec for a node of the cluster plan (kindconfig owns kind's naming and addressing)."""
    from kubelab.kubelet import NodeSpec

    return NodeSpec(name=node.name, role=node.role, labels=dict(node.labels), taints=list(node.taints),
                    capacity=dict(node.capacity), pod_cidr=node.pod_cidr, internal_ip=node.internal_ip)


class ControlPlane:
    def __init__(self, ctx: ServerContext, plan: ClusterPlan, config: LabConfig | None = None) -> None:
        self.ctx = ctx
        self.plan = plan
        self.config = config or LabConfig()
        self.trace = ctx.trace
        self.informers = InformerFactory(Client(ctx, "informers"))
        self.kubelets: dict[str, Any] = {}
        self.scheduler: Any = None
        self.controllers: list[Controller] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self, manager: str) -> Client:
        return Client(self.ctx, manager)

    async def start(self) -> None:
        from kubelab.apiserver.admission import install as install_admission
        from kubelab.kubelet import Kubelet, make_log_provider
        from kubelab.scheduler import Scheduler

        install_admission(self.ctx, self.config)  # idempotent: the embedded server installs them too
        cp = self.plan.control_plane
        for node in self.plan.nodes:
            spec = node_spec(node)
            static = addons.static_pods(node.internal_ip, self.plan.name) if node.role == "control-plane" else []
            self.kubelets[node.name] = Kubelet(self.client("kubelet"), spec, self.config, self.trace,
                                               static_pods=static)
        self.ctx.log_provider = make_log_provider(self.kubelets)
        self.scheduler = Scheduler(self.client("default-scheduler"), self.informers, self.config, self.trace)
        for cls in controller_classes():
            manager = getattr(cls, "manager", "") or f"{cls.name}-controller"
            self.controllers.append(cls(self.client(manager), self.informers, self.config, self.trace))
        self.informers.start()
        loop = self._loop = asyncio.get_running_loop()
        for name, kl in self.kubelets.items():
            self._tasks.append(loop.create_task(kl.run(), name=f"kubelet-{name}"))
        self._tasks.append(loop.create_task(self.scheduler.run(), name="scheduler"))
        for c in self.controllers:
            self._tasks.append(loop.create_task(c.run(), name=f"controller-{c.name}"))
        # the nodes exist before the cluster reports ready (kubectl get nodes right after `up`)
        for _ in range(200):
            if all(self.client("kubelab").try_get("nodes", n.name) for n in self.plan.nodes):
                break
            await asyncio.sleep(0.01)
        self._apply_addons(cp.name)

    def _apply_addons(self, control_plane: str) -> None:
        c = self.client("kubeadm")
        for obj in addons.workloads():
            resource = {"ConfigMap": "configmaps", "ServiceAccount": "serviceaccounts", "Namespace": "namespaces",
                        "DaemonSet": "daemonsets.apps", "Deployment": "deployments.apps"}[obj["kind"]]
            try:
                c.create(resource, obj, namespace=obj["metadata"].get("namespace"))
            except ApiError as e:
                if e.code != 409:
                    log.warning("add-on %s/%s: %s", obj["kind"], obj["metadata"]["name"], e.message)

    # ---------------------------------------------------------------------------------------- failures
    def stop_kubelet(self, node: str) -> None:
        """Silence a node's kubelet (callable from any thread, e.g. a notebook cell)."""
        self._on_loop(self.kubelets[node].stop)

    def start_kubelet(self, node: str) -> None:
        self._on_loop(self.kubelets[node].restart)

    def _on_loop(self, fn: Any) -> None:
        """Run ``fn`` on the cluster's event loop and wait for it: components are not thread-safe."""
        loop = self._loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or current is loop:
            fn()
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def call() -> None:
            try:
                fn()
                done.set_result(None)
            except BaseException as e:  # report to the calling thread
                done.set_exception(e)

        loop.call_soon_threadsafe(call)
        done.result(10)

    async def stop(self) -> None:
        for c in self.controllers:
            c.shutdown()
        for kl in self.kubelets.values():
            try:
                kl.stop()
            except Exception:  # stopping is best effort
                pass
        self.informers.stop()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
