"""The EndpointSlice controller: for every Service with a selector, EndpointSlices listing its pods (mirrors
upstream's ``pkg/controller/endpointslice``: endpointslice_controller.go, reconciler.go, utils.go).

Each slice is named ``<service>-<5 random chars>`` (generateName), labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``, owned by the Service (so the garbage
collector removes the slices with it) and holds at most 100 endpoints of one address type that share the same
resolved ports. Every endpoint carries its pod's IP, nodeName, a targetRef to the pod and conditions: ``serving``
(the pod is ready), ``terminating`` (it is being deleted) and ``ready`` (serving and not terminating, or always with
``publishNotReadyAddresses``). A Service without matching pods keeps one empty placeholder slice.

Simplified: slices are filled in a fixed order (sorted endpoints, chunks of 100) instead of upstream's
minimal-churn packing; no topology hints or traffic distribution; zones come from the node's
``topology.kubernetes.io/zone`` label when the node is known.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kubelab.client import Client, InformerFactory
from kubelab.client.informer import split_key
from kubelab.config import LabConfig
from kubelab.controllers.endpoints import (
    HEADLESS_LABEL,
    TRIGGER_TIME,
    ServicePodsController,
    endpoint_ports,
    is_headless,
    pod_hostname,
    should_be_in_endpoints,
    target_ref,
)
from kubelab.controllers.podutil import (
    as_manager,
    controller_ref,
    is_deleting,
    is_pod_ready,
    labels_of,
    meta,
    new_controller_ref,
    uid_of,
)
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
STALE_AFTER = 10.0  # seconds to wait for the informer to show our own writes


class EndpointSliceController(ServicePodsController):
    name = "endpointslice"
    manager = "endpointslice-controller"
    resource = "endpointslices.discovery.k8s.io"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None, max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> None:
        self.max_endpoints_per_slice = max_endpoints_per_slice
        super().__init__(as_manager(client, self.manager), informers, config, trace)

    def setup(self) -> None:
        # endpointSliceTracker: slices we wrote that the cache does not show yet, per Service key:
        # slice name -> (resourceVersion we wrote, or None for a delete; when)
        self._pending: dict[str, dict[str, tuple[int | None, float]]] = {}
        super().setup()
        self.slice_informer = self.informers.informer(self.resource)
        self.node_informer = self.informers.informer("nodes")
        self.slice_informer.add_handler(self._slice_changed, lambda old, new: self._slice_changed(new),
                                        lambda es: self._slice_changed(es, deleted=True))

    def _slice_changed(self, es: Obj, deleted: bool = False) -> None:
        labels = labels_of(es)
        if labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME or not labels.get(SERVICE_NAME_LABEL):
            return
        key = f"{meta(es).get('namespace')}/{labels[SERVICE_NAME_LABEL]}"
        pending = self._pending.get(key)
        name = str(meta(es).get("name"))
        if pending and name in pending:
            want = pending[name][0]
            if deleted or (want is not None and int(meta(es).get("resourceVersion") or 0) >= want):
                del pending[name]
        self.enqueue_key(key)

    def _expect(self, key: str, name: str, rv: int | None) -> None:
        self._pending.setdefault(key, {})[name] = (rv, self.clock.monotonic())

    def cache_is_stale(self, key: str) -> bool:
        """Our own writes not seen by the informer yet: acting now could create duplicate slices."""
        pending = self._pending.get(key) or {}
        now = self.clock.monotonic()
        for name, (_, at) in list(pending.items()):
            if now - at > STALE_AFTER:
                del pending[name]  # never coming (e.g. the watch was restarted): stop waiting
        return bool(pending)

    # ------------------------------------------------------------------------------------------- sync
    async def sync(self, key: str) -> None:
        self.sync_service(key)

    def sync_service(self, key: str) -> None:
        svc, pods = self.service_and_pods(key)
        if svc is None:
            return  # a deleted Service's slices go with it: the garbage collector follows their ownerReference
        if self.cache_is_stale(key):
            return  # the informer event for our last write enqueues this Service again
        ns, name = split_key(key)
        existing = [es for es in self.slice_informer.list(ns, {"matchLabels": {SERVICE_NAME_LABEL: name,
                                                                               MANAGED_BY_LABEL: CONTROLLER_NAME}})
                    if not is_deleting(es)]
        trigger = self.tracker.compute(key, svc, pods)
        families = list((svc.get("spec") or {}).get("ipFamilies") or ["IPv4"])
        for family in families:
            desired = self.desired_endpoints(svc, pods, family)
            mine = [es for es in existing if es.get("addressType") == family and
                    (controller_ref(es) or {}).get("uid") == uid_of(svc)]
            self.reconcile(svc, family, desired, mine, trigger)
        # slices of other address types, or not owned by this Service (e.g. from a Service of the same name)
        for es in existing:
            if es.get("addressType") not in families or (controller_ref(es) or {}).get("uid") != uid_of(svc):
                self._delete(es, svc)

    def desired_endpoints(self, svc: Obj, pods: list[Obj], family: str) -> dict[str, tuple[list[Obj], list[Obj]]]:
        """port-set key -> (ports, sorted endpoints) for one address type."""
        publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
        for pod in pods:
            if not should_be_in_endpoints(pod, include_terminating=True):
                continue
            ip = _pod_ip(pod, family)
            if ip is None:
                continue
            serving = is_pod_ready(pod)
            terminating = is_deleting(pod)
            ep: Obj = {"addresses": [ip],
                       "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                                      "terminating": terminating}}
            hostname = pod_hostname(pod, svc)
            if hostname:
                ep["hostname"] = hostname
            ep["targetRef"] = target_ref(pod)
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name:
                ep["nodeName"] = node_name
                node = self.node_informer.get(node_name)
                zone = labels_of(node).get(ZONE_LABEL) if node is not None else None
                if zone:
                    ep["zone"] = zone
            ports = sorted(endpoint_ports(pod, svc), key=lambda p: (p["name"], p["port"], p["protocol"]))
            gk = repr([(p["name"], p["port"], p["protocol"], p.get("appProtocol", "")) for p in ports])
            groups.setdefault(gk, (ports, []))[1].append(ep)
        for _, eps in groups.values():
            eps.sort(key=lambda e: (e["addresses"][0], str(e["targetRef"].get("name"))))
        return groups

    def reconcile(self, svc: Obj, family: str, desired: dict[str, tuple[list[Obj], list[Obj]]],
                  existing: list[Obj], trigger: str) -> None:
        if not desired:  # keep one empty placeholder slice, as upstream does
            desired = {"placeholder": ([], [])}
        by_ports: dict[str, list[Obj]] = {}
        for es in sorted(existing, key=lambda s: str(meta(s).get("name"))):
            by_ports.setdefault(_ports_key(es.get("ports") or []), []).append(es)
        labels = self.slice_labels(svc)
        for gk, (ports, eps) in sorted(desired.items()):
            key = _ports_key(ports) if gk != "placeholder" else _ports_key([])
            chunks = [eps[i:i + self.max_endpoints_per_slice]
                      for i in range(0, len(eps), self.max_endpoints_per_slice)] or [[]]
            current = by_ports.pop(key, [])
            for i, chunk in enumerate(chunks):
                if i < len(current):
                    self._update(current[i], svc, chunk, ports, labels, trigger)
                else:
                    self._create(svc, family, chunk, ports, labels, trigger)
            for es in current[len(chunks):]:
                self._delete(es, svc)
        for rest in by_ports.values():
            for es in rest:
                self._delete(es, svc)

    def slice_labels(self, svc: Obj) -> dict[str, str]:
        labels = {k: v for k, v in labels_of(svc).items() if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
        labels[SERVICE_NAME_LABEL] = str(meta(svc).get("name"))
        labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
        if is_headless(svc):
            labels[HEADLESS_LABEL] = ""
        return labels

    # ------------------------------------------------------------------------------------------- writes
    def _create(self, svc: Obj, family: str, eps: list[Obj], ports: list[Obj], labels: dict[str, str],
                trigger: str) -> None:
        name = str(meta(svc).get("name"))
        es: Obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"generateName": f"{name}-", "namespace": meta(svc).get("namespace"),
                                "labels": labels,
                                "ownerReferences": [new_controller_ref(svc, "v1", "Service")]},
                   "addressType": family, "endpoints": eps}
        if trigger:
            es["metadata"]["annotations"] = {TRIGGER_TIME: trigger}
        if ports:
            es["ports"] = ports
        out = self.client.create(self.resource, es, namespace=meta(svc).get("namespace"))
        self._expect(_svc_key(svc), str(meta(out).get("name")), int(meta(out).get("resourceVersion") or 0))
        self.emit("create", out, endpoints=len(eps), service=name)

    def _update(self, es: Obj, svc: Obj, eps: list[Obj], ports: list[Obj], labels: dict[str, str],
                trigger: str) -> None:
        if (es.get("endpoints") or []) == eps and (es.get("ports") or []) == ports and labels_of(es) == labels:
            return
        upd = dict(es, endpoints=eps)
        if ports:
            upd["ports"] = ports
        else:
            upd.pop("ports", None)
        anns = dict(meta(es).get("annotations") or {})
        if trigger:
            anns[TRIGGER_TIME] = trigger
        upd["metadata"] = dict(meta(es), labels=labels, annotations=anns)
        out = self.client.update(self.resource, upd)
        self._expect(_svc_key(svc), str(meta(out).get("name")), int(meta(out).get("resourceVersion") or 0))
        self.emit("update", out, endpoints=len(eps), service=meta(svc).get("name"))

    def _delete(self, es: Obj, svc: Obj) -> None:
        gone = self.client.delete(self.resource, str(meta(es).get("name")), meta(es).get("namespace"),
                                  preconditions={"uid": uid_of(es)})
        if gone is not None and labels_of(es).get(SERVICE_NAME_LABEL) == meta(svc).get("name"):
            self._expect(_svc_key(svc), str(meta(es).get("name")), None)
        self.emit("delete", es)


def _svc_key(svc: Obj) -> str:
    return f"{meta(svc).get('namespace')}/{meta(svc).get('name')}"


def _ports_key(ports: list[Obj]) -> str:
    return repr(sorted((p.get("name") or "", p.get("port"), p.get("protocol") or "TCP", p.get("appProtocol") or "")
                       for p in ports))


def _pod_ip(pod: Obj, family: str) -> str | None:
    """The pod's IP of that family (status.podIPs, falling back to status.podIP)."""
    st = pod.get("status") or {}
    ips = [p.get("ip") for p in st.get("podIPs") or [] if p.get("ip")] or ([st["podIP"]] if st.get("podIP") else [])
    want = 6 if family == "IPv6" else 4
    for ip in ips:
        try:
            if ipaddress.ip_address(ip).version == want:
                return str(ip)
        except ValueError:
            continue
    return None
