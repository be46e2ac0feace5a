"""What a fresh cluster holds before anyone asks, and the small in-server loops that keep namespaces whole.

At start (as kube-apiserver's bootstrap controllers and the controller-manager do on a new cluster): the namespaces
default, kube-system, kube-public and kube-node-lease; the ``kubernetes`` Service in default with its Endpoints and
EndpointSlice pointing at this API server; the DNS Service ``kube-dns`` in kube-system (so ``kubectl
cluster-info`` prints CoreDNS); the default StorageClass ``standard`` as kind has.

Kept here until the controller manager exists: the NamespaceLifecycle admission rule (no new objects in a missing
or terminating namespace), the ServiceAccount controller's ``default`` account and the root-CA ConfigMap in every
namespace, the namespace controller's clean-up of a deleted namespace, and ClusterIP/NodePort allocation.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from typing import Any

from kubelab.api import errors
from kubelab.api.allocators import (
    NodePortAllocator,
    ServiceIPAllocator,
    allocate_service,
    reallocate_service,
    release_service,
)
from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
SYSTEM_MANAGER = WriteOptions(field_manager="kube-apiserver")

# the API server's own PriorityClasses (pkg/apis/scheduling SystemPriorityClasses)
PRIORITY_CLASSES: list[dict[str, Any]] = [
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-node-critical"}, "value": 2000001000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-cluster-critical"}, "value": 2000000000,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another node "
                    "if necessary."},
]



class Bootstrap:
    def __init__(self, ctx: ServerContext, ca_pem: bytes, seed: int | None = None,
                 service_subnet: str = "10.96.0.0/16") -> None:
        self.ctx = ctx
        self.ca_pem = ca_pem
        self.ips = ServiceIPAllocator(service_subnet, rng=random.Random(seed))
        base = ipaddress.ip_network(service_subnet, strict=False).network_address
        # kube-apiserver takes the range's first address for `kubernetes`; kubeadm gives DNS the tenth
        self.kubernetes_ip, self.dns_ip = str(base + 1), str(base + 10)
        self.ports = NodePortAllocator(rng=random.Random(seed))
        self._loop: asyncio.AbstractEventLoop | None = None
        reg = ctx.registry
        reg.mutating_hooks.append(self._admit)
        reg.after_write_hooks.append(self._after_write)
        reg.after_delete_hooks.append(self._after_delete)

    def _rt(self, group: str, plural: str) -> ResourceType:
        rt = self.ctx.resources.lookup(group, "v1", plural)
        assert rt is not None, plural
        return rt

    # -------------------------------------------------------------------------------------------- start
    def run(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        reg = self.ctx.registry
        for ns in SYSTEM_NAMESPACES:
            self._ensure(self._rt("", "namespaces"), None, {"metadata": {"name": ns}})
        self._ensure(self._rt("", "services"), "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": self.kubernetes_ip, "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                         "targetPort": self.ctx.port}]},
        })
        self._ensure(self._rt("", "endpoints"), "default", {
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": self.ctx.host}],
                         "ports": [{"name": "https", "port": self.ctx.port, "protocol": "TCP"}]}],
        })
        self._ensure(self.ctx.resources.lookup("discovery.k8s.io", "v1", "endpointslices"), "default", {  # type: ignore[arg-type]
            "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.ctx.host], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": self.ctx.port, "protocol": "TCP"}],
        })
        self._ensure(self._rt("", "services"), "kube-system", {
            "metadata": {"name": "kube-dns", "labels": {
                "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
                "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
            "spec": {"clusterIP": self.dns_ip, "selector": {"k8s-app": "kube-dns"}, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
        })
        pc_rt = self.ctx.resources.lookup("scheduling.k8s.io", "v1", "priorityclasses")
        assert pc_rt is not None
        for pc in PRIORITY_CLASSES:
            self._ensure(pc_rt, None, pc)
        sc_rt = self.ctx.resources.lookup("storage.k8s.io", "v1", "storageclasses")
        assert sc_rt is not None
        self._ensure(sc_rt, None, {
            "metadata": {"name": "standard",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        })
        del reg

    def _ensure(self, rt: ResourceType, ns: str | None, obj: dict[str, Any]) -> None:
        obj = dict(obj, apiVersion=rt.api_version, kind=rt.kind)
        try:
            self.ctx.registry.create(rt, ns, obj, WriteOptions(field_manager="kube-apiserver", system=True))
        except ApiError as e:
            if e.code != 409:
                raise

    # -------------------------------------------------------------------------------------------- hooks
    def _admit(self, rt: ResourceType, new: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions) -> None:
        if old is None and rt.namespaced:
            ns = new["metadata"].get("namespace")
            ns_kv = self.ctx.store.get(f"/registry/core/namespaces/{ns}")
            if ns_kv is None:
                raise errors.not_found("", "namespaces", str(ns))
            if ns_kv.value["metadata"].get("deletionTimestamp") and rt.kind != "Event":
                raise ApiError(403, "Forbidden",
                               f'{rt.plural}{"." + rt.group if rt.group else ""} "{new["metadata"].get("name", "")}" '
                               f"is forbidden: unable to create new content in namespace {ns} because it is being "
                               "terminated")
        if rt.kind == "Pod" and rt.group == "" and old is None:
            self._admit_priority(new)
        if rt.kind == "Service" and rt.group == "" and not opts.dry_run:
            if old is None:
                alloc = allocate_service(new, self.ips, self.ports)
            else:
                alloc = reallocate_service(new, old, self.ips, self.ports)
            opts.rollbacks.append(alloc.revert)
        if rt.kind == "CustomResourceDefinition":
            from kubelab.apiserver.crd import crd_status

            new["status"] = crd_status(new, old)

    def _admit_priority(self, pod: dict[str, Any]) -> None:
        """The Priority admission plugin: a pod's priorityClassName sets its priority."""
        spec = pod.get("spec") or {}
        pcn = spec.get("priorityClassName")
        if not pcn:
            return
        kv = self.ctx.store.get(f"/registry/scheduling.k8s.io/priorityclasses/{pcn}")
        if kv is None:
            raise ApiError(403, "Forbidden", f'pods "{pod["metadata"].get("name", "")}" is forbidden: no '
                                             f"PriorityClass with name {pcn} was found")
        spec["priority"] = kv.value.get("value", 0)
        spec["preemptionPolicy"] = kv.value.get("preemptionPolicy", "PreemptLowerPriority")

    def _after_write(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None,
                     opts: WriteOptions) -> None:
        if rt.kind == "Namespace" and rt.group == "":
            name = obj["metadata"]["name"]
            if old is None:
                self._populate_namespace(name)
            elif obj["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
                self._schedule(self._finalize_namespace(name))
        elif rt.kind == "CustomResourceDefinition":
            from kubelab.apiserver.crd import register_crd

            register_crd(self.ctx, obj)

    def _after_delete(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "Service" and rt.group == "":
            release_service(obj, self.ips, self.ports)
        elif rt.kind == "CustomResourceDefinition":
            from kubelab.apiserver.crd import unregister_crd

            unregister_crd(self.ctx, obj)

    def _populate_namespace(self, ns: str) -> None:
        """ServiceAccount controller and root-ca-cert-publisher, done at namespace creation."""
        self._ensure(self._rt("", "serviceaccounts"), ns, {"metadata": {"name": "default"}})
        self._ensure(self._rt("", "configmaps"), ns, {
            "metadata": {"name": "kube-root-ca.crt",
                         "annotations": {"kubernetes.io/description": (
                             "Contains a CA bundle that can be used to verify the kube-apiserver when using "
                             "internal endpoints such as the internal service IP or kubernetes.default.svc. "
                             "No other usage is guaranteed across distributions of Kubernetes clusters.")}},
            "data": {"ca.crt": self.ca_pem.decode()},
        })

    def _schedule(self, coro: Any) -> None:
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                coro.close()
                return
        loop.call_soon_threadsafe(lambda: loop.create_task(coro))

    async def _finalize_namespace(self, ns: str) -> None:
        """The namespace controller: delete everything in the namespace, then drop the kubernetes finalizer."""
        await asyncio.sleep(0)
        reg = self.ctx.registry
        seen: set[str] = set()
        for _attempt in range(50):
            remaining = 0
            for rt in self.ctx.resources.all():
                if not rt.namespaced or "list" not in rt.verbs or rt.storage_prefix in seen and not rt.preferred:
                    continue
                kvs, _ = self.ctx.store.range(rt.prefix(ns))
                for kv in kvs:
                    remaining += 1
                    m = kv.value["metadata"]
                    if m.get("deletionTimestamp"):
                        continue
                    try:
                        reg.delete(rt, ns, m["name"], {"propagationPolicy": "Background"})
                    except ApiError:
                        pass
            if remaining == 0:
                break
            await asyncio.sleep(0.05)
        ns_rt = self._rt("", "namespaces")

        def finalize(cur: dict[str, Any]) -> dict[str, Any]:
            new = dict(cur)
            new["spec"] = dict(cur.get("spec") or {}, finalizers=[])
            return new

        try:
            reg.update_with(ns_rt, None, ns, finalize, WriteOptions(field_manager="namespace-controller"),
                            subresource="finalize")
        except ApiError as e:
            if e.code != 404:
                log.warning("finalizing namespace %s: %s", ns, e.message)
