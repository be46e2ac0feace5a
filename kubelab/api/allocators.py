"""ClusterIP and NodePort allocation for Services, with the real server's errors.

Mirrors pkg/registry/core/service/ipallocator (the IPAddress-backed Allocator and MetaAllocator the API server
uses since MultiCIDRServiceAllocator went GA: random choice in the upper band first, KEP-3070 static band
below it, ErrAllocated / ErrNotInRange / ErrFull texts), pkg/registry/core/service/portallocator (KEP-3668
bands for node ports, same error texts) and the allocation steps of pkg/registry/core/service/storage/alloc.go
and storage.go (initIPFamilyFields, allocClusterIPs, initNodePorts, updateClusterIPs, updateNodePorts,
patchAllocatedValues, normalizeClusterIPs) together with strategy.go's dropTypeDependentFields.

Simplified: one IPv4 range only (no dual stack, no extra ServiceCIDRs); releases happen immediately and the
returned ServiceAllocation can revert() everything when a later step (validation, storage) fails, where
upstream defers releases to commit; healthCheckNodePort is allocated but not its transitions beyond type
changes.
"""

from __future__ import annotations

import ipaddress
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.errors import ApiError, FieldError, invalid
from kubelab.api.validation.core import validate_service_cluster_ips_related
from kubelab.api.validation.meta import jv

Obj = dict[str, Any]

ERR_ALLOCATED_IP = "provided IP is already allocated"
ERR_ALLOCATED_PORT = "provided port is already allocated"
ERR_FULL = "range is full"
ERR_MISMATCHED_NETWORK = "the provided network does not match the current range"


class AllocationError(ApiError):
    """A failed allocation. `detail` is the Go error text; as an ApiError it is a bare 422 (500 when full).
    allocate_service/reallocate_service turn it into the full `Service "x" is invalid: ...` response."""

    def __init__(self, detail: str, full: bool = False) -> None:
        if full:
            super().__init__(500, "InternalError", f"Internal error occurred: {detail}")
        else:
            super().__init__(422, "Invalid", detail)
        self.detail = detail
        self.full = full


