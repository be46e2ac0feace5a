"""The kubelet: registers its Node, keeps its Lease and status fresh, and runs the pods bound to it.

Mirrors pkg/kubelet (kubelet.go, kubelet_node_status.go, nodelease, config/ for the pod sources): it registers
the Node (or updates it when it exists), renews a Lease in kube-node-lease every ``node_lease_duration / 4``,
posts node status every ``node_status_update_frequency``, watches the pods with ``spec.nodeName=<node>`` (its own
list+watch, like the kubelet's field-selected apiserver source), creates mirror pods for its static pods, and hands
each pod to a ``PodWorker``. Container exits reach the workers through the runtime's container events (the
evented PLEG). ``stop()`` is a node failure for the lab: heartbeats and pod handling stop (the node lifecycle
controller will mark the node NotReady); containers keep their state in the runtime; ``restart()`` re-registers
and re-syncs, like a kubelet restart or a healed partition (same boot id: the containers survived).

With a real runtime (``runtime.real``: containers are processes) the kubelet also keeps a root directory as
/var/lib/kubelet (``root_dir``, by default a temporary directory made on first use): pod volumes
(``volumes``), the pod's /etc/hosts and /etc/resolv.conf (``etchosts``: standing in for cluster DNS, rewritten
when Services change) and container logs; it watches ConfigMaps and Secrets to refresh the volumes made from
them, and really probes containers (``prober``). With the simulated runtime none of this touches the disk.
Simplified: no eviction, no admission of pods against node resources, no cgroups.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab.api.errors import ApiError
from kubelab.client import Client
from kubelab.clock import rfc3339, rfc3339_micro, rfc3339_nano
from kubelab.config import LabConfig
from kubelab.kubelet import etchosts, lifecycle, node_status
from kubelab.kubelet.backoff import Backoff
from kubelab.kubelet.nodespec import NodeSpec
from kubelab.kubelet.pod_workers import PodWorker
from kubelab.kubelet.prober import ProbeManager
from kubelab.kubelet.runtime import ContainerEvent, Mount, Runtime, SimulatedRuntime
from kubelab.kubelet.volumes import VolumeManager
from kubelab.trace import TraceBus

if TYPE_CHECKING:
    from kubelab.client.informer import Informer

log = logging.getLogger(__name__)
Obj = dict[str, Any]

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
HASH_ANNOTATION = "kubernetes.io/config.hash"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
SEEN_ANNOTATION = "kubernetes.io/config.seen"


def static_pod_hash(manifest: Obj) -> str:
    """The static pod's identity (its UID and the mirror pod's config.hash): a hash of the manifest."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:32]


