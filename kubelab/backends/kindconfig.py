"""Cluster topology from kind's cluster configuration (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4).

kubelab reads the same YAML ``kind create cluster --config`` reads, so a learner's file works in both. Nodes are
named as kind names them (``<cluster>-control-plane``, ``<cluster>-control-plane2``, ``<cluster>-worker``,
``<cluster>-worker2``...), carry kind's labels (the control plane also its NoSchedule taint), and get addresses
and pod CIDRs the way kind's docker network and kubeadm assign them. Fields kubelab has no use for (images, port
mappings, kubeadm patches, mounts, feature gates...) are reported once as ignored, never as errors.

Addresses depend on the cluster's runtime. ``simulated`` keeps kind's: pods in 10.244.0.0/16 (node podCIDRs
10.244.N.0/24), Services in 10.96.0.0/16, nodes at 172.18.0.N on kind's docker network. ``process`` runs pods as
local processes, so every address lives in 127.0.0.0/8, which Linux routes to the loopback interface as a whole
(no privileges, no network setup): pods in 127.244.0.0/16, Services in 127.96.0.0/16 (the ``kubernetes`` Service
is 127.96.0.1, kube-dns 127.96.0.10), nodes at 127.18.0.N.

kubelab-only extension (kind would reject it, so keep it in lab files): a ``kubelab:`` block on a node or at the
top level, e.g. ``kubelab: {capacity: {cpu: "2", memory: 4Gi}}``, sets that node's (or every node's) capacity.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "kind.x-k8s.io/v1alpha4"
DEFAULT_CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi",
                    "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
_KNOWN_TOP = {"kind", "apiVersion", "name", "nodes", "networking", "kubelab"}
_KNOWN_NODE = {"role", "labels", "kubelab"}


RUNTIMES = ("simulated", "process")
# (podSubnet, serviceSubnet, node address prefix) per runtime
NETWORKS = {"simulated": ("10.244.0.0/16", "10.96.0.0/16", "172.18.0."),
            "process": ("127.244.0.0/16", "127.96.0.0/16", "127.18.0.")}
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class ConfigError(ValueError):
    """The file is not a kind cluster configuration kubelab can use (the message says why)."""


@dataclass
class NodePlan:
    name: str
    role: str  # "control-plane" | "worker"
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    capacity: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    pod_cidr: str = ""
    internal_ip: str = ""


@dataclass
class ClusterPlan:
    name: str
    nodes: list[NodePlan]
    pod_subnet: str = "10.244.0.0/16"
    service_subnet: str = "10.96.0.0/16"
    ignored: list[str] = field(default_factory=list)  # fields present in the file that kubelab does not use
    runtime: str = "simulated"

    @property
    def control_plane(self) -> NodePlan:
        return next(n for n in self.nodes if n.role == "control-plane")

    def service_ip(self, n: int) -> str:
        """The n-th address of the service subnet: 1 is the ``kubernetes`` Service, 10 is kube-dns."""
        return service_ip(self.service_subnet, n)


def service_ip(service_subnet: str, n: int) -> str:
    return str(ipaddress.ip_network(service_subnet, strict=False).network_address + n)


def load(path: str | Path | None, cluster_name: str = "kind", runtime: str = "simulated",
         networks: tuple[str, str, str] | None = None) -> ClusterPlan:
    """Read a kind config file (None: one control-plane node, as ``kind create cluster``). ``networks``
    overrides the runtime's default (podSubnet, serviceSubnet, node address prefix)."""
    if path is None:
        return plan({}, cluster_name, runtime=runtime, networks=networks)
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from None
    return plan(doc or {}, cluster_name, source=str(path), runtime=runtime, networks=networks)