def calculate_range_offset(size: int, minimum: int, maximum: int, step: int) -> int:
    """KEP-3070/3668: min(max(minimum, size/step), maximum), 0 for ranges no larger than `minimum`."""
    if size <= minimum:
        return 0
    return min(max(minimum, size // step), maximum)


class ServiceIPAllocator:
    """ClusterIPs from one CIDR: .allocate(ip=None), .release(ip), .mark(ip), .has(ip)."""

    def __init__(self, cidr: str = "10.96.0.0/16", rng: random.Random | None = None) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self.cidr = str(self.network)
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        base = int(self.network.network_address)
        self._first = base + 1  # never the network's ".0" address
        last = int(self.network.broadcast_address)
        self._last = last - 1 if self.network.version == 4 else last
        self.size = max(0, self._last - self._first + 1)
        self._offset = calculate_range_offset(self.network.num_addresses, 16, 256, 16)
        self._used: set[int] = set()

    def _to_int(self, ip: str) -> int:
        return int(ipaddress.ip_address(ip))

    def _in_range(self, n: int) -> bool:
        return self._first <= n <= self._last

    def has(self, ip: str) -> bool:
        try:
            return self._to_int(ip) in self._used
        except ValueError:
            return False

    def used(self) -> int:
        return len(self._used)

    def free(self) -> int:
        return self.size - len(self._used)

    def allocate(self, ip: str | None = None) -> str:
        """The given IP (AllocateService) or a random free one (AllocateNextService)."""
        with self._lock:
            if ip:
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    raise AllocationError(f"failed to parse service IP {ip!r}") from None
                if addr not in self.network:
                    raise AllocationError(ERR_MISMATCHED_NETWORK)
                n = int(addr)
                if not self._in_range(n):
                    raise AllocationError(
                        f"the provided IP ({ip}) is not in the valid range. "
                        f"The range of valid IPs is {self.cidr}"
                    )
                if n in self._used:
                    raise AllocationError(ERR_ALLOCATED_IP)
                self._used.add(n)
                return str(addr)
            upper = (self._first + self._offset, self._last)
            lower = (self._first, self._first + self._offset - 1)
            for lo, hi in (upper, lower):
                if hi < lo:
                    continue
                span = hi - lo + 1
                start = self._rng.randrange(span)
                for i in range(span):
                    n = lo + (start + i) % span
                    if n not in self._used:
                        self._used.add(n)
                        return str(ipaddress.ip_address(n))
            raise AllocationError(ERR_FULL, full=True)

    def release(self, ip: str) -> None:
        """Releasing an unallocated or out-of-range IP is a no-op, as upstream."""
        with self._lock:
            try:
                self._used.discard(self._to_int(ip))
            except ValueError:
                pass

    def mark(self, ip: str) -> bool:
        """Record an IP found in storage (repair/rebuild); False when it is not in this range."""
        with self._lock:
            try:
                n = self._to_int(ip)
            except ValueError:
                return False
            if not self._in_range(n):
                return False
            self._used.add(n)
            return True


class NodePortAllocator:
    """Node ports base..base+size-1 (default 30000-32767): .allocate(port=None), .release, .mark, .has."""

    def __init__(self, base: int = 30000, size: int = 2768, rng: random.Random | None = None) -> None:
        self.base = base
        self.size = size
        self.range = f"{base}-{base + size - 1}"
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._offset = calculate_range_offset(size, 16, 128, 32)
        self._used: set[int] = set()

    @classmethod
    def from_range(cls, text: str, rng: random.Random | None = None) -> NodePortAllocator:
        lo, _, hi = text.partition("-")
        base = int(lo)
        return cls(base, int(hi) - base + 1 if hi else 1, rng)

    def has(self, port: int) -> bool:
        return port in self._used

    def used(self) -> int:
        return len(self._used)

    def free(self) -> int:
        return self.size - len(self._used)

    def _in_range(self, port: int) -> bool:
        return self.base <= port < self.base + self.size

    def allocate(self, port: int | None = None) -> int:
        with self._lock:
            if port:
                if not self._in_range(port):
                    raise AllocationError(
                        "provided port is not in the valid range. The range of valid ports is " + self.range
                    )
                if port in self._used:
                    raise AllocationError(ERR_ALLOCATED_PORT)
                self._used.add(port)
                return port
            upper = (self.base + self._offset, self.base + self.size - 1)
            lower = (self.base, self.base + self._offset - 1)
            for lo, hi in (upper, lower):
                if hi < lo:
                    continue
                span = hi - lo + 1
                start = self._rng.randrange(span)
                for i in range(span):
                    p = lo + (start + i) % span
                    if p not in self._used:
                        self._used.add(p)
                        return p
            raise AllocationError(ERR_FULL, full=True)

    def release(self, port: int) -> None:
        with self._lock:
            self._used.discard(port)

    def mark(self, port: int) -> bool:
        with self._lock:
            if not self._in_range(port):
                return False
            self._used.add(port)
            return True


# ------------------------------------------------------------------------------------------------------------
# Service-level allocation
# ------------------------------------------------------------------------------------------------------------


@dataclass
class ServiceAllocation:
    """What one allocate/reallocate call changed; revert() undoes it (new released, released re-marked)."""

    ips: ServiceIPAllocator
    ports: NodePortAllocator
    allocated_ips: list[str] = field(default_factory=list)
    allocated_ports: list[int] = field(default_factory=list)
    released_ips: list[str] = field(default_factory=list)
    released_ports: list[int] = field(default_factory=list)

    def revert(self) -> None:
        for ip in self.allocated_ips:
            self.ips.release(ip)
        for p in self.allocated_ports:
            self.ports.release(p)
        for ip in self.released_ips:
            self.ips.mark(ip)
        for p in self.released_ports:
            self.ports.mark(p)
        self.allocated_ips.clear()
        self.allocated_ports.clear()
        self.released_ips.clear()
        self.released_ports.clear()


def _spec(svc: Obj) -> Obj:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = {}
        svc["spec"] = spec
    return spec


def _cips(spec: Obj) -> list[str]:
    """spec.clusterIPs as strings (falling back to clusterIP), tolerating malformed input."""
    raw = spec.get("clusterIPs")
    if isinstance(raw, list):
        return [ip for ip in raw if isinstance(ip, str)]
    cip = spec.get("clusterIP")
    return [cip] if isinstance(cip, str) and cip else []


def _spec_ro(svc: Obj) -> Obj:
    spec = svc.get("spec")
    return spec if isinstance(spec, dict) else {}


def _name(svc: Obj) -> str:
    meta = svc.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _invalid(svc: Obj, errors: list[FieldError]) -> ApiError:
    return invalid("Service", "", _name(svc), errors)


def _internal(detail: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {detail}", {"causes": [{"message": detail}]}
    )


def _needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName"


def _needs_node_port(spec: Obj) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def _needs_hc_node_port(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _should_allocate_node_ports(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    if spec.get("type") == "LoadBalancer":
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return False


def _ports(spec: Obj) -> list[Obj]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _node_ports(spec: Obj) -> list[int]:
    out = [int(p["nodePort"]) for p in _ports(spec) if isinstance(p.get("nodePort"), int) and p["nodePort"]]
    hc = spec.get("healthCheckNodePort")
    if isinstance(hc, int) and hc:
        out.append(hc)
    return out


def _init_ip_family_fields(svc: Obj, old: Obj | None) -> None:
    """initIPFamilyFields for a single-stack IPv4 cluster; raises the 422 upstream raises."""
    spec = _spec(svc)
    if spec.get("type") == "ExternalName":
        return
    if spec.get("ipFamilyPolicy") is None:
        old_policy = _spec(old).get("ipFamilyPolicy") if old is not None else None
        if old_policy is not None:
            spec["ipFamilyPolicy"] = old_policy
        elif spec.get("clusterIP") == "None" and not spec.get("selector"):
            spec["ipFamilyPolicy"] = "RequireDualStack"
        else:
            spec["ipFamilyPolicy"] = "SingleStack"
    errs = validate_service_cluster_ips_related(svc)
    if errs:
        raise _invalid(svc, errs)
    policy = spec["ipFamilyPolicy"]
    ips = _cips(spec) if isinstance(spec.get("clusterIPs"), list) else []
    raw_fams = spec.get("ipFamilies")
    fams: list[Any] = list(raw_fams) if isinstance(raw_fams, list) else []
    el: list[FieldError] = []
    if policy == "SingleStack":
        if len(ips) == 2:
            el.append(
                FieldError(
                    "spec.ipFamilyPolicy",
                    "Invalid value",
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
                    policy,
                )
            )
        if len(fams) == 2:
            el.append(
                FieldError(
                    "spec.ipFamilyPolicy",
                    "Invalid value",
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
                    policy,
                )
            )
    for i, ip in enumerate(ips):
        if ip == "None":
            break
        fam = "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
        if i >= len(fams):
            if fam != "IPv4":
                el.append(
                    FieldError(
                        f"spec.clusterIPs[{i}]",
                        "Invalid value",
                        f"{fam} is not configured on this cluster",
                        jv(ips),
                    )
                )
            else:
                fams.append(fam)
    if el:
        raise _invalid(svc, el)
    if spec.get("clusterIP") == "None" and not spec.get("selector"):
        if not fams:
            fams = ["IPv4"]
        if len(fams) < 2 and policy != "SingleStack":
            fams.append("IPv6" if fams[0] == "IPv4" else "IPv4")
        spec["ipFamilies"] = fams
        return
    if policy == "RequireDualStack":
        el.append(
            FieldError(
                "spec.ipFamilyPolicy",
                "Invalid value",
                "this cluster is not configured for dual-stack services",
                policy,
            )
        )
    for i, fam in enumerate(fams):
        if fam != "IPv4":
            el.append(
                FieldError(f"spec.ipFamilies[{i}]", "Invalid value", "not configured on this cluster", fam)
            )
    if el:
        raise _invalid(svc, el)
    spec["ipFamilies"] = fams or ["IPv4"]


def _alloc_cluster_ips(svc: Obj, ips: ServiceIPAllocator, txn: ServiceAllocation) -> None:
    spec = _spec(svc)
    if spec.get("type") == "ExternalName":
        return
    cips = _cips(spec) if isinstance(spec.get("clusterIPs"), list) else []
    if cips and cips[0] == "None":
        return
    wanted = cips[0] if cips else ""
    try:
        got = ips.allocate(wanted or None)
    except AllocationError as e:
        if e.full:
            raise _internal(f"failed to allocate a serviceIP: {e.detail}") from None
        raise _invalid(
            svc,
            [
                FieldError(
                    "spec.clusterIPs",
                    "Invalid value",
                    f"failed to allocate IP {wanted}: {e.detail}",
                    jv(cips),
                )
            ],
        ) from None
    txn.allocated_ips.append(got)
    spec["clusterIPs"] = [got] + cips[1:]
    spec["clusterIP"] = got


def _find_requested_node_port(port: int, ports: list[Obj]) -> int:
    for p in ports:
        if p.get("port") == port and isinstance(p.get("nodePort"), int) and p["nodePort"]:
            return int(p["nodePort"])
    return 0


def _alloc_node_port(
    svc: Obj, nodeports: NodePortAllocator, txn: ServiceAllocation, index: int, want: int
) -> int:
    try:
        got = nodeports.allocate(want or None)
    except AllocationError as e:
        if e.full:
            raise _internal(f"failed to allocate a nodePort: {e.detail}") from None
        raise _invalid(
            svc, [FieldError(f"spec.ports[{index}].nodePort", "Invalid value", e.detail, want)]
        ) from None
    txn.allocated_ports.append(got)
    return got


def _init_node_ports(svc: Obj, nodeports: NodePortAllocator, txn: ServiceAllocation) -> None:
    spec = _spec(svc)
    ports = _ports(spec)
    by_port: dict[int, int] = {}
    for i, sp in enumerate(ports):
        np_ = sp.get("nodePort") if isinstance(sp.get("nodePort"), int) else 0
        if not np_ and not _should_allocate_node_ports(spec):
            continue
        svc_port = sp["port"] if isinstance(sp.get("port"), int) else 0
        allocated = by_port.get(svc_port, 0)
        if not allocated:
            requested = _find_requested_node_port(svc_port, ports)
            got = _alloc_node_port(svc, nodeports, txn, i, requested)
            sp["nodePort"] = got
            by_port[svc_port] = got
        elif np_ != allocated:
            if not np_:
                sp["nodePort"] = allocated
            else:
                _alloc_node_port(svc, nodeports, txn, i, int(np_))


def _alloc_health_check(svc: Obj, nodeports: NodePortAllocator, txn: ServiceAllocation) -> None:
    spec = _spec(svc)
    hc = spec.get("healthCheckNodePort") if isinstance(spec.get("healthCheckNodePort"), int) else 0
    try:
        got = nodeports.allocate(hc or None)
    except AllocationError as e:
        if hc:
            raise _internal(f"failed to allocate requested HealthCheck NodePort {hc}: {e.detail}") from None
        raise _internal(f"failed to allocate a HealthCheck NodePort 0: {e.detail}") from None
    txn.allocated_ports.append(got)
    spec["healthCheckNodePort"] = got


def allocate_service(svc: Obj, ips: ServiceIPAllocator, ports: NodePortAllocator) -> ServiceAllocation:
    """Service create (REST beginCreate): sync clusterIP(s), settle families, allocate IP and node ports.
    Fills spec.clusterIP/clusterIPs/ipFamilies/ipFamilyPolicy/ports[*].nodePort/healthCheckNodePort in place;
    raises ApiError (422 Invalid, 500 when a range is full) with nothing left allocated."""
    spec = _spec(svc)
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    txn = ServiceAllocation(ips, ports)
    try:
        _init_ip_family_fields(svc, None)
        _alloc_cluster_ips(svc, ips, txn)
        if _needs_node_port(spec):
            _init_node_ports(svc, ports, txn)
        if _needs_hc_node_port(spec):
            _alloc_health_check(svc, ports, txn)
    except ApiError:
        txn.revert()
        raise
    return txn


def release_service(svc: Obj, ips: ServiceIPAllocator, ports: NodePortAllocator) -> None:
    """Service delete: give back its ClusterIPs and node ports."""
    spec = _spec_ro(svc)
    for ip in _cips(spec):
        if ip != "None":
            ips.release(ip)
    for p in _node_ports(spec):
        ports.release(p)


def _patch_allocated_values(new: Obj, old: Obj) -> None:
    ns, os_ = _spec(new), _spec(old)
    if _needs_cluster_ip(os_) and _needs_cluster_ip(ns):
        if not ns.get("clusterIP"):
            ns["clusterIP"] = os_.get("clusterIP", "")
        if not ns.get("clusterIPs") and os_.get("clusterIPs"):
            ns["clusterIPs"] = list(os_["clusterIPs"])
    if _needs_node_port(os_) and _needs_node_port(ns):
        used = set(_node_ports({"ports": os_.get("ports")})) & set(_node_ports({"ports": ns.get("ports")}))
        by_name = {
            str(p.get("name") or ""): p.get("nodePort")
            for p in _ports(os_)
            if isinstance(p.get("nodePort"), int)
        }
        for p in _ports(ns):
            if not p.get("nodePort"):
                old_val = by_name.get(str(p.get("name") or ""))
                if old_val and old_val not in used:
                    p["nodePort"] = old_val
    if _needs_hc_node_port(os_) and _needs_hc_node_port(ns) and not ns.get("healthCheckNodePort"):
        if os_.get("healthCheckNodePort"):
            ns["healthCheckNodePort"] = os_["healthCheckNodePort"]


def _normalize_cluster_ips(new: Obj, old: Obj) -> None:
    ns, os_ = _spec(new), _spec(old)
    old_ips = _cips(os_) if isinstance(os_.get("clusterIPs"), list) else []
    new_ips = _cips(ns) if isinstance(ns.get("clusterIPs"), list) else []
    if old_ips and not new_ips and os_.get("clusterIP", "") == ns.get("clusterIP", ""):
        ns["clusterIPs"] = old_ips
        new_ips = old_ips
    if os_.get("clusterIP", "") != ns.get("clusterIP", ""):
        same_plural = old_ips == new_ips
        if os_.get("clusterIP") and not ns.get("clusterIP"):
            if same_plural:
                ns["clusterIPs"] = None
            return
        if not os_.get("clusterIP") and ns.get("clusterIP"):
            if same_plural:
                ns["clusterIPs"] = [ns["clusterIP"]]
            return
        if same_plural and new_ips:
            new_ips[0] = ns["clusterIP"]
            ns["clusterIPs"] = new_ips


def _drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    ns, os_ = _spec(new), _spec(old)
    if _needs_cluster_ip(os_) and not _needs_cluster_ip(ns):
        if os_.get("clusterIP", "") == ns.get("clusterIP", "") and (os_.get("clusterIPs") or []) == (
            ns.get("clusterIPs") or []
        ):
            ns.pop("clusterIP", None)
            ns.pop("clusterIPs", None)
        if (os_.get("ipFamilies") or None) == (ns.get("ipFamilies") or None):
            ns.pop("ipFamilies", None)
        if os_.get("ipFamilyPolicy") == ns.get("ipFamilyPolicy"):
            ns.pop("ipFamilyPolicy", None)
    if _needs_node_port(os_) and not _needs_node_port(ns):
        if set(_node_ports({"ports": os_.get("ports")})) >= set(_node_ports({"ports": ns.get("ports")})):
            for p in _ports(ns):
                p.pop("nodePort", None)
    if (
        _needs_hc_node_port(os_)
        and not _needs_hc_node_port(ns)
        and os_.get("healthCheckNodePort") == ns.get("healthCheckNodePort")
    ):
        ns.pop("healthCheckNodePort", None)
    if os_.get("type") == "LoadBalancer" and ns.get("type") != "LoadBalancer":
        if ns.get("allocateLoadBalancerNodePorts") is not None and os_.get(
            "allocateLoadBalancerNodePorts"
        ) == ns.get("allocateLoadBalancerNodePorts"):
            ns.pop("allocateLoadBalancerNodePorts", None)
        if os_.get("loadBalancerClass") == ns.get("loadBalancerClass"):
            ns.pop("loadBalancerClass", None)
    if (
        _needs_node_port(os_)
        and not _needs_node_port(ns)
        and os_.get("externalTrafficPolicy") == ns.get("externalTrafficPolicy")
    ):
        if not (ns.get("type") == "ClusterIP" and ns.get("externalIPs")):
            ns.pop("externalTrafficPolicy", None)
    if ns.get("type") != "LoadBalancer":
        status = new.get("status")
        if isinstance(status, dict):
            status["loadBalancer"] = {}


def reallocate_service(
    new: Obj, old: Obj, ips: ServiceIPAllocator, ports: NodePortAllocator
) -> ServiceAllocation:
    """Service update (REST beginUpdate + PrepareForUpdate's type-dependent cleanup): keeps allocated values a
    client left out, allocates a ClusterIP when leaving ExternalName and node ports when becoming NodePort or
    LoadBalancer, releases what the new type no longer uses. Call before validate_update; revert() on
    failure."""
    txn = ServiceAllocation(ips, ports)
    ns, os_ = _spec(new), _spec(old)
    try:
        _patch_allocated_values(new, old)
        _normalize_cluster_ips(new, old)
        _init_ip_family_fields(new, old)
        old_cips = _cips(os_)
        if os_.get("type") == "ExternalName" and ns.get("type") != "ExternalName":
            _alloc_cluster_ips(new, ips, txn)
        elif not (old_cips and old_cips[0] == "None"):
            if os_.get("type") != "ExternalName" and ns.get("type") == "ExternalName":
                for ip in old_cips:
                    ips.release(ip)
                    txn.released_ips.append(ip)
        old_ports = [p for p in _node_ports({"ports": os_.get("ports")})]
        if _needs_node_port(os_) and ns.get("type") in ("ExternalName", "ClusterIP"):
            for p in old_ports:
                ports.release(p)
                txn.released_ports.append(p)
        if _needs_node_port(ns):
            allocated_now: set[int] = set()
            for i, sp in enumerate(_ports(ns)):
                np_ = sp.get("nodePort") if isinstance(sp.get("nodePort"), int) else 0
                if not np_ and not _should_allocate_node_ports(ns):
                    continue
                if np_:
                    if np_ not in old_ports and np_ not in allocated_now:
                        _alloc_node_port(new, ports, txn, i, int(np_))
                        allocated_now.add(int(np_))
                else:
                    got = _alloc_node_port(new, ports, txn, i, 0)
                    sp["nodePort"] = got
                    allocated_now.add(got)
            new_ports = set(_node_ports({"ports": ns.get("ports")}))
            for p in old_ports:
                if p not in new_ports and p not in txn.released_ports:
                    ports.release(p)
                    txn.released_ports.append(p)
        old_hc = os_.get("healthCheckNodePort") if isinstance(os_.get("healthCheckNodePort"), int) else 0
        if not _needs_hc_node_port(os_) and _needs_hc_node_port(ns):
            _alloc_health_check(new, ports, txn)
        elif _needs_hc_node_port(os_) and not _needs_hc_node_port(ns) and old_hc:
            ports.release(old_hc)
            txn.released_ports.append(old_hc)
        _drop_type_dependent_fields(new, old)
    except ApiError:
        txn.revert()
        raise
    return txn


def rebuild(services: list[Obj], ips: ServiceIPAllocator, ports: NodePortAllocator) -> None:
    """Mark every ClusterIP and node port of stored services (what the repair controllers do at start-up)."""
    for svc in services:
        spec = _spec_ro(svc)
        for ip in _cips(spec):
            if ip != "None":
                ips.mark(ip)
        for p in _node_ports(spec):
            ports.mark(p)
