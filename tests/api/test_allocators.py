"""ClusterIP / NodePort allocation and the Service-level helpers.

Error texts come from pkg/registry/core/service/ipallocator/interfaces.go (ErrAllocated, ErrNotInRange,
ErrFull, ErrMismatchedNetwork), pkg/registry/core/service/portallocator/allocator.go and
pkg/registry/core/service/storage/alloc.go (how they are wrapped into field errors) in kubernetes/kubernetes.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from kubelab.api.allocators import (
    AllocationError,
    NodePortAllocator,
    ServiceIPAllocator,
    allocate_service,
    calculate_range_offset,
    reallocate_service,
    rebuild,
    release_service,
)
from kubelab.api.defaults import apply_defaults
from kubelab.api.errors import ApiError
from kubelab.api.resources import BUILTIN
from kubelab.api.validation import validate_create, validate_update

SERVICE = next(r for r in BUILTIN if r.kind == "Service")


def allocators(seed: int = 7) -> tuple[ServiceIPAllocator, NodePortAllocator]:
    return ServiceIPAllocator("10.96.0.0/16", random.Random(seed)), NodePortAllocator(rng=random.Random(seed))


def svc(name: str = "web", **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80}]}
    s.update(spec)
    obj = {"metadata": {"name": name, "namespace": "default"}, "spec": s}
    apply_defaults(SERVICE, obj)
    return obj


# ---- ServiceIPAllocator ------------------------------------------------------------------------------------


def test_specific_ips_including_reserved_ones() -> None:
    ips, _ = allocators()
    assert ips.allocate("10.96.0.1") == "10.96.0.1"
    assert ips.allocate("10.96.0.10") == "10.96.0.10"
    with pytest.raises(AllocationError) as e:
        ips.allocate("10.96.0.10")
    assert e.value.detail == "provided IP is already allocated" and e.value.code == 422


@pytest.mark.parametrize(
    "ip,detail",
    [
        ("10.97.0.1", "the provided network does not match the current range"),
        (
            "10.96.0.0",
            "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/16",
        ),
        (
            "10.96.255.255",
            "the provided IP (10.96.255.255) is not in the valid range. The range of valid IPs is "
            "10.96.0.0/16",
        ),
    ],
)
def test_out_of_range_ips(ip: str, detail: str) -> None:
    ips, _ = allocators()
    with pytest.raises(AllocationError) as e:
        ips.allocate(ip)
    assert e.value.detail == detail


def test_dynamic_ips_prefer_upper_band_and_are_deterministic() -> None:
    # KEP-3070: a /16 reserves its first 256 addresses for static allocation
    assert calculate_range_offset(65536, 16, 256, 16) == 256
    a, _ = allocators(1)
    b, _ = allocators(1)
    first = [a.allocate() for _ in range(20)]
    assert first == [b.allocate() for _ in range(20)]
    assert len(set(first)) == 20
    assert all(int(ip.split(".")[2]) >= 1 for ip in first)


def test_ip_exhaustion_release_and_mark() -> None:
    ips = ServiceIPAllocator("10.0.0.0/29", random.Random(3))  # 6 usable addresses, no static band
    got = {ips.allocate() for _ in range(6)}
    assert got == {f"10.0.0.{i}" for i in range(1, 7)}
    with pytest.raises(AllocationError) as e:
        ips.allocate()
    assert e.value.detail == "range is full" and e.value.code == 500
    ips.release("10.0.0.3")
    assert ips.allocate() == "10.0.0.3"
    ips.release("192.168.0.1")  # releasing an IP out of range is a no-op
    fresh = ServiceIPAllocator("10.0.0.0/29")
    assert fresh.mark("10.0.0.2") and not fresh.mark("10.1.0.2") and fresh.has("10.0.0.2")
    assert fresh.used() == 1 and fresh.free() == 5


# ---- NodePortAllocator -------------------------------------------------------------------------------------


def test_node_ports() -> None:
    _, ports = allocators()
    assert ports.allocate(30080) == 30080
    with pytest.raises(AllocationError) as e:
        ports.allocate(30080)
    assert e.value.detail == "provided port is already allocated"
    with pytest.raises(AllocationError) as e:
        ports.allocate(80)
    assert (
        e.value.detail == "provided port is not in the valid range. The range of valid ports is 30000-32767"
    )
    dynamic = ports.allocate()
    assert 30086 <= dynamic <= 32767  # KEP-3668 static band: min(max(16, 2768/32), 128) = 86


def test_node_port_exhaustion() -> None:
    ports = NodePortAllocator.from_range("30000-30003", random.Random(0))
    assert sorted(ports.allocate() for _ in range(4)) == [30000, 30001, 30002, 30003]
    with pytest.raises(AllocationError) as e:
        ports.allocate()
    assert e.value.full
    ports.release(30001)
    assert ports.allocate() == 30001


# ---- allocate_service --------------------------------------------------------------------------------------


def test_allocate_cluster_ip_service() -> None:
    ips, ports = allocators()
    s = svc()
    allocate_service(s, ips, ports)
    spec = s["spec"]
    assert spec["clusterIP"] == spec["clusterIPs"][0] and ips.has(spec["clusterIP"])
    assert "nodePort" not in spec["ports"][0]
    assert validate_create(SERVICE, s) == []


def test_allocate_requested_ip_and_conflict_message() -> None:
    ips, ports = allocators()
    allocate_service(svc("a", clusterIP="10.96.0.5"), ips, ports)
    with pytest.raises(ApiError) as e:
        allocate_service(svc("b", clusterIP="10.96.0.5"), ips, ports)
    assert e.value.code == 422
    assert e.value.message == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to '
        "allocate IP 10.96.0.5: provided IP is already allocated"
    )


def test_headless_and_external_name_get_no_ip() -> None:
    ips, ports = allocators()
    headless = svc("h", clusterIP="None")
    allocate_service(headless, ips, ports)
    assert headless["spec"]["clusterIPs"] == ["None"] and ips.used() == 0
    ext = svc("e", type="ExternalName", externalName="example.com", selector=None, ports=[])
    allocate_service(ext, ips, ports)
    assert "clusterIP" not in ext["spec"] and ips.used() == 0


def test_node_port_service() -> None:
    ips, ports = allocators()
    s = svc(
        type="NodePort",
        ports=[
            {"port": 53, "protocol": "TCP", "name": "tcp"},
            {"port": 53, "protocol": "UDP", "name": "udp"},
            {"port": 80, "name": "http", "nodePort": 30080},
        ],
    )
    allocate_service(s, ips, ports)
    p = s["spec"]["ports"]
    assert p[0]["nodePort"] == p[1]["nodePort"]  # same service port number shares a node port
    assert p[2]["nodePort"] == 30080
    assert ports.used() == 2
    assert validate_create(SERVICE, s) == []


def test_node_port_conflict_reverts_cluster_ip() -> None:
    ips, ports = allocators()
    allocate_service(svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]), ips, ports)
    used_ips = ips.used()
    with pytest.raises(ApiError) as e:
        allocate_service(svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]), ips, ports)
    assert e.value.message == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port '
        "is already allocated"
    )
    assert ips.used() == used_ips


def test_load_balancer_without_node_ports_and_health_check() -> None:
    ips, ports = allocators()
    lb = svc(type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    allocate_service(lb, ips, ports)
    assert "nodePort" not in lb["spec"]["ports"][0] and ports.used() == 0
    local = svc("l", type="LoadBalancer", externalTrafficPolicy="Local")
    allocate_service(local, ips, ports)
    assert local["spec"]["healthCheckNodePort"] and ports.used() == 2
    assert validate_create(SERVICE, local) == []


def test_dual_stack_requests_rejected() -> None:
    ips, ports = allocators()
    with pytest.raises(ApiError) as e:
        allocate_service(svc(ipFamilyPolicy="RequireDualStack"), ips, ports)
    assert e.value.message == (
        'Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
        "this cluster is not configured for dual-stack services"
    )
    with pytest.raises(ApiError) as e:
        allocate_service(svc(clusterIP="fd00::10"), ips, ports)
    assert e.value.message == (
        'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["fd00::10"]: IPv6 is not '
        "configured on this cluster"
    )


def test_full_range_is_internal_error() -> None:
    ips = ServiceIPAllocator("10.0.0.0/30", random.Random(0))
    ports = NodePortAllocator(rng=random.Random(0))
    allocate_service(svc("a"), ips, ports)
    allocate_service(svc("b"), ips, ports)
    with pytest.raises(ApiError) as e:
        allocate_service(svc("c"), ips, ports)
    assert e.value.code == 500
    assert e.value.message == "Internal error occurred: failed to allocate a serviceIP: range is full"


def test_release_and_rebuild() -> None:
    ips, ports = allocators()
    s = svc(type="NodePort")
    allocate_service(s, ips, ports)
    release_service(s, ips, ports)
    assert ips.used() == 0 and ports.used() == 0
    ips2, ports2 = allocators()
    rebuild([s, svc("h", clusterIP="None")], ips2, ports2)
    assert ips2.has(s["spec"]["clusterIP"]) and ports2.has(s["spec"]["ports"][0]["nodePort"])


# ---- reallocate_service ------------------------------------------------------------------------------------


def test_cluster_ip_to_node_port_and_back() -> None:
    ips, ports = allocators()
    old = svc()
    allocate_service(old, ips, ports)
    new = copy.deepcopy(old)
    new["spec"]["type"] = "NodePort"
    apply_defaults(SERVICE, new)
    reallocate_service(new, old, ips, ports)
    np_ = new["spec"]["ports"][0]["nodePort"]
    assert ports.has(np_) and new["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert validate_update(SERVICE, new, old) == []
    back = copy.deepcopy(new)
    back["spec"]["type"] = "ClusterIP"
    apply_defaults(SERVICE, back)
    reallocate_service(back, new, ips, ports)
    assert not ports.has(np_)
    assert "nodePort" not in back["spec"]["ports"][0] and "externalTrafficPolicy" not in back["spec"]
    assert validate_update(SERVICE, back, new) == []


def test_update_keeps_allocated_values_the_client_left_out() -> None:
    ips, ports = allocators()
    old = svc(type="NodePort")
    allocate_service(old, ips, ports)
    new = svc(type="NodePort")  # e.g. kubectl replace with the original manifest
    reallocate_service(new, old, ips, ports)
    assert new["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert new["spec"]["ports"][0]["nodePort"] == old["spec"]["ports"][0]["nodePort"]
    assert validate_update(SERVICE, new, old) == []


def test_to_and_from_external_name() -> None:
    ips, ports = allocators()
    old = svc()
    allocate_service(old, ips, ports)
    ip = old["spec"]["clusterIP"]
    ext = copy.deepcopy(old)
    ext["spec"].update(type="ExternalName", externalName="example.com")
    reallocate_service(ext, old, ips, ports)
    assert not ips.has(ip) and "clusterIP" not in ext["spec"] and "ipFamilies" not in ext["spec"]
    back = copy.deepcopy(ext)
    back["spec"]["type"] = "ClusterIP"
    back["spec"].pop("externalName")
    apply_defaults(SERVICE, back)
    reallocate_service(back, ext, ips, ports)
    assert ips.has(back["spec"]["clusterIP"])


def test_revert_undoes_an_update() -> None:
    ips, ports = allocators()
    old = svc()
    allocate_service(old, ips, ports)
    new = copy.deepcopy(old)
    new["spec"]["type"] = "NodePort"
    apply_defaults(SERVICE, new)
    txn = reallocate_service(new, old, ips, ports)
    assert ports.used() == 1
    txn.revert()
    assert ports.used() == 0 and ips.has(old["spec"]["clusterIP"])
