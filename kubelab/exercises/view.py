"""A read-mostly view of a live cluster for checks: objects as dicts, ``None`` for what is missing.

Checks ask plain questions (``view.get("pod", "web")``, ``view.pods(selector)``, ``view.events_for(obj)``) and
raise :class:`~kubelab.exercises.model.Unmet` with a sentence about the learner's cluster when something is not
right. Reads go through the official client's ``ApiClient`` of the :class:`kubelab.Cluster`, so a check works the
same on an embedded cluster, kind, or AKS/EKS/GKE. Missing objects (404) are ``None``, never exceptions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelab.exercises.model import ANSWERS, Unmet

if TYPE_CHECKING:
    from kubelab.lab.cluster import Cluster

Obj = dict[str, Any]


@dataclass(frozen=True)
class _Kind:
    prefix: str  # "/api/v1" or "/apis/apps/v1"
    plural: str
    namespaced: bool


_KINDS: dict[str, _Kind] = {
    "pod": _Kind("/api/v1", "pods", True),
    "service": _Kind("/api/v1", "services", True),
    "endpoints": _Kind("/api/v1", "endpoints", True),
    "configmap": _Kind("/api/v1", "configmaps", True),
    "secret": _Kind("/api/v1", "secrets", True),
    "event": _Kind("/api/v1", "events", True),
    "namespace": _Kind("/api/v1", "namespaces", False),
    "node": _Kind("/api/v1", "nodes", False),
    "persistentvolumeclaim": _Kind("/api/v1", "persistentvolumeclaims", True),
    "resourcequota": _Kind("/api/v1", "resourcequotas", True),
    "storageclass": _Kind("/apis/storage.k8s.io/v1", "storageclasses", False),
    "deployment": _Kind("/apis/apps/v1", "deployments", True),
    "replicaset": _Kind("/apis/apps/v1", "replicasets", True),
    "daemonset": _Kind("/apis/apps/v1", "daemonsets", True),
    "statefulset": _Kind("/apis/apps/v1", "statefulsets", True),
    "job": _Kind("/apis/batch/v1", "jobs", True),
    "cronjob": _Kind("/apis/batch/v1", "cronjobs", True),
    "lease": _Kind("/apis/coordination.k8s.io/v1", "leases", True),
    "endpointslice": _Kind("/apis/discovery.k8s.io/v1", "endpointslices", True),
}


class ReadError(RuntimeError):
    """The API server answered a read with an error other than 404."""


def workdir() -> Path:
    """Where file-based exercises (kubeconfig files) live: ``$KUBELAB_EXERCISES_DIR`` or
    ``~/.kubelab/exercises`` (created on first use)."""
    path = Path(os.environ.get("KUBELAB_EXERCISES_DIR") or "~/.kubelab/exercises").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


class View:
    """The live cluster as a check sees it (``namespace`` is where unqualified names are looked up)."""

    def __init__(self, cluster: Cluster, namespace: str = "default") -> None:
        self.cluster = cluster
        self.namespace = namespace

    # ------------------------------------------------------------------------------------------ REST
    def _call(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
              body: Any = None, content_type: str | None = None) -> tuple[int, Any]:
        api = self.cluster.api_client
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        params = api.param_serialize(method, path, query_params=query or [], header_params=headers, body=body,
                                     auth_settings=["BearerToken"])
        resp = api.call_api(*params)
        raw = resp.read() or b""
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return int(resp.status), data

    def _path(self, kind: str, name: str | None, namespace: str | None) -> str:
        k = _KINDS[kind]
        path = k.prefix
        if k.namespaced and namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{k.plural}"
        return path + (f"/{name}" if name else "")

    def raw(self, path: str) -> Any:
        """GET any API path (``/version``); None on 404."""
        status, data = self._call("GET", path)
        if status == 404:
            return None
        if status >= 400:
            raise ReadError(f"GET {path}: {status} {data}")
        return data

    # ------------------------------------------------------------------------------------------ reads
    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """One object, or None when it does not exist."""
        ns = namespace or self.namespace
        data = self.raw(self._path(kind, name, ns))
        return data if isinstance(data, dict) else None

    def need(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """One object; raises Unmet saying it does not exist yet."""
        obj = self.get(kind, name, namespace)
        if obj is None:
            where = "" if not _KINDS[kind].namespaced else f" in namespace {namespace or self.namespace}"
            raise Unmet(f"there is no {kind} named {name!r}{where} yet")
        return obj

    def objects(self, kind: str, namespace: str | None = None, selector: str | None = None,
             field_selector: str | None = None, all_namespaces: bool = False) -> list[Obj]:
        ns = None if all_namespaces else (namespace or self.namespace)
        query = []
        if selector:
            query.append(("labelSelector", selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        status, data = self._call("GET", self._path(kind, None, ns), query)
        if status == 404:
            return []
        if status >= 400:
            raise ReadError(f"list {kind}: {status} {data}")
        return list((data or {}).get("items") or [])

    def nodes(self) -> list[Obj]:
        return sorted(self.objects("node"), key=lambda n: n["metadata"]["name"])

    def control_plane_nodes(self) -> list[Obj]:
        return [n for n in self.nodes() if is_control_plane(n)]

    def workers(self) -> list[Obj]:
        return [n for n in self.nodes() if not is_control_plane(n)]

    def worker(self, index: int) -> Obj:
        """The index-th worker node by name (0: ``<cluster>-worker``, 1: ``<cluster>-worker2`` on kind)."""
        workers = self.workers()
        if len(workers) <= index:
            raise Unmet(f"this exercise needs at least {index + 1} worker node(s); the cluster has "
                        f"{len(workers)}: create it with the three-node config (clusters.yml)")
        return workers[index]

    def pods(self, selector: str | None = None, namespace: str | None = None) -> list[Obj]:
        return self.objects("pod", namespace, selector=selector)

    def pods_of(self, obj: Obj) -> list[Obj]:
        """The live (not terminating) pods a workload's selector matches."""
        labels = (((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {}
        if not labels:
            return []
        sel = ",".join(f"{k}={v}" for k, v in labels.items())
        ns = obj["metadata"].get("namespace") or self.namespace
        return [p for p in self.pods(sel, ns) if not p["metadata"].get("deletionTimestamp")]

    def events_for(self, obj: Obj) -> list[Obj]:
        """core/v1 Events about ``obj`` (matched by uid, else kind and name), oldest first."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        uid = meta.get("uid")
        out = []
        for ev in self.objects("event", ns):
            inv = ev.get("involvedObject") or {}
            if (uid and inv.get("uid") == uid) or (inv.get("name") == meta.get("name")
                                                   and inv.get("kind") == obj.get("kind")):
                out.append(ev)
        return sorted(out, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def service_endpoints(self, service: str, namespace: str | None = None) -> tuple[list[Obj], list[Obj]]:
        """A Service's (ready, not ready) endpoints as ``{"ip", "pod", "node"}`` records, from its EndpointSlices
        (discovery.k8s.io/v1, what kube-proxy reads), else from the legacy Endpoints object."""
        ns = namespace or self.namespace
        ready: list[Obj] = []
        not_ready: list[Obj] = []
        slices = self.objects("endpointslice", ns, selector=f"kubernetes.io/service-name={service}")
        for sl in slices:
            for ep in sl.get("endpoints") or []:
                rec = {"ip": (ep.get("addresses") or [""])[0], "pod": (ep.get("targetRef") or {}).get("name", ""),
                       "node": ep.get("nodeName", "")}
                ok = (ep.get("conditions") or {}).get("ready")
                (ready if ok is None or ok else not_ready).append(rec)
        if slices:
            return ready, not_ready
        legacy = self.get("endpoints", service, ns) or {}
        for subset in legacy.get("subsets") or []:
            for key, bucket in (("addresses", ready), ("notReadyAddresses", not_ready)):
                for a in subset.get(key) or []:
                    bucket.append({"ip": a.get("ip", ""), "pod": (a.get("targetRef") or {}).get("name", ""),
                                   "node": a.get("nodeName", "")})
        return ready, not_ready

    def version(self) -> Obj:
        return dict(self.raw("/version") or {})

    # ------------------------------------------------------------------------------------------ answers
    def answer(self, exercise_id: str) -> str | None:
        """The learner's answer: key ``exercise_id`` of ConfigMap ``answers`` in namespace default."""
        cm = self.get("configmap", ANSWERS, "default")
        value = ((cm or {}).get("data") or {}).get(exercise_id)
        if value is None:
            return None
        return str(value).strip().strip("'\"").strip()

    def need_answer(self, exercise_id: str) -> str:
        value = self.answer(exercise_id)
        if value is None:
            cm = self.get("configmap", ANSWERS, "default")
            where = ("ConfigMap answers (namespace default) does not exist yet" if cm is None
                     else f"ConfigMap answers has no key {exercise_id!r} yet (keys: "
                          f"{', '.join(sorted(cm.get('data') or {})) or 'none'})")
            raise Unmet(f"{where}: record it with kubelab.exercises.answer({exercise_id!r}, ...)")
        if not value:
            raise Unmet(f"the answer for {exercise_id!r} in ConfigMap answers is empty")
        return value

    # ------------------------------------------------------------------------------------------ writes
    def apply(self, manifest: Any) -> None:
        """Server-side apply (used by set-ups, never by checks)."""
        self.cluster.apply(manifest)

    def set_data(self, configmap: str, data: dict[str, str], namespace: str = "default") -> None:
        """Merge ``data`` into a ConfigMap, creating it if needed (other keys stay: unlike an apply, which
        would drop the keys a previous apply of the same field manager set)."""
        path = self._path("configmap", configmap, namespace)
        status, body = self._call("PATCH", path, body={"data": data}, content_type="application/merge-patch+json")
        if status == 404:
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": configmap, "namespace": namespace},
                   "data": data}
            status, body = self._call("POST", self._path("configmap", None, namespace), body=obj,
                                      content_type="application/json")
            if status == 409:  # created meanwhile
                status, body = self._call("PATCH", path, body={"data": data},
                                          content_type="application/merge-patch+json")
        if status >= 400:
            raise ReadError(f"write configmap {namespace}/{configmap}: {status} {body}")

    def patch(self, kind: str, name: str, body: Obj, namespace: str | None = None) -> None:
        """A JSON merge patch (set-ups only)."""
        status, data = self._call("PATCH", self._path(kind, name, namespace or self.namespace), body=body,
                                  content_type="application/merge-patch+json")
        if status >= 400:
            raise ReadError(f"patch {kind}/{name}: {status} {data}")


# ------------------------------------------------------------------------------------------------ helpers
def is_control_plane(node: Obj) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return "node-role.kubernetes.io/control-plane" in labels or "node-role.kubernetes.io/master" in labels


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def is_ready(pod: Obj) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def is_daemon_or_mirror(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return True
    return any(o.get("kind") in ("DaemonSet", "Node") for o in meta.get("ownerReferences") or [])


def container(pod_spec: Obj, name: str | None = None) -> Obj | None:
    """A container of a pod spec by name (the first one when ``name`` is None)."""
    cs = pod_spec.get("containers") or []
    if name is None:
        return cs[0] if cs else None
    return next((c for c in cs if c.get("name") == name), None)


def pod_trouble(pod: Obj) -> str:
    """Why a pod is not running and ready, in kubectl's words ("Pending: 0/3 nodes are available: ...")."""
    name = name_of(pod)
    st = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return f"pod {name} is terminating"
    phase = st.get("phase") or "Pending"
    for c in st.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return f"pod {name} is Pending and not scheduled: {c.get('message') or c.get('reason')}"
    for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            msg = waiting.get("message") or ""
            return f"pod {name}: container {cs.get('name')} is waiting with reason {waiting.get('reason')}" + \
                (f" ({msg})" if msg else "")
        if not cs.get("ready") and "running" in (cs.get("state") or {}) and cs in (st.get("containerStatuses")
                                                                                  or []):
            return f"pod {name}: container {cs.get('name')} is running but not ready (its readiness probe " \
                   "has not passed)"
    if phase in ("Succeeded", "Failed"):
        return f"pod {name} has finished (phase {phase})"
    if phase == "Pending":
        return f"pod {name} is still Pending (being created: wait a moment and check again)"
    if not is_ready(pod):
        return f"pod {name} is {phase} but not Ready yet"
    return f"pod {name} is running and ready"


def need_running(pod: Obj) -> None:
    if (pod.get("status") or {}).get("phase") != "Running" or not is_ready(pod):
        raise Unmet(pod_trouble(pod))


def quantity(text: object) -> Fraction | None:
    """A resource quantity ("100m", "64Mi") as an exact number, or None."""
    from kubelab.api.validation.quantity import parse_quantity

    q = parse_quantity(text)
    return None if q is None else q.value


def labels_of(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def selector_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def workload_ready(view: View, kind: str, name: str, want: int | None = None,
                   namespace: str | None = None) -> Obj:
    """A Deployment (or StatefulSet) whose ``want`` (default: spec.replicas) replicas are all updated and ready.
    Raises Unmet naming what is missing, and what its pods are stuck on."""
    obj = view.need(kind, name, namespace)
    spec_n = int((obj.get("spec") or {}).get("replicas", 1))
    want = spec_n if want is None else want
    st = obj.get("status") or {}
    ready = int(st.get("readyReplicas") or 0)
    updated = int(st.get("updatedReplicas") or 0)
    if spec_n != want:
        raise Unmet(f"{kind} {name} asks for {spec_n} replica(s) (spec.replicas); the task asks for {want}")
    if ready < want or updated < want or int(st.get("replicas") or 0) > want:
        stuck = [pod_trouble(p) for p in view.pods_of(obj) if not is_ready(p)]
        detail = f"; {stuck[0]}" if stuck else ""
        raise Unmet(f"{kind} {name} has {ready} ready and {updated} up-to-date replica(s) of {want} "
                    f"(status.replicas {st.get('replicas', 0)}){detail}")
    return obj
