"""Server-side printers for networking, RBAC bindings, storage classes, priority classes, leases and endpoint
slices.

Mirrors printIngress (formatHosts, ingressLoadBalancerStatusStringer), printIngressClass, printNetworkPolicy,
printRoleBinding/printClusterRoleBinding (rbac.SubjectsStrings), printStorageClass, printPriorityClass, printLease
and printEndpointSlice (formatDiscoveryPorts/Endpoints) of kubernetes/pkg/printers/internalversion/printers.go.
Roles, ClusterRoles, LimitRanges and CustomResourceDefinitions have no printer upstream: they get the default
NAME / CREATED AT table (see ``kubelab.api.printers.custom``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.api.printers.common import AGE, NAME, Obj, Printer, age, col, meta, name_of
from kubelab.api.selectors import format_label_selector

# ---------------------------------------------------------------------------------------------------------------
# networking


def _format_hosts(rules: Any) -> str:
    rules = rules or []
    hosts: list[str] = []
    more = False
    for r in rules:
        if len(hosts) == 3:
            more = True
        if not more and r.get("host"):
            hosts.append(r["host"])
    if not hosts:
        return "*"
    joined = ",".join(hosts)
    return f"{joined} + {len(rules) - 3} more..." if more else joined


def _ingress_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    lb = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    addresses = sorted({a.get("ip") or a.get("hostname") for a in lb if a.get("ip") or a.get("hostname")})
    klass = spec.get("ingressClassName")
    return [name_of(o), "<none>" if klass is None else klass, _format_hosts(spec.get("rules")), ",".join(addresses),
            "80, 443" if spec.get("tls") else "80", age(o, now)]


INGRESS = Printer((
    NAME,
    col("Class", description="The name of the IngressClass resource that should be used for additional "
                             "configuration"),
    col("Hosts", description="Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", description="Address is a list containing ingress points for the load-balancer"),
    col("Ports", description="Ports of TLS configurations that open"),
    AGE,
), _ingress_cells)


def _ingress_class_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    params = spec.get("parameters")
    shown = "<none>"
    if params:
        shown = params.get("kind") or ""
        if params.get("apiGroup") is not None:
            shown += "." + params["apiGroup"]
        shown += "/" + (params.get("name") or "")
    return [name_of(o), spec.get("controller") or "", shown, age(o, now)]


INGRESS_CLASS = Printer((
    NAME,
    col("Controller", description="Controller that is responsible for handling this class"),
    col("Parameters", description="A reference to a resource with additional parameters"),
    AGE,
), _ingress_class_cells)

NETWORK_POLICY = Printer(
    (NAME, col("Pod-Selector", doc="NetworkPolicySpec.podSelector"), AGE),
    lambda o, now: [name_of(o), format_label_selector((o.get("spec") or {}).get("podSelector") or {}), age(o, now)])


def _endpoint_slice_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    ports: list[str] = []
    count = 0
    for p in o.get("ports") or ():
        if len(ports) < 3:
            num = p.get("port")
            ports.append(str(num) if num is not None else (p.get("name") if p.get("name") is not None else "*"))
        count += 1
    port_str = _with_more(ports, count)
    addrs: list[str] = []
    count = 0
    for e in o.get("endpoints") or ():
        for a in e.get("addresses") or ():
            if len(addrs) < 3:
                addrs.append(a)
            count += 1
    return [name_of(o), o.get("addressType") or "", port_str, _with_more(addrs, count), age(o, now)]


def _with_more(items: list[str], count: int) -> str:
    """listWithMoreString (max 3)."""
    joined = ",".join(items)
    if count > 3:
        return f"{joined} + {count - 3} more..."
    return joined or "<unset>"


ENDPOINT_SLICE = Printer((
    NAME,
    col("AddressType", doc="EndpointSlice.addressType"),
    col("Ports", doc="EndpointSlice.ports"),
    col("Endpoints", doc="EndpointSlice.endpoints"),
    AGE,
), _endpoint_slice_cells)

# ---------------------------------------------------------------------------------------------------------------
# RBAC bindings


def _subjects(subjects: Any) -> tuple[str, str, str]:
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    for s in subjects or ():
        kind = s.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{s.get('namespace') or ''}/{s.get('name') or ''}")
        elif kind == "User":
            users.append(s.get("name") or "")
        elif kind == "Group":
            groups.append(s.get("name") or "")
    return ", ".join(users), ", ".join(groups), ", ".join(sas)


def _binding_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    ref = o.get("roleRef") or {}
    return [name_of(o), f"{ref.get('kind') or ''}/{ref.get('name') or ''}", age(o, now), *_subjects(o.get("subjects"))]


def _binding_printer(kind: str, doc: str) -> Printer:
    return Printer((
        NAME,
        col("Role", doc=doc),
        AGE,
        col("Users", priority=1, description=f"Users in the {kind}"),
        col("Groups", priority=1, description=f"Groups in the {kind}"),
        col("ServiceAccounts", priority=1, description=f"ServiceAccounts in the {kind}"),
    ), _binding_cells)


ROLE_BINDING = _binding_printer("roleBinding", "RoleBinding.roleRef")
CLUSTER_ROLE_BINDING = _binding_printer("clusterRoleBinding", "ClusterRoleBinding.roleRef")

# ---------------------------------------------------------------------------------------------------------------
# storage, scheduling, coordination

_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def _storage_class_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    annotations = meta(o).get("annotations") or {}
    name = name_of(o)
    if any(annotations.get(a) == "true" for a in _DEFAULT_CLASS):
        name += " (default)"
    return [name, o.get("provisioner") or "", o.get("reclaimPolicy") or "Delete",
            o.get("volumeBindingMode") or "Immediate", bool(o.get("allowVolumeExpansion")), age(o, now)]


STORAGE_CLASS = Printer((
    NAME,
    col("Provisioner", doc="StorageClass.provisioner"),
    col("ReclaimPolicy", doc="StorageClass.reclaimPolicy"),
    col("VolumeBindingMode", doc="StorageClass.volumeBindingMode"),
    col("AllowVolumeExpansion", doc="StorageClass.allowVolumeExpansion"),
    AGE,
), _storage_class_cells)

PRIORITY_CLASS = Printer((
    NAME,
    col("Value", "integer", "PriorityClass.value"),
    col("Global-Default", "boolean", "PriorityClass.globalDefault"),
    AGE,
    col("PreemptionPolicy", doc="PriorityClass.preemptionPolicy"),
), lambda o, now: [name_of(o), int(o.get("value") or 0), bool(o.get("globalDefault")), age(o, now),
                   o.get("preemptionPolicy") or ""])

LEASE = Printer(
    (NAME, col("Holder", doc="LeaseSpec.holderIdentity"), AGE),
    lambda o, now: [name_of(o), (o.get("spec") or {}).get("holderIdentity") or "", age(o, now)])

PRINTERS: dict[tuple[str, str], Printer] = {
    ("networking.k8s.io", "Ingress"): INGRESS,
    ("networking.k8s.io", "IngressClass"): INGRESS_CLASS,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE,
    ("rbac.authorization.k8s.io", "RoleBinding"): ROLE_BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): CLUSTER_ROLE_BINDING,
    ("storage.k8s.io", "StorageClass"): STORAGE_CLASS,
    ("scheduling.k8s.io", "PriorityClass"): PRIORITY_CLASS,
    ("coordination.k8s.io", "Lease"): LEASE,
}
