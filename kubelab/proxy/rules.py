"""What kube-proxy should forward, computed from Services and EndpointSlices: a pure function.

Mirrors the translation kube-proxy's proxiers do (pkg/proxy: ``ServicePortName``, the service and endpoints change
trackers, then ``syncProxyRules``): every TCP port of a Service with a cluster IP becomes a rule ``clusterIP:port
-> ready endpoints``; a NodePort (or LoadBalancer) Service also gets ``nodeIP:nodePort -> the same endpoints`` on
every node address (and 127.0.0.1, as kube-proxy's ``--nodeport-addresses`` default includes the loopback).
Endpoints come from the Service's EndpointSlices (label ``kubernetes.io/service-name``), matched to the Service
port by port *name*, as kube-proxy matches them; an endpoint counts when ``conditions.ready`` is not false.

Simplified: IPv4 and TCP only; no externalIPs, load-balancer ingress IPs or traffic policies; terminating
endpoints are never used as a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
Address = tuple[str, int]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_SECONDS = 10800  # v1.DefaultClientIPServiceAffinitySeconds


@dataclass(frozen=True)
class ServicePortName:
    """kube-proxy's key for one port of one Service: ``namespace/name:port``."""

    namespace: str
    name: str
    port: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class Rule:
    """Connections to ``address`` go to one of ``endpoints``; ``affinity`` is the ClientIP stickiness in seconds
    (None: every connection picks again)."""

    service: ServicePortName
    address: Address
    endpoints: tuple[Address, ...]
    affinity: float | None = None
    node_port: bool = False


@dataclass
class Rules:
    """Addresses to listen on, and the Service ports that have no ready endpoint (connections are refused)."""

    active: dict[Address, Rule] = field(default_factory=dict)
    refused: dict[Address, ServicePortName] = field(default_factory=dict)


def ready_endpoints(slices: list[Obj], port_name: str) -> tuple[Address, ...]:
    """The ready ``(ip, port)`` pairs of one Service port across the Service's EndpointSlices."""
    found: set[Address] = set()
    for s in slices:
        if s.get("addressType", "IPv4") != "IPv4":
            continue
        port = next((p.get("port") for p in s.get("ports") or []
                     if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == "TCP"), None)
        if not isinstance(port, int):
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for ip in ep.get("addresses") or []:
                found.add((str(ip), port))
    return tuple(sorted(found))


def _affinity(spec: Obj) -> float | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
    return float(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)


def build_rules(services: list[Obj], slices: list[Obj], node_ips: tuple[str, ...] = ()) -> Rules:
    """Every listening address the Services ask for (see the module docstring)."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for s in slices:
        meta = s.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((str(meta.get("namespace") or ""), str(owner)), []).append(s)
    rules = Rules()
    node_addresses = tuple(dict.fromkeys(("127.0.0.1", *node_ips)))
    for svc in services:
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        cluster_ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName" or not cluster_ip or cluster_ip == "None" or ":" in cluster_ip:
            continue
        affinity = _affinity(spec)
        for p in spec.get("ports") or []:
            if (p.get("protocol") or "TCP") != "TCP" or not isinstance(p.get("port"), int):
                continue
            key = ServicePortName(ns, name, str(p.get("name") or ""))
            endpoints = ready_endpoints(by_service.get((ns, name), []), key.port)
            addresses: list[tuple[Address, bool]] = [((cluster_ip, p["port"]), False)]
            if spec.get("type") in ("NodePort", "LoadBalancer") and isinstance(p.get("nodePort"), int):
                addresses += [((ip, p["nodePort"]), True) for ip in node_addresses]
            for address, is_node_port in addresses:
                if endpoints:
                    rules.active[address] = Rule(key, address, endpoints, affinity, is_node_port)
                else:
                    rules.refused[address] = key
    return rules
