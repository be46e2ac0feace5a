"""The Endpoints controller: for every Service with a selector, an Endpoints object of the same name listing the
matching pods' IPs and ports (mirrors upstream's ``pkg/controller/endpoint/endpoints_controller.go``).

Ready pods go to ``addresses``, the others to ``notReadyAddresses`` (all of them ready when the Service has
``publishNotReadyAddresses``); terminating and finished pods, and pods without an IP, are left out. Ports come
from the Service's ``targetPort``: a number as is, a name looked up among the pod's container ports. Addresses with
the same ports share a subset. ``endpoints.kubernetes.io/last-change-trigger-time`` records when the earliest
change not yet reflected happened (a pod becoming ready, a pod or the Service being created).

Also the helpers the EndpointSlice controller shares: which pods belong in endpoints, port resolution, the
trigger-time tracker. Simplified: no 1000-address capacity truncation; IPv4 and IPv6 both come from
``status.podIP``; ``default/kubernetes`` is skipped (the API server owns it).
"""

from __future__ import annotations

import logging
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory, meta_key
from kubelab.client.informer import split_key
from kubelab.config import LabConfig
from kubelab.controllers.podutil import (
    as_manager,
    is_deleting,
    is_pod_ready,
    labels_of,
    meta,
    pod_condition,
    ts,
)
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]

TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"
API_SERVER_SERVICE = "default/kubernetes"


# ---------------------------------------------------------------------------------------------- shared helpers
def service_selector(svc: Obj) -> dict[str, str] | None:
    """The Service's selector, or None when endpoints are not ours to manage (no selector, ExternalName)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    sel = spec.get("selector")
    return dict(sel) if sel else None


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """endpointutil.ShouldPodBeInEndpoints: has an IP, not finished, and (unless asked) not terminating."""
    st = pod.get("status") or {}
    if not st.get("podIP"):
        return False
    if not include_terminating and is_deleting(pod):
        return False
    restart = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    phase = st.get("phase")
    if restart == "Never":
        return phase not in ("Failed", "Succeeded")
    if restart == "OnFailure":
        return phase != "Succeeded"
    return True


def find_port(pod: Obj, svc_port: Obj) -> int | None:
    """podutil.FindPort: the container port a Service port's targetPort names (or its number)."""
    target = svc_port.get("targetPort")
    if target is None:
        target = svc_port.get("port")
    if isinstance(target, int):
        return target
    name = str(target)
    proto = svc_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for c in [*(spec.get("containers") or []), *sidecars]:
        for p in c.get("ports") or []:
            if p.get("name") == name and (p.get("protocol") or "TCP") == proto:
                return int(p["containerPort"])
    return int(name) if name.isdigit() else None


def endpoint_ports(pod: Obj, svc: Obj) -> list[Obj]:
    out = []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        num = find_port(pod, sp)
        if num is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": num, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def pod_hostname(pod: Obj, svc: Obj) -> str:
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == meta(svc).get("name") and \
            meta(pod).get("namespace") == meta(svc).get("namespace"):
        return str(spec["hostname"])
    return ""


def target_ref(pod: Obj) -> Obj:
    m = meta(pod)
    return {"kind": "Pod", "namespace": m.get("namespace"), "name": m.get("name"), "uid": m.get("uid")}


def pod_trigger_time(pod: Obj) -> str:
    """When the pod last changed in a way endpoints care about: its Ready condition's last transition."""
    c = pod_condition(pod, "Ready")
    return str((c or {}).get("lastTransitionTime") or "")


def _later(t: str, than: str | None) -> bool:
    if than is None:
        return True  # never seen: a change
    a, b = ts(t), ts(than)
    return a is not None and (b is None or a > b)


