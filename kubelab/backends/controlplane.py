"""Everything of a cluster besides the API server: a kubelet per node, the scheduler, the controller manager,
and kind's add-ons, all as tasks on the API server's event loop talking to it through the in-process client.

Failure injection for lessons: ``stop_kubelet(node)`` silences a node (no heartbeats, no pod handling), as if
its machine died; ``start_kubelet(node)`` brings it back.

With the process runtime (``plan.runtime == "process"``) each node gets its own ``ProcessRuntime`` rooted at
``<data_dir>/nodes/<node>`` (a temporary directory when there is no data dir), and one kube-proxy
(``kubelab.proxy.Proxier``) forwards Service traffic for all nodes, as they share the host's loopback. ``stop()``
stops the proxy, shuts every runtime down (their processes end) and removes the temporary directory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import logging
import os
import pkgutil
import shutil
import tempfile
from pathlib import Path
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
    def __init__(self, ctx: ServerContext, plan: ClusterPlan, config: LabConfig | None = None,
                 data_dir: Path | None = None) -> None:
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
        self.runtimes: dict[str, Any] = {}  # node -> its own container runtime (process clusters)
        self.proxy: Any = None
        self.data_dir = data_dir
        self.root_dir: Path | None = None  # the nodes' directories live here; also marks the cluster's processes
        self._temporary_root = False

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
            static = addons.static_pods(node.internal_ip, self.plan.name, service_subnet=self.plan.service_subnet,
                                        pod_subnet=self.plan.pod_subnet) if node.role == "control-plane" else []
            self.kubelets[node.name] = Kubelet(self.client("kubelet"), spec, self.config, self.trace,
                                               static_pods=static, **self._node_runtime(node.name, Kubelet))
        self.ctx.log_provider = make_log_provider(self.kubelets)
        from kubelab.kubelet import make_attach_provider, make_exec_provider, make_portforward_provider

        self.ctx.exec_provider = make_exec_provider(self.kubelets)
        self.ctx.attach_provider = make_attach_provider(self.kubelets)
        self.ctx.portforward_provider = make_portforward_provider(self.kubelets)
        self.scheduler = Scheduler(self.client("default-scheduler"), self.informers, self.config, self.trace)
        for cls in controller_classes():
            manager = getattr(cls, "manager", "") or f"{cls.name}-controller"
            self.controllers.append(cls(self.client(manager), self.informers, self.config, self.trace))
        if self.plan.runtime == "process":
            self.proxy = self._new_proxy()
        self.informers.start()
        loop = self._loop = asyncio.get_running_loop()
        for name, kl in self.kubelets.items():
            self._tasks.append(loop.create_task(kl.run(), name=f"kubelet-{name}"))
        self._tasks.append(loop.create_task(self.scheduler.run(), name="scheduler"))
        for c in self.controllers:
            self._tasks.append(loop.create_task(c.run(), name=f"controller-{c.name}"))
        if self.proxy is not None:
            self._tasks.append(loop.create_task(self.proxy.run(), name="kube-proxy"))
        # the nodes exist before the cluster reports ready (kubectl get nodes right after `up`)
        for _ in range(200):
            if all(self.client("kubelab").try_get("nodes", n.name) for n in self.plan.nodes):
                break
            await asyncio.sleep(0.01)
        self._apply_addons(cp.name)

    # ---------------------------------------------------------------------------------------- process runtime
    def _node_runtime(self, node: str, kubelet_cls: Any) -> dict[str, Any]:
        """Keyword arguments giving a node's kubelet its own ProcessRuntime (process clusters), else none."""
        if self.plan.runtime != "process":
            return {}
        process_runtime = importlib.import_module("kubelab.kubelet.process").ProcessRuntime
        if self.root_dir is None:
            if self.data_dir is not None:
                self.root_dir = Path(self.data_dir).expanduser().absolute()
            else:
                self.root_dir = Path(tempfile.mkdtemp(prefix=f"kubelab-{self.plan.name}-"))
                self._temporary_root = True
        root = self.root_dir / "nodes" / node
        root.mkdir(parents=True, exist_ok=True)
        runtime = self.runtimes[node] = process_runtime(self.ctx.clock, self.config, name=node, root_dir=root)
        kwargs: dict[str, Any] = {"runtime": runtime}
        if "root_dir" in inspect.signature(kubelet_cls).parameters:
            kwargs["root_dir"] = root
        return kwargs

    def _new_proxy(self) -> Any:
        from kubelab.proxy import Proxier, ProxyConfig

        node_ips = tuple(n.internal_ip for n in self.plan.nodes)
        return Proxier(ProxyConfig(node_ips=node_ips, clock=self.ctx.clock), self.informers, self.trace)

    @property
    def marker(self) -> str:
        """What every container process of this cluster carries in its command line or environment (the nodes'
        directory), or "" for a simulated cluster."""
        return str(self.root_dir / "nodes") + os.sep if self.root_dir is not None else ""

    def crictl(self, node: str, args: list[str], timeout: float = 30.0) -> str:
        """``crictl <args>`` against a node's runtime (callable from any thread)."""
        from kubelab.kubelet.crictl import crictl

        kubelet = self.kubelets.get(node)
        if kubelet is None:
            known = ", ".join(self.kubelets) or "none"
            raise KeyError(f"no node named {node!r} in this cluster (nodes: {known})")
        return crictl(kubelet.runtime, list(args), loop=self._loop, timeout=timeout)

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
        if self.proxy is not None:
            self.proxy.stop()
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
        self.shutdown_runtimes()
        if self._temporary_root and self.root_dir is not None and self.root_dir.exists():
            await asyncio.sleep(0.1)  # let callbacks the runtimes still had queued finish writing, then tidy
            shutil.rmtree(self.root_dir, ignore_errors=True)

    def shutdown_runtimes(self) -> None:
        """End every container process of the cluster (idempotent): each runtime's shutdown(), then any process
        still carrying the cluster's directory (a runtime that lost track of one), then that directory if it was
        temporary."""
        for name, runtime in self.runtimes.items():
            try:
                runtime.shutdown()
            except Exception:  # one node's failure must not keep the others' processes alive
                log.exception("shutting down the runtime of %s failed", name)
        self.kill_leftovers()

    def kill_leftovers(self) -> None:
        """Kill what still carries the cluster's marker and remove a temporary root; touches no loop object, so
        any thread may call it (the interpreter's exit does, when the cluster's loop did not stop in time)."""
        from kubelab.backends.processes import reap

        if self.root_dir is not None:
            reap(self.marker)
            if self._temporary_root:
                shutil.rmtree(self.root_dir, ignore_errors=True)
