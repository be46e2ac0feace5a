"""Server-side printers for core/v1 kinds: pods, nodes, services, endpoints, events, namespaces, config and storage.

Mirrors printPod, printNode, printService, printEndpoints, printEvent, printNamespace, printSecret, printConfigMap,
printServiceAccount, printPersistentVolume(Claim), printPodTemplate and printResourceQuota of
kubernetes/pkg/printers/internalversion/printers.go, with the API server's ``Wide: true`` (every column, including
priority-1 ones, is filled; kubectl hides those without ``-o wide``).

Simplified: quantities are printed as stored (upstream re-canonicalizes resource.Quantity); the pod printer reads
the v1 JSON directly (podIP falls back to podIPs[0], as the v1->internal conversion arranges).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.api.duration import parse_timestamp, since
from kubelab.api.printers.common import AGE, NAME, Obj, Printer, age, col, meta, name_of
from kubelab.api.selectors import format_labels

# ---------------------------------------------------------------------------------------------------------------
# pods

_POD_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                   "message": "The pod has completed successfully."}]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
_TERMINAL = ("Succeeded", "Failed")


def _later(cur: _dt.datetime | None, ts: Any) -> _dt.datetime | None:
    t = parse_timestamp(ts) if isinstance(ts, str) and ts else None
    if t is None or (cur is not None and t <= cur):
        return cur
    return t


def _pod_cells(pod: Obj, now: _dt.datetime) -> list[Any]:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    total = len(spec.get("containers") or ())
    ready = 0
    restarts = 0
    restartable_restarts = 0
    last_restart: _dt.datetime | None = None
    last_restartable: _dt.datetime | None = None

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    conditions = status.get("conditions") or ()
    for c in conditions:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = spec.get("initContainers") or ()
    restartable: set[str] | tuple[()] = ()
    if init_specs:
        restartable = {c.get("name") or "" for c in init_specs if c.get("restartPolicy") == "Always"}
        total += len(restartable)

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or ()):
        rc = cs.get("restartCount") or 0
        restarts += rc
        last_term = (cs.get("lastState") or {}).get("terminated")
        if last_term is not None:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        is_restartable = cs.get("name") in restartable
        if is_restartable:
            restartable_restarts += rc
            if last_term is not None:
                last_restartable = _later(last_restartable, last_term.get("finishedAt"))
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and (term.get("exitCode") or 0) == 0:
            continue
        if is_restartable and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if not term.get("reason"):
                sig = term.get("signal") or 0
                reason = f"Init:Signal:{sig}" if sig else f"Init:ExitCode:{term.get('exitCode') or 0}"
            else:
                reason = "Init:" + term["reason"]
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = restartable_restarts
        last_restart = last_restartable
        has_running = False
        statuses = status.get("containerStatuses") or ()
        for cs in reversed(statuses):
            restarts += cs.get("restartCount") or 0
            last_term = (cs.get("lastState") or {}).get("terminated")
            if last_term is not None:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            state = cs.get("state") or {}
            waiting = state.get("waiting")
            term = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                sig = term.get("signal") or 0
                reason = f"Signal:{sig}" if sig else f"ExitCode:{term.get('exitCode') or 0}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready", first=False) else "NotReady"

    if md.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in _TERMINAL:
            reason = "Terminating"

    restarts_str = str(restarts)
    if restarts and last_restart is not None:
        restarts_str = f"{restarts} ({since(last_restart, now)} ago)"

    pod_ip = status.get("podIP")
    if not pod_ip:
        ips = status.get("podIPs")
        pod_ip = (ips[0].get("ip") if ips else "") or "<none>"
    gates = spec.get("readinessGates")
    gates_str = "<none>"
    if gates:
        true_count = 0
        for g in gates:
            want = g.get("conditionType")
            for c in conditions:
                if c.get("type") == want:
                    if c.get("status") == "True":
                        true_count += 1
                    break
        gates_str = f"{true_count}/{len(gates)}"
    return [md.get("name") or "", f"{ready}/{total}", reason, restarts_str,
            since(md.get("creationTimestamp"), now),
            pod_ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_str]


def _condition_true(conditions: Any, type_: str, first: bool = True) -> bool:
    """isPodInitializedConditionTrue (first match decides) / hasPodReadyCondition (any true)."""
    for c in conditions:
        if c.get("type") == type_:
            if c.get("status") == "True":
                return True
            if first:
                return False
    return False


def _pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return _POD_SUCCEEDED
    if phase == "Failed":
        return _POD_FAILED
    return None


POD = Printer((
    NAME,
    col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
    col("Status", description="The aggregate status of the containers in this pod."),
    col("Restarts", description="The number of times the containers in this pod have been restarted and when the "
                                "last container in this pod has restarted."),
    AGE,
    col("IP", doc="PodStatus.podIP", priority=1),
    col("Node", doc="PodSpec.nodeName", priority=1),
    col("Nominated Node", doc="PodStatus.nominatedNodeName", priority=1),
    col("Readiness Gates", doc="PodSpec.readinessGates", priority=1),
), _pod_cells, _pod_conditions)


def _pod_template_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    tmpl = (o.get("template") or {})
    cs = (tmpl.get("spec") or {}).get("containers") or ()
    return [name_of(o), ",".join(c.get("name") or "" for c in cs), ",".join(c.get("image") or "" for c in cs),
            format_labels((tmpl.get("metadata") or {}).get("labels"))]


POD_TEMPLATE = Printer((
    NAME,
    col("Containers", description="Names of each container in the template."),
    col("Images", description="Images referenced by each container in the template."),
    col("Pod Labels", description="The labels for the pod template."),
), _pod_template_cells)

# ---------------------------------------------------------------------------------------------------------------
# nodes

_ROLE_PREFIX = "node-role.kubernetes.io/"


def _node_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    status = o.get("status") or {}
    ready = None
    for c in status.get("conditions") or ():
        if c.get("type") == "Ready":
            ready = c
    states = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (o.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for k, v in (meta(o).get("labels") or {}).items():
        if k.startswith(_ROLE_PREFIX):
            if k[len(_ROLE_PREFIX):]:
                roles.add(k[len(_ROLE_PREFIX):])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    info = status.get("nodeInfo") or {}
    internal = external = "<none>"
    for a in status.get("addresses") or ():
        if a.get("type") == "InternalIP" and internal == "<none>":
            internal = a.get("address") or ""
        elif a.get("type") == "ExternalIP" and external == "<none>":
            external = a.get("address") or ""
    return [name_of(o), ",".join(states), ",".join(sorted(roles)) or "<none>", age(o, now),
            info.get("kubeletVersion") or "", internal, external, info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


NODE = Printer((
    NAME,
    col("Status", description="The status of the node"),
    col("Roles", description="The roles of the node"),
    AGE,
    col("Version", doc="NodeSystemInfo.kubeletVersion"),
    col("Internal-IP", doc="NodeStatus.addresses", priority=1),
    col("External-IP", doc="NodeStatus.addresses", priority=1),
    col("OS-Image", doc="NodeSystemInfo.osImage", priority=1),
    col("Kernel-Version", doc="NodeSystemInfo.kernelVersion", priority=1),
    col("Container-Runtime", doc="NodeSystemInfo.containerRuntimeVersion", priority=1),
), _node_cells)

# ---------------------------------------------------------------------------------------------------------------
# services and endpoints


def _lb_ingress(status: Obj | None) -> str:
    found: set[str] = set()
    for i in (status or {}).get("ingress") or ():
        if i.get("ip") or i.get("hostname"):
            found.add(i.get("ip") or i.get("hostname"))
    return ",".join(sorted(found))


def _service_external_ip(svc: Obj, svc_type: str) -> str:
    spec = svc.get("spec") or {}
    ext = spec.get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else "<none>"
    if svc_type == "LoadBalancer":
        lb = _lb_ingress((svc.get("status") or {}).get("loadBalancer"))
        if ext:
            return ",".join((lb.split(",") if lb else []) + list(ext))
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return spec.get("externalName") or ""
    return "<unknown>"


def _service_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    pieces = []
    for p in spec.get("ports") or ():
        proto = p.get("protocol") or "TCP"
        node_port = p.get("nodePort") or 0
        pieces.append(f"{p.get('port')}:{node_port}/{proto}" if node_port > 0 else f"{p.get('port')}/{proto}")
    return [name_of(o), svc_type, ips[0] if ips else "<none>", _service_external_ip(o, svc_type),
            ",".join(pieces) or "<none>", age(o, now), format_labels(spec.get("selector"))]


SERVICE = Printer((
    NAME,
    col("Type", doc="ServiceSpec.type"),
    col("Cluster-IP", doc="ServiceSpec.clusterIP"),
    col("External-IP", doc="ServiceSpec.externalIPs"),
    col("Port(s)", doc="ServiceSpec.ports"),
    AGE,
    col("Selector", doc="ServiceSpec.selector", priority=1),
), _service_cells)


def _join_host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(o: Obj) -> str:
    """formatEndpoints: up to 3 ``ip:port`` entries, then `` + N more...``."""
    subsets = o.get("subsets") or ()
    if not subsets:
        return "<none>"
    out: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        addrs = ss.get("addresses") or ()
        ports = ss.get("ports") or ()
        if not ports:
            count += len(addrs)
            for a in addrs:
                if len(out) == limit:
                    more = True
                    break
                out.append(a.get("ip") or "")
            continue
        for p in ports:
            count += len(addrs)
            for a in addrs:
                if len(out) == limit:
                    more = True
                    break
                out.append(_join_host_port(a.get("ip") or "", p.get("port")))
    ret = ",".join(out)
    return f"{ret} + {count - limit} more..." if more else ret


ENDPOINTS = Printer((NAME, col("Endpoints", doc="Endpoints.subsets"), AGE),
                    lambda o, now: [name_of(o), format_endpoints(o), age(o, now)])

# ---------------------------------------------------------------------------------------------------------------
# events (core/v1 and events.k8s.io/v1 share storage and this printer)


def _event_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    v1 = "involvedObject" not in o and ("regarding" in o or "note" in o or "deprecatedSource" in o)
    ref = (o.get("regarding") if v1 else o.get("involvedObject")) or {}
    first_ts = o.get("deprecatedFirstTimestamp") if v1 else o.get("firstTimestamp")
    last_ts = o.get("deprecatedLastTimestamp") if v1 else o.get("lastTimestamp")
    count = (o.get("deprecatedCount") if v1 else o.get("count")) or 0
    source = (o.get("deprecatedSource") if v1 else o.get("source")) or {}
    message = (o.get("note") if v1 else o.get("message")) or ""
    controller = (o.get("reportingController") if v1 else o.get("reportingComponent")) or ""

    first = since(first_ts, now) if first_ts else since(o.get("eventTime"), now)
    last = since(last_ts, now) if last_ts else first
    series = o.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1
    kind = (ref.get("kind") or "").lower()
    target = f"{kind}/{ref['name']}" if ref.get("name") else kind
    component = source.get("component") or controller
    instance = source.get("host") or o.get("reportingInstance") or ""
    src = f"{component}, {instance}" if instance else component
    return [last, o.get("type") or "", o.get("reason") or "", target, ref.get("fieldPath") or "", src,
            message.strip(), first, count, name_of(o)]


EVENT = Printer((
    col("Last Seen", doc="CoreV1Event.lastTimestamp"),
    col("Type", doc="CoreV1Event.type"),
    col("Reason", doc="CoreV1Event.reason"),
    col("Object", doc="CoreV1Event.involvedObject"),
    col("Subobject", doc="ObjectReference.fieldPath", priority=1),
    col("Source", doc="CoreV1Event.source", priority=1),
    col("Message", doc="CoreV1Event.message"),
    col("First Seen", doc="CoreV1Event.firstTimestamp", priority=1),
    col("Count", doc="CoreV1Event.count", priority=1),
    col("Name", doc="ObjectMeta.name", priority=1, fmt="name"),
), _event_cells)

# ---------------------------------------------------------------------------------------------------------------
# namespaces, config, accounts

NAMESPACE = Printer((NAME, col("Status", description="The status of the namespace"), AGE),
                    lambda o, now: [name_of(o), (o.get("status") or {}).get("phase") or "", age(o, now)])


def _secret_data_count(o: Obj) -> int:
    data = o.get("data") or {}
    string_data = o.get("stringData") or {}
    return len(data) + sum(1 for k in string_data if k not in data)


SECRET = Printer((NAME, col("Type", doc="Secret.type"), col("Data", doc="Secret.data"), AGE),
                 lambda o, now: [name_of(o), o.get("type") or "", _secret_data_count(o), age(o, now)])

CONFIG_MAP = Printer(
    (NAME, col("Data", doc="ConfigMap.data"), AGE),
    lambda o, now: [name_of(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o, now)])

SERVICE_ACCOUNT = Printer((NAME, col("Secrets", doc="ServiceAccount.secrets"), AGE),
                          lambda o, now: [name_of(o), len(o.get("secrets") or ()), age(o, now)])

# ---------------------------------------------------------------------------------------------------------------
# storage

_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))
_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def access_modes(modes: Any) -> str:
    """helper.GetAccessModesAsString."""
    have = set(modes or ())
    return ",".join(short for full, short in _MODES if full in have)


def _pv_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace') or ''}/{ref.get('name') or ''}" if ref else ""
    phase = "Terminating" if meta(o).get("deletionTimestamp") else (o.get("status") or {}).get("phase") or ""
    annotations = meta(o).get("annotations") or {}
    klass = annotations[_BETA_CLASS] if _BETA_CLASS in annotations else spec.get("storageClassName") or ""
    return [name_of(o), str((spec.get("capacity") or {}).get("storage") or "0"), access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy") or "", phase, claim, klass,
            spec.get("volumeAttributesClassName") or "<unset>", (o.get("status") or {}).get("reason") or "",
            age(o, now), spec.get("volumeMode") or "<unset>"]


PERSISTENT_VOLUME = Printer((
    NAME,
    col("Capacity", doc="PersistentVolumeSpec.capacity"),
    col("Access Modes", doc="PersistentVolumeSpec.accessModes"),
    col("Reclaim Policy", doc="PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
    col("Status", doc="PersistentVolumeStatus.phase"),
    col("Claim", doc="PersistentVolumeSpec.claimRef"),
    col("StorageClass", description="StorageClass of the pv"),
    col("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
    col("Reason", doc="PersistentVolumeStatus.reason"),
    AGE,
    col("VolumeMode", doc="PersistentVolumeSpec.volumeMode", priority=1),
), _pv_cells)


def _pvc_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    phase = "Terminating" if meta(o).get("deletionTimestamp") else status.get("phase") or ""
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = str((status.get("capacity") or {}).get("storage") or "0")
    annotations = meta(o).get("annotations") or {}
    klass = annotations[_BETA_CLASS] if _BETA_CLASS in annotations else spec.get("storageClassName") or ""
    return [name_of(o), phase, spec.get("volumeName") or "", capacity, modes, klass,
            spec.get("volumeAttributesClassName") or "<unset>", age(o, now), spec.get("volumeMode") or "<unset>"]


PERSISTENT_VOLUME_CLAIM = Printer((
    NAME,
    col("Status", doc="PersistentVolumeClaimStatus.phase"),
    col("Volume", doc="PersistentVolumeClaimSpec.volumeName"),
    col("Capacity", doc="PersistentVolumeClaimStatus.capacity"),
    col("Access Modes", doc="PersistentVolumeClaimStatus.accessModes"),
    col("StorageClass", description="StorageClass of the pvc"),
    col("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
    AGE,
    col("VolumeMode", doc="PersistentVolumeClaimSpec.volumeMode", priority=1),
), _pvc_cells)


def _quota_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    status = o.get("status") or {}
    hard = status.get("hard") or {}
    used = status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for r in sorted(hard):
        pieces = r.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{r}: {used.get(r, '0')}/{hard[r]}")
    return [name_of(o), ", ".join(requests), ", ".join(limits), age(o, now)]


RESOURCE_QUOTA = Printer((
    NAME,
    col("Request", description="Request represents a minimum amount of cpu/memory that a container may consume."),
    col("Limit", description="Limits control the maximum amount of cpu/memory that a container may use "
                             "independent of contention on the node."),
    AGE,
), _quota_cells)

PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): POD,
    ("", "PodTemplate"): POD_TEMPLATE,
    ("", "Node"): NODE,
    ("", "Service"): SERVICE,
    ("", "Endpoints"): ENDPOINTS,
    ("", "Event"): EVENT,
    ("events.k8s.io", "Event"): EVENT,
    ("", "Namespace"): NAMESPACE,
    ("", "Secret"): SECRET,
    ("", "ConfigMap"): CONFIG_MAP,
    ("", "ServiceAccount"): SERVICE_ACCOUNT,
    ("", "PersistentVolume"): PERSISTENT_VOLUME,
    ("", "PersistentVolumeClaim"): PERSISTENT_VOLUME_CLAIM,
    ("", "ResourceQuota"): RESOURCE_QUOTA,
}