class TriggerTimeTracker:
    """endpointsLastChangeTriggerTime: per Service, the time of the earliest change (a pod's readiness flip, a new
    pod, the Service's creation) that the endpoints written last time did not reflect yet."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, dict[str, str]]] = {}

    def compute(self, key: str, svc: Obj, pods: list[Obj]) -> str:
        svc_time = str(meta(svc).get("creationTimestamp") or "")
        pod_times = {str(meta(p).get("name")): pod_trigger_time(p) for p in pods}
        prev = self._seen.get(key)
        self._seen[key] = (svc_time, pod_times)
        changed = [t for n, t in pod_times.items() if _later(t, prev[1].get(n) if prev else None)]
        if prev is None or _later(svc_time, prev[0]):
            changed.append(svc_time)
        times = sorted((x, t) for t in changed if t and (x := ts(t)) is not None)
        return times[0][1] if times else ""

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


class ServicePodsController(Controller):
    """The shared wiring of the Endpoints and EndpointSlice controllers: Services and pods in, service keys out."""

    def setup(self) -> None:
        self.tracker = TriggerTimeTracker()
        self.svc_informer = self.informers.informer("services")
        self.pod_informer = self.informers.informer("pods")
        self.svc_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._service_deleted)
        self.pod_informer.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new, old),
                                      self._pod_changed)

    def _service_deleted(self, svc: Obj) -> None:
        self.tracker.forget(meta_key(svc))
        self.enqueue(svc)

    def _pod_changed(self, pod: Obj, old: Obj | None = None) -> None:
        """Enqueue every Service whose selector matches the pod now or matched it before."""
        label_sets = [labels_of(pod)] + ([labels_of(old)] if old is not None else [])
        for svc in self.svc_informer.list(meta(pod).get("namespace")):
            sel = service_selector(svc)
            if sel and any(all(ls.get(k) == v for k, v in sel.items()) for ls in label_sets):
                self.enqueue(svc)

    def service_and_pods(self, key: str) -> tuple[Obj | None, list[Obj]]:
        """The Service behind ``key`` and its pods, or (None, []) when there is nothing for us to manage."""
        if key == API_SERVER_SERVICE:
            return None, []
        svc = self.svc_informer.get_key(key)
        if svc is None:
            return None, []
        sel = service_selector(svc)
        if sel is None:
            return None, []
        ns, _ = split_key(key)
        return svc, self.pod_informer.list(ns, {"matchLabels": sel})


class EndpointsController(ServicePodsController):
    name = "endpoint"
    manager = "endpoint-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        super().__init__(as_manager(client, self.manager), informers, config, trace)

    def setup(self) -> None:
        super().setup()
        self.ep_informer = self.informers.informer("endpoints")
        self.ep_informer.add_handler(on_delete=self.enqueue)  # someone deleted ours: write it again

    async def sync(self, key: str) -> None:
        self.sync_service(key)

    def sync_service(self, key: str) -> None:
        ns, name = split_key(key)
        if key == API_SERVER_SERVICE:
            return
        svc = self.svc_informer.get_key(key)
        if svc is None:
            # the Service is gone: so are its endpoints (unless someone else manages an Endpoints of that name)
            if self.ep_informer.get_key(key) is not None:
                self.client.delete("endpoints", name, ns)
                self.emit("delete", kind="Endpoints", namespace=ns or "", name=name)
            return
        svc, pods = self.service_and_pods(key)
        if svc is None:
            return
        subsets = build_subsets(svc, pods)
        trigger = self.tracker.compute(key, svc, pods)
        labels = labels_of(svc)
        if is_headless(svc):
            labels[HEADLESS_LABEL] = ""
        else:
            labels.pop(HEADLESS_LABEL, None)
        current = self.ep_informer.get_key(key)
        if current is not None and (current.get("subsets") or []) == subsets and labels_of(current) == labels:
            return
        anns = dict(meta(current).get("annotations") or {}) if current is not None else {}
        if trigger:
            anns[TRIGGER_TIME] = trigger
        else:
            anns.pop(TRIGGER_TIME, None)
        if current is None:
            ep: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": name, "namespace": ns, "labels": labels}}
            if anns:
                ep["metadata"]["annotations"] = anns
            if subsets:
                ep["subsets"] = subsets
            try:
                self.client.create("endpoints", ep, namespace=ns)
            except ApiError as e:
                if e.reason != "AlreadyExists":
                    raise
                raise ApiError(409, "Conflict", "endpoints exist but are not in the cache yet") from None
            self.emit("create", ep, addresses=_count(subsets, "addresses"),
                      not_ready=_count(subsets, "notReadyAddresses"))
            return
        upd = dict(current, subsets=subsets)
        upd["metadata"] = dict(meta(current), labels=labels, annotations=anns)
        if not anns:
            upd["metadata"].pop("annotations")
        if not subsets:
            upd.pop("subsets")
        self.client.update("endpoints", upd)
        self.emit("update", upd, addresses=_count(subsets, "addresses"),
                  not_ready=_count(subsets, "notReadyAddresses"))


def _count(subsets: list[Obj], field: str) -> int:
    return sum(len(s.get(field) or []) for s in subsets)


def build_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets for a Service and its pods, repacked: addresses with the same ports share a subset;
    addresses sorted by IP, ports by name (upstream RepackSubsets + SortSubsets)."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    has_ports = bool((svc.get("spec") or {}).get("ports"))
    groups: dict[str, tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, include_terminating=publish):
            continue
        ports = endpoint_ports(pod, svc)
        if not ports and (has_ports or not is_headless(svc)):
            continue  # no port resolved (a headless Service without ports still lists addresses)
        addr: Obj = {"ip": (pod.get("status") or {})["podIP"]}
        hostname = pod_hostname(pod, svc)
        if hostname:
            addr["hostname"] = hostname
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            addr["nodeName"] = node
        addr["targetRef"] = target_ref(pod)
        ports = sorted(ports, key=lambda p: (p["name"], p["port"], p["protocol"]))
        gk = repr([(p["name"], p["port"], p["protocol"], p.get("appProtocol", "")) for p in ports])
        ready_list, not_ready_list, port_list = groups.setdefault(gk, ([], [], ports))
        (ready_list if publish or is_pod_ready(pod) else not_ready_list).append(addr)
    out = []
    for gk in sorted(groups):
        ready, not_ready, ports = groups[gk]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=_addr_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_addr_key)
        if ports:
            subset["ports"] = ports
        out.append(subset)
    return out


def _addr_key(a: Obj) -> tuple[str, str]:
    return str(a.get("ip")), str((a.get("targetRef") or {}).get("uid") or "")
