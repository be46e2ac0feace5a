"""What one simulated node is: its name, role, labels, taints, resources, addresses and software versions.

Mirrors what a real kubelet learns from its flags, its config file and the machine it runs on (cAdvisor for
capacity, /etc/machine-id, /etc/os-release, uname). kind nodes are the model (kubelab.backends.kindconfig names and
numbers nodes the way kind does (``<cluster>-control-plane``, ``<cluster>-worker``, ``<cluster>-worker2``, pod
CIDRs 10.244.N.0/24, node addresses 172.18.0.N). Simplified: a node's pod CIDR is part of its spec here, where
upstream the node IPAM controller in kube-controller-manager assigns it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"

DEFAULT_CAPACITY = {
    "cpu": "8",
    "memory": "16365836Ki",
    "pods": "110",
    "ephemeral-storage": "102626232Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
}


@dataclass
class NodeSpec:
    name: str
    role: str = "worker"  # "control-plane" | "worker"
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    capacity: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    allocatable: dict[str, str] | None = None  # None: equal to capacity (kind reserves nothing)
    pod_cidr: str = "10.244.1.0/24"
    internal_ip: str = "172.18.0.3"
    kubelet_version: str = "v1.37.0"
    container_runtime_version: str = "containerd://2.1.1"
    os_image: str = "Debian GNU/Linux 12 (bookworm)"
    kernel_version: str = "6.8.0-1021-azure"
    architecture: str = "amd64"
    operating_system: str = "linux"
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def allocatable_resources(self) -> dict[str, str]:
        return dict(self.allocatable if self.allocatable is not None else self.capacity)

    # identities a real node reads from the machine: stable per node name so reruns look the same
    @property
    def machine_id(self) -> str:
        return hashlib.sha256(f"machine-id/{self.name}".encode()).hexdigest()[:32]

    @property
    def system_uuid(self) -> str:
        return str(uuid.UUID(hashlib.sha256(f"system-uuid/{self.name}".encode()).hexdigest()[:32]))

    def boot_id(self, boot: int = 0) -> str:
        """A new boot id per kubelet start (``restart()`` counts as a reboot of the node)."""
        return str(uuid.UUID(hashlib.sha256(f"boot-id/{self.name}/{boot}".encode()).hexdigest()[:32]))

    def node_labels(self) -> dict[str, str]:
        """The labels the kubelet registers: well-known os/arch/hostname labels, the role, then ``labels``."""
        out = {
            "beta.kubernetes.io/arch": self.architecture,
            "beta.kubernetes.io/os": self.operating_system,
            "kubernetes.io/arch": self.architecture,
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": self.operating_system,
        }
        if self.role == "control-plane":
            # kubeadm labels control-plane nodes; kind keeps them out of external load balancers
            out[CONTROL_PLANE_LABEL] = ""
            out["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        out.update(self.labels)
        return out