def plan(doc: dict[str, Any], cluster_name: str = "kind", source: str = "config",
         runtime: str = "simulated", networks: tuple[str, str, str] | None = None) -> ClusterPlan:
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    default_pods, default_services, node_prefix = networks or NETWORKS[runtime]
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping (kind: Cluster), got {type(doc).__name__}")
    if doc and doc.get("kind") != "Cluster":
        raise ConfigError(f'{source}: kind must be "Cluster", got {doc.get("kind")!r}')
    if doc and doc.get("apiVersion") != API_VERSION:
        raise ConfigError(f'{source}: apiVersion must be "{API_VERSION}", got {doc.get("apiVersion")!r}')
    ignored = [f"{k}" for k in doc if k not in _KNOWN_TOP]
    name = cluster_name or str(doc.get("name") or "kind")
    networking = doc.get("networking") or {}
    for k in networking:
        if k not in ("podSubnet", "serviceSubnet"):
            ignored.append(f"networking.{k}")
    pod_subnet = str(networking.get("podSubnet") or default_pods)
    service_subnet = str(networking.get("serviceSubnet") or default_services)
    lab = doc.get("kubelab") or {}
    default_capacity = {**DEFAULT_CAPACITY, **{k: str(v) for k, v in (lab.get("capacity") or {}).items()}}
    raw_nodes = doc.get("nodes") or [{"role": "control-plane"}]
    if not isinstance(raw_nodes, list):
        raise ConfigError(f"{source}: nodes must be a list")
    roles = [(n or {}).get("role", "control-plane") for n in raw_nodes]
    for i, r in enumerate(roles):
        if r not in ("control-plane", "worker"):
            raise ConfigError(f'{source}: nodes[{i}].role must be "control-plane" or "worker", got {r!r}')
    if "control-plane" not in roles:
        raise ConfigError(f"{source}: a cluster needs at least one control-plane node")
    try:
        pods_net = ipaddress.ip_network(pod_subnet)
    except ValueError:
        raise ConfigError(f"{source}: networking.podSubnet {pod_subnet!r} is not a CIDR") from None
    try:
        services_net = ipaddress.ip_network(service_subnet, strict=False)
    except ValueError:
        raise ConfigError(f"{source}: networking.serviceSubnet {service_subnet!r} is not a CIDR") from None
    if runtime == "process":
        for key, net in (("podSubnet", pods_net), ("serviceSubnet", services_net)):
            if net.version != 4 or not net.subnet_of(LOOPBACK):  # type: ignore[arg-type]
                raise ConfigError(f"{source}: networking.{key} {net} is outside 127.0.0.0/8: with the process "
                                  "runtime pods and Services use loopback addresses (leave it unset for "
                                  f"{NETWORKS['process'][0 if key == 'podSubnet' else 1]})")
    cidrs = pods_net.subnets(new_prefix=24) if pods_net.prefixlen <= 24 else iter([pods_net])
    # kind: control-plane nodes first get the lower addresses on its docker network 172.18.0.0/16 (process
    # runtime: the same host numbers in 127.18.0.0/16)
    counters = {"control-plane": 0, "worker": 0}
    nodes: list[NodePlan] = []
    order = sorted(range(len(raw_nodes)), key=lambda i: roles[i] != "control-plane")
    for ip_index, i in enumerate(order, start=2):
        raw = raw_nodes[i] or {}
        role = roles[i]
        counters[role] += 1
        n = counters[role]
        node_name = f"{name}-{role}" + (str(n) if n > 1 else "")
        for k in raw:
            if k not in _KNOWN_NODE:
                ignored.append(f"nodes[{i}].{k}")
        labels = {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux",
        }
        taints: list[dict[str, str]] = []
        if role == "control-plane":
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
            taints.append(dict(CONTROL_PLANE_TAINT))
        user_labels = raw.get("labels") or {}
        if not isinstance(user_labels, dict):
            raise ConfigError(f"{source}: nodes[{i}].labels must be a mapping")
        labels.update({str(k): str(v) for k, v in user_labels.items()})
        cap = {**default_capacity,
               **{k: str(v) for k, v in ((raw.get("kubelab") or {}).get("capacity") or {}).items()}}
        nodes.append(NodePlan(node_name, role, labels, taints, cap, str(next(cidrs, pods_net)),
                              f"{node_prefix}{ip_index}"))
    if "worker" not in roles:
        # as kind does: with no workers, the control plane is untainted so workloads can run on it
        for lone in nodes:
            lone.taints = []
    return ClusterPlan(name, nodes, pod_subnet, service_subnet, ignored, runtime)