class Kubelet:
    def __init__(self, client: Client, spec: NodeSpec, config: LabConfig, trace: TraceBus | None = None,
                 runtime: Runtime | None = None, static_pods: Iterable[Obj] = (), *,
                 root_dir: str | os.PathLike[str] | None = None) -> None:
        """``root_dir`` is the kubelet's /var/lib/kubelet for a real runtime (pods/, logs/, node-fs/); None makes
        a temporary directory on first use (removed by ``close``). The simulated runtime never uses it."""
        self.client = client
        self.spec = spec
        self.config = config
        self.clock = client.clock
        self.trace = trace or TraceBus(client.clock)
        self.runtime: Runtime = runtime or SimulatedRuntime(client.clock, config, name=spec.name)
        self.static_pods = {static_pod_hash(p): copy.deepcopy(p) for p in static_pods}
        self.workers: dict[str, PodWorker] = {}
        self.crash_backoff = Backoff(config.crashloop_backoff_base, config.crashloop_backoff_max)
        self.pull_backoff = Backoff(config.crashloop_backoff_base, config.crashloop_backoff_max)
        self.running = False
        self.registered = asyncio.Event()
        self.boot = 0  # bootID generation: restart() is a kubelet restart, not a reboot (containers survive)
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Any = None
        self._closed: asyncio.Event | None = None
        self._mirror_recreate: set[str] = set()
        self._event_seq = 0
        self._terminated: OrderedDict[str, None] = OrderedDict()
        # real runtimes: the kubelet's root directory, volumes, pod /etc files, probes
        self.real = bool(getattr(self.runtime, "real", False))
        self._root_dir = Path(root_dir) if root_dir is not None else None
        self._own_root = False
        self.volumes = VolumeManager(client, lambda: self.root_dir, lambda: self.spec.allocatable_resources)
        self.prober = ProbeManager(self)
        self.mount_backoff = Backoff(0.5, config.crashloop_backoff_max)
        self.dns_files = etchosts.PodDNSFiles(client, self.volumes.pod_dir, self._rewrite_hosts_files)
        self._data_informers: list[Informer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        version = self.spec.kubelet_version.lstrip("v").split(".")
        self.probe_user_agent = f"kube-probe/{'.'.join(version[:2])}"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def root_dir(self) -> Path:
        """The kubelet's /var/lib/kubelet (and /var/log): made on first use when none was given."""
        if self._root_dir is None:
            self._root_dir = Path(tempfile.mkdtemp(prefix=f"kubelab-{self.name}-"))
            self._own_root = True
        return self._root_dir

    # ------------------------------------------------------------------------------------------- lifecycle
    async def run(self) -> None:
        """Start, then keep running until cancelled (``stop``/``restart`` pause and resume inside)."""
        self._closed = asyncio.Event()
        self.start()
        try:
            await self._closed.wait()
        finally:
            self.stop()

    def close(self) -> None:
        """End ``run()`` (and remove the root directory if the kubelet made it)."""
        self.stop()
        if self._closed is not None:
            self._closed.set()
        if self._own_root and self._root_dir is not None:
            shutil.rmtree(self._root_dir, ignore_errors=True)
            self._root_dir, self._own_root = None, False

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self._loop = asyncio.get_running_loop()
        self.runtime.update_runtime_config(self.spec.pod_cidr)
        self._unsubscribe = self.runtime.subscribe(self._on_container_event)
        if self.real:
            self._start_watches()
        self._tasks = [asyncio.get_running_loop().create_task(self._main(), name=f"kubelet-{self.name}")]

    async def _main(self) -> None:
        await self.register()
        self.sync_mirror_pods()
        await asyncio.gather(self._lease_loop(), self._status_loop(), self._pod_loop())

    def stop(self) -> None:
        """Stop heartbeats and pod handling (a node failure); the runtime keeps its containers."""
        if not self.running:
            return
        self.running = False
        self.registered.clear()
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        for w in list(self.workers.values()):
            w.stop()
        self.workers.clear()
        self.prober.stop()
        self.dns_files.stop()
        for inf in self._data_informers:
            inf.stop()
        self._data_informers = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.emit("stop", None, "kubelet stopped: no more heartbeats or pod updates from this node")

    def restart(self) -> None:
        """A kubelet restart: register again, renew the lease, re-sync every pod from the runtime's state."""
        self.stop()
        self.start()

    # ------------------------------------------------------------------------------------------- helpers
    def emit(self, action: str, obj: Obj | None, message: str = "", **details: Any) -> None:
        self.trace.emit(f"kubelet/{self.name}", action, obj=obj, node=self.name, message=message, **details)

    def record_event(self, involved: Obj, reason: str, message: str, type_: str = "Normal", *,
                     field_path: str = "") -> None:
        if self.client.event(involved, reason, message, type_, host=self.name, field_path=field_path) is None:
            self._event_fallback(involved, reason, message, type_, field_path)

    def _event_fallback(self, involved: Obj, reason: str, message: str, type_: str, field_path: str) -> None:
        """Client.event names events <object>.<nanoseconds>, so two events about one object at the same (fake)
        instant collide and the second is dropped; record it under a name with a sequence suffix instead."""
        meta = involved.get("metadata") or {}
        name = meta.get("name", involved.get("name", ""))
        ns = meta.get("namespace", involved.get("namespace", "")) or "default"
        ref = {"kind": involved.get("kind", ""), "namespace": meta.get("namespace", involved.get("namespace", "")),
               "name": name, "uid": meta.get("uid", involved.get("uid", "")),
               "apiVersion": involved.get("apiVersion", ""), "resourceVersion": meta.get("resourceVersion", ""),
               "fieldPath": field_path}
        self._event_seq += 1
        now = self.clock.now()
        stamp = rfc3339(now)
        ev = {"metadata": {"name": f"{name}.{int(now.timestamp() * 1e9) + self._event_seq:x}", "namespace": ns},
              "involvedObject": {k: v for k, v in ref.items() if v}, "reason": reason, "message": message,
              "type": type_, "source": {"component": self.client.manager, "host": self.name},
              "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "eventTime": None,
              "reportingComponent": self.client.manager, "reportingInstance": self.name}
        try:
            self.client.create("events", ev, namespace=ns)
        except ApiError as e:
            log.debug("event %s for %s dropped: %s", reason, name, e)

    def worker_done(self, w: PodWorker) -> None:
        if self.workers.get(w.key) is w:
            del self.workers[w.key]
        if w.key not in self.static_pods:
            self._terminated[w.key] = None  # late watch events about this pod start no new worker
            while len(self._terminated) > 4096:
                self._terminated.popitem(last=False)

    def worker_for_pod(self, pod: Obj) -> PodWorker | None:
        meta = pod.get("metadata") or {}
        key = (meta.get("annotations") or {}).get(MIRROR_ANNOTATION) or meta.get("uid", "")
        return self.workers.get(key)

    # ------------------------------------------------------------------------------------------- node
    async def register(self) -> None:
        """Create the Node, or bring an existing one's labels and annotations up to date; then post status."""
        desired = node_status.initial_node(self.spec)
        existing = self.client.try_get("nodes", self.name)
        if existing is None:
            try:
                existing = self.client.create("nodes", desired)
            except ApiError as e:
                if e.code != 409:
                    raise
                existing = self.client.get("nodes", self.name)
        else:
            meta = dict(existing["metadata"])
            meta["labels"] = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
            meta["annotations"] = {**(meta.get("annotations") or {}), **desired["metadata"]["annotations"]}
            spec = dict(existing.get("spec") or {})
            spec.setdefault("podCIDR", self.spec.pod_cidr)
            spec.setdefault("podCIDRs", [self.spec.pod_cidr])
            existing = self.client.update("nodes", dict(existing, metadata=meta, spec=spec))
        ref = node_status.node_ref(self.spec)
        self.record_event(ref, lifecycle.NODE_STARTING.reason, lifecycle.NODE_STARTING.message)
        previous = existing.get("status") or {}
        status = node_status.node_status(self.spec, previous, now=self.clock.now(), boot=self.boot,
                                         imgs=await self.runtime.list_images())
        self.client.update_status("nodes", dict(existing, status=status))
        for _type, _status, reason, _msg in lifecycle.NODE_CONDITIONS[:-1]:
            event = lifecycle.NODE_CONDITION_EVENTS[reason]
            self.record_event(ref, event, lifecycle.NODE_STATUS_EVENT.format(node=self.name, reason=event))
        self.record_event(ref, lifecycle.NODE_ALLOCATABLE.reason, lifecycle.NODE_ALLOCATABLE.message)
        if node_status.became_ready(previous):
            self.record_event(ref, "NodeReady", lifecycle.NODE_STATUS_EVENT.format(node=self.name,
                                                                                  reason="NodeReady"))
        self._renew_lease()
        self.registered.set()
        self.emit("register", existing, f"node {self.name} registered ({self.spec.role})")

    async def _status_loop(self) -> None:
        while True:
            await self.clock.sleep(self.config.node_status_update_frequency)
            try:
                images = await self.runtime.list_images()
                node = self.client.try_get("nodes", self.name)
                if node is None:
                    continue
                status = node_status.node_status(self.spec, node.get("status"), now=self.clock.now(),
                                                 boot=self.boot, imgs=images)
                became_ready = node_status.became_ready(node.get("status"))
                self.client.update_status("nodes", dict(node, status=status))
                if became_ready:
                    self.record_event(node_status.node_ref(self.spec), "NodeReady",
                                      lifecycle.NODE_STATUS_EVENT.format(node=self.name, reason="NodeReady"))
            except ApiError as e:
                log.warning("node %s status update failed: %s", self.name, e)

    def _renew_lease(self) -> None:
        node = self.client.try_get("nodes", self.name)
        uid = (node or {}).get("metadata", {}).get("uid", "")
        desired = node_status.lease(self.spec, uid, self.config.node_lease_duration, self.clock.now())
        current = self.client.try_get("leases.coordination.k8s.io", self.name, node_status.NODE_LEASE_NAMESPACE)
        if current is None:
            self.client.create("leases.coordination.k8s.io", desired)
            return
        spec = dict(current.get("spec") or {}, holderIdentity=self.name,
                    leaseDurationSeconds=desired["spec"]["leaseDurationSeconds"],
                    renewTime=rfc3339_micro(self.clock.now()))
        meta = dict(current["metadata"])
        if uid and not meta.get("ownerReferences"):
            meta["ownerReferences"] = desired["metadata"]["ownerReferences"]
        self.client.update("leases.coordination.k8s.io", dict(current, metadata=meta, spec=spec))

    async def _lease_loop(self) -> None:
        while True:
            await self.clock.sleep(self.config.node_lease_duration / 4)
            try:
                self._renew_lease()
            except ApiError as e:
                log.warning("node %s lease renewal failed: %s", self.name, e)

    # ------------------------------------------------------------------------------------------- pods
    async def _pod_loop(self) -> None:
        fs = f"spec.nodeName={self.name}"
        while True:
            items, rv = self.client.list_with_version("pods", None, field_selector=fs)
            self._resync(items)
            await self._cleanup_orphans(items)
            try:
                watch = self.client.watch("pods", None, rv, field_selector=fs)
            except ApiError:
                await asyncio.sleep(0)
                continue
            try:
                async for ev_type, pod in watch:
                    self._on_pod(ev_type, pod)
            finally:
                watch.close()
            if self.client.ctx.store.closed:
                return
            await asyncio.sleep(0)

    def _resync(self, pods: list[Obj]) -> None:
        seen = set()
        for pod in pods:
            self._on_pod("MODIFIED", pod)
            w = self.worker_for_pod(pod)
            if w is not None:
                seen.add(w.key)
        for key, w in list(self.workers.items()):
            if key not in seen and key not in self.static_pods:
                w.gone()

    async def _cleanup_orphans(self, pods: list[Obj]) -> None:
        """Sandboxes of pods that vanished while the kubelet was away: stop and remove them."""
        keys = {(p["metadata"].get("annotations") or {}).get(MIRROR_ANNOTATION) or p["metadata"].get("uid")
                for p in pods} | set(self.static_pods)
        for sb in await self.runtime.list_pod_sandboxes():
            if sb.config.uid not in keys and sb.config.uid not in self.workers:
                await self.runtime.remove_pod_sandbox(sb.id)
        if self.real and self._root_dir is not None:  # their directories and logs too
            for parent, key_of in ((self._root_dir / "pods", lambda n: n),
                                   (self._root_dir / "logs" / "pods", lambda n: n.rsplit("_", 1)[-1])):
                for d in parent.iterdir() if parent.is_dir() else ():
                    if key_of(d.name) not in keys and key_of(d.name) not in self.workers:
                        shutil.rmtree(d, ignore_errors=True)

    def _on_pod(self, ev_type: str, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        mirror = (meta.get("annotations") or {}).get(MIRROR_ANNOTATION)
        if mirror is not None:
            self._on_mirror_pod(ev_type, pod, mirror)
            return
        uid = meta.get("uid", "")
        if uid in self._terminated:
            return
        w = self.workers.get(uid)
        if ev_type == "DELETED":
            if w is not None:
                w.gone()
            return
        if w is None:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and \
                    not meta.get("deletionTimestamp"):
                return  # finished before this kubelet saw it: nothing to run
            w = self.workers[uid] = PodWorker(self, uid, pod)
            w.start()
        else:
            w.update(pod)

    # ------------------------------------------------------------------------------------------- static pods
    def mirror_pod(self, key: str) -> Obj:
        """The mirror pod that shows static pod ``key`` in the API (kubelet's mirror client)."""
        manifest = copy.deepcopy(self.static_pods[key])
        meta = dict(manifest.get("metadata") or {})
        name = f"{meta.get('name')}-{self.name}"
        node = self.client.try_get("nodes", self.name) or {"metadata": {}}
        annotations = {**(meta.get("annotations") or {}), HASH_ANNOTATION: key, MIRROR_ANNOTATION: key,
                       SEEN_ANNOTATION: rfc3339_nano(self.clock.now()),
                       SOURCE_ANNOTATION: "file"}
        spec = dict(manifest.get("spec") or {})
        spec["nodeName"] = self.name
        spec.setdefault("priorityClassName", "system-node-critical")
        spec.setdefault("priority", 2000001000)
        spec.setdefault("tolerations", [{"operator": "Exists", "effect": "NoExecute"}])
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": meta.get("namespace") or "default",
                         "labels": dict(meta.get("labels") or {}), "annotations": annotations,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                              "uid": node["metadata"].get("uid", ""), "controller": True}]},
            "spec": spec,
        }

    def sync_mirror_pods(self) -> None:
        for key in self.static_pods:
            mirror = self.mirror_pod(key)
            ns, name = mirror["metadata"]["namespace"], mirror["metadata"]["name"]
            current = self.client.try_get("pods", name, ns)
            if current is not None:
                if (current["metadata"].get("annotations") or {}).get(MIRROR_ANNOTATION) == key:
                    continue
                self.client.delete("pods", name, ns, grace_period_seconds=0)
            try:
                self.client.create("pods", mirror, namespace=ns)
            except ApiError as e:
                log.warning("creating mirror pod %s/%s failed: %s", ns, name, e)

    def _on_mirror_pod(self, ev_type: str, pod: Obj, key: str) -> None:
        meta = pod["metadata"]
        if key not in self.static_pods:  # an orphaned mirror pod: its static pod is gone
            if ev_type != "DELETED":
                self.client.delete("pods", meta["name"], meta.get("namespace"), grace_period_seconds=0)
            return
        w = self.workers.get(key)
        if ev_type == "DELETED" or meta.get("deletionTimestamp"):
            # deleting a mirror pod does not stop the static pod: the kubelet deletes and recreates the mirror
            if ev_type != "DELETED":
                self.client.delete("pods", meta["name"], meta.get("namespace"), grace_period_seconds=0,
                                   preconditions={"uid": meta.get("uid", "")})
            if key not in self._mirror_recreate:
                self._mirror_recreate.add(key)
                asyncio.get_running_loop().call_soon(self._recreate_mirror, key)
            return
        if w is None:
            w = self.workers[key] = PodWorker(self, key, pod)
            w.start()
        else:
            w.update(pod)

    def _recreate_mirror(self, key: str) -> None:
        self._mirror_recreate.discard(key)
        if self.running:
            self.sync_mirror_pods()

    # ------------------------------------------------------------------------------------------- runtime events
    def _on_container_event(self, ev: ContainerEvent) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a runtime that reports from its own thread: hand the event to the kubelet's loop
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._on_container_event, ev)
            return
        for w in self.workers.values():
            if w.sandbox_id == ev.sandbox_id:
                w.kick()
                return

    # ------------------------------------------------------------------------------------------- real runtimes
    def _start_watches(self) -> None:
        """Services and EndpointSlices for the hosts files; ConfigMaps and Secrets for the volumes made of them."""
        self.dns_files.start()
        self._data_informers = self.volumes.watch(self._on_api_data)

    def _on_api_data(self, resource: str, namespace: str, name: str) -> None:
        """A ConfigMap or Secret was created or changed: wake the pods whose volumes are made from it."""
        for w in self.workers.values():
            if w.namespace == namespace and (resource, name) in self.volumes.references(w.pod):
                w.kick()

    def _rewrite_hosts_files(self) -> None:
        for w in list(self.workers.values()):
            if w.sandbox_id is not None and not w.terminating_requested():
                self.write_pod_files(w)

    def write_pod_files(self, w: PodWorker) -> None:
        """The pod's /etc/hosts and /etc/resolv.conf (``kubelab.kubelet.etchosts``), not for host-network pods."""
        if not w.host_network and w.pod_ip:
            self.dns_files.write(w.pod, w.key, w.pod_ip)

    def pod_file_mounts(self, w: PodWorker, container: Obj) -> list[Mount]:
        return [] if w.host_network else self.dns_files.mounts(w.key, container)
