"""The Node object and the node Lease a kubelet writes: pure builders.

Mirrors pkg/kubelet/kubelet_node_status.go (initialNode: labels, taints, annotations) and the status setters of
pkg/kubelet/nodestatus/setters.go (addresses, machine info, versions, images, daemon endpoints, the
MemoryPressure/DiskPressure/PIDPressure/Ready conditions with their reasons and messages), and
pkg/kubelet/nodelease (the Lease in kube-node-lease, owned by the Node). Simplified: the pressure conditions are
always healthy (no eviction manager), capacity is what ``NodeSpec`` says (no cAdvisor), and the pod CIDR is
registered by the kubelet rather than allocated by the node IPAM controller.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.clock import rfc3339, rfc3339_micro
from kubelab.kubelet import lifecycle
from kubelab.kubelet.nodespec import NodeSpec
from kubelab.kubelet.runtime import Image

Obj = dict[str, Any]

KUBELET_PORT = 10250
MAX_IMAGES_IN_STATUS = 50
NODE_LEASE_NAMESPACE = "kube-node-lease"

REGISTRATION_ANNOTATIONS = {
    "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
    "node.alpha.kubernetes.io/ttl": "0",
    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
}


def initial_node(spec: NodeSpec) -> Obj:
    """The Node a kubelet registers (status is filled by ``node_status``)."""
    node_spec: Obj = {"podCIDR": spec.pod_cidr, "podCIDRs": [spec.pod_cidr]}
    if spec.taints:
        node_spec["taints"] = [dict(t) for t in spec.taints]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": spec.name, "labels": spec.node_labels(),
                     "annotations": {**REGISTRATION_ANNOTATIONS, **spec.annotations}},
        "spec": node_spec,
    }


def node_conditions(previous: list[Obj], now: _dt.datetime) -> list[Obj]:
    """The four kubelet conditions, healthy; lastTransitionTime kept while a condition's status is unchanged."""
    prev = {c.get("type"): c for c in previous}
    stamp = rfc3339(now)
    out = []
    for type_, status, reason, message in lifecycle.NODE_CONDITIONS:
        p = prev.get(type_)
        transition = p.get("lastTransitionTime") if p and p.get("status") == status else stamp
        out.append({"type": type_, "status": status, "lastHeartbeatTime": stamp, "lastTransitionTime": transition,
                    "reason": reason, "message": message})
    return out


def node_images(imgs: list[Image]) -> list[Obj]:
    """status.images: biggest first, as the kubelet lists them (digest names, then tags)."""
    ordered = sorted(imgs, key=lambda i: -i.size)[:MAX_IMAGES_IN_STATUS]
    return [{"names": [*i.repo_digests, *i.repo_tags], "sizeBytes": i.size} for i in ordered]


def node_status(spec: NodeSpec, previous: Obj | None, *, now: _dt.datetime, boot: int, imgs: list[Image]) -> Obj:
    previous = previous or {}
    status: Obj = {k: v for k, v in previous.items() if k not in (
        "capacity", "allocatable", "conditions", "addresses", "daemonEndpoints", "nodeInfo", "images", "features",
        "runtimeHandlers")}
    status.update({
        "capacity": dict(spec.capacity),
        "allocatable": spec.allocatable_resources,
        "conditions": node_conditions(previous.get("conditions") or [], now),
        "addresses": [{"type": "InternalIP", "address": spec.internal_ip},
                      {"type": "Hostname", "address": spec.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": spec.machine_id, "systemUUID": spec.system_uuid, "bootID": spec.boot_id(boot),
            "kernelVersion": spec.kernel_version, "osImage": spec.os_image,
            "containerRuntimeVersion": spec.container_runtime_version, "kubeletVersion": spec.kubelet_version,
            "kubeProxyVersion": "",  # no longer set by kubelets (KEP-4004)
            "operatingSystem": spec.operating_system, "architecture": spec.architecture,
        },
        "images": node_images(imgs),
        "features": {"supplementalGroupsPolicy": True},
        "runtimeHandlers": [
            {"name": "", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
            {"name": "runc", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
        ],
    })
    return status


def became_ready(previous: Obj | None) -> bool:
    """Whether writing a Ready=True condition is a transition (the kubelet then records NodeReady)."""
    for c in (previous or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") != "True"
    return True


def node_ref(spec: NodeSpec) -> Obj:
    """The object reference node events use (upstream: UID = node name, no namespace)."""
    return {"kind": "Node", "name": spec.name, "uid": spec.name, "apiVersion": ""}


def lease(spec: NodeSpec, node_uid: str, duration: float, now: _dt.datetime) -> Obj:
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": spec.name, "namespace": NODE_LEASE_NAMESPACE,
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": spec.name, "uid": node_uid}]},
        "spec": {"holderIdentity": spec.name, "leaseDurationSeconds": max(int(duration), 1),
                 "renewTime": rfc3339_micro(now)},
    }
