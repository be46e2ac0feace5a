"""The LimitRanger admission plugin: default containers' requests/limits from the namespace's LimitRanges, and
refuse pods and claims outside their min/max.

Mirrors plugin/pkg/admission/limitranger/admission.go:

* mutating (new pods): every container and init container without a request/limit for a resource gets the
  ``defaultRequest``/``default`` of each ``type: Container`` item, and the pod is annotated
  ``kubernetes.io/limit-ranger: LimitRanger plugin set: cpu, memory request for container app; ...``;
* validating (new pods; new or resized claims): ``type: Container`` min/max/maxLimitRequestRatio per container,
  ``type: Pod`` on the pod's totals, ``type: PersistentVolumeClaim`` on a claim's storage request, with
  upstream's messages, all collected into one 403::

      pods "web" is forbidden: maximum cpu usage per Container is 500m, but limit is 1

Simplified: kubelab runs both halves in one hook (before object validation; the validating half stays silent
when validation will reject the object anyway, so a 422 still wins). The pod's qosClass, which the registry
computed before admission, is recomputed after defaulting (upstream computes it after admission).
"""

from __future__ import annotations

from kubelab.api.defaults import compute_qos_class
from kubelab.api.resources import ResourceType
from kubelab.api.validation.quantity import Quantity, canonical, parse_quantity
from kubelab.apiserver.admission import quota as q
from kubelab.apiserver.admission._common import Obj, aggregate, forbidden, invalid, list_objects, namespace_of
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions

ANNOTATION = "kubernetes.io/limit-ranger"


class LimitRanger:
    """Admission hook ``(rt, new, old, opts)``: mutates new pods, raises ApiError 403 on min/max violations."""

    name = "LimitRanger"

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._lr_rt = ctx.resources.lookup("", "v1", "limitranges")

    def __call__(self, rt: ResourceType, new: Obj, old: Obj | None, opts: WriteOptions) -> None:
        if rt.group != "" or self._lr_rt is None:
            return
        if not (rt.plural == "pods" and old is None) and rt.plural != "persistentvolumeclaims":
            return  # containers cannot change after creation, so pod updates are not checked (as upstream)
        ns = namespace_of(new)
        if not ns or self.ctx.store.count(self._lr_rt.prefix(ns)) == 0:
            return
        ranges = list_objects(self.ctx, "", "limitranges", ns)
        errs: list[str] = []
        if rt.plural == "pods":
            for lr in ranges:
                default_pod_resources(lr, new)
            status = new.get("status")
            if isinstance(status, dict) and status.get("qosClass"):
                status["qosClass"] = compute_qos_class(new.get("spec") or {})
            if invalid(rt, new, old):
                return
            for lr in ranges:
                errs.extend(validate_pod(lr, new))
        else:
            if invalid(rt, new, old):
                return
            for lr in ranges:
                errs.extend(validate_claim(lr, new))
        if errs:
            raise forbidden(rt, new, aggregate(errs))


# ------------------------------------------------------------------------------------------------ mutating
def _items(lr: Obj, kind: str) -> list[Obj]:
    return [i for i in ((lr.get("spec") or {}).get("limits") or []) if isinstance(i, dict) and i.get("type") == kind]


def default_pod_resources(lr: Obj, pod: Obj) -> None:
    """defaultContainerResourceRequirements + mergePodResourceRequirements."""
    d_req: dict[str, str] = {}
    d_lim: dict[str, str] = {}
    for item in _items(lr, "Container"):
        d_req.update({str(k): str(v) for k, v in (item.get("defaultRequest") or {}).items()})
        d_lim.update({str(k): str(v) for k, v in (item.get("default") or {}).items()})
    if not d_req and not d_lim:
        return
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for group, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(group) or []:
            if not isinstance(c, dict):
                continue
            res = c.get("resources")
            if not isinstance(res, dict):
                res = c["resources"] = {}
            limits: dict[str, str] = dict(res.get("limits") or {})
            requests: dict[str, str] = dict(res.get("requests") or {})
            set_lim = sorted(k for k in d_lim if k not in limits)
            set_req = sorted(k for k in d_req if k not in requests)
            for k in set_lim:
                limits[k] = d_lim[k]
            for k in set_req:
                requests[k] = d_req[k]
            if limits:
                res["limits"] = limits
            if requests:
                res["requests"] = requests
            if set_req:
                notes.append(f"{', '.join(set_req)} request for {label} {c.get('name', '')}")
            if set_lim:
                notes.append(f"{', '.join(set_lim)} limit for {label} {c.get('name', '')}")
    if notes:
        meta = pod.setdefault("metadata", {})
        ann = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        ann[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
        meta["annotations"] = ann


# ------------------------------------------------------------------------------------------------ validating
def _qty(v: object) -> Quantity | None:
    return parse_quantity(v)


def min_constraint(kind: str, name: str, enforced: str, request: dict[str, str], limit: dict[str, str]) -> str | None:
    e = _qty(enforced)
    if e is None:
        return None
    if name not in request:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    r = _qty(request[name])
    if r is not None and r.value < e.value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {request[name]}"
    lim = _qty(limit.get(name)) if name in limit else None
    if lim is not None and lim.value < e.value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {limit[name]}"
    return None


def max_constraint(kind: str, name: str, enforced: str, request: dict[str, str], limit: dict[str, str]) -> str | None:
    e = _qty(enforced)
    if e is None:
        return None
    if name not in limit:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    lim = _qty(limit[name])
    if lim is not None and lim.value > e.value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {limit[name]}"
    r = _qty(request.get(name)) if name in request else None
    if r is not None and r.value > e.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {request[name]}"
    return None


def max_request_constraint(kind: str, name: str, enforced: str, request: dict[str, str]) -> str | None:
    e = _qty(enforced)
    if e is None:
        return None
    if name not in request:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    r = _qty(request[name])
    if r is not None and r.value > e.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {request[name]}"
    return None


def ratio_constraint(kind: str, name: str, enforced: str, request: dict[str, str], limit: dict[str, str]) -> str | None:
    e = _qty(enforced)
    r = _qty(request.get(name)) if name in request else None
    lim = _qty(limit.get(name)) if name in limit else None
    if e is None:
        return None
    if r is None or r.value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or "
                "request is 0")
    if lim is None or lim.value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or "
                "limit is 0")
    ratio = lim.value / r.value
    if ratio > e.value:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {float(ratio):f}"
    return None


def _check(kind: str, item: Obj, request: dict[str, str], limit: dict[str, str]) -> list[str]:
    out: list[str] = []
    for name, v in sorted((item.get("min") or {}).items()):
        out.append(min_constraint(kind, name, str(v), request, limit) or "")
    for name, v in sorted((item.get("max") or {}).items()):
        out.append(max_constraint(kind, name, str(v), request, limit) or "")
    for name, v in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        out.append(ratio_constraint(kind, name, str(v), request, limit) or "")
    return [m for m in out if m]


def validate_pod(lr: Obj, pod: Obj) -> list[str]:
    """PodValidateLimitFunc."""
    errs: list[str] = []
    spec = pod.get("spec") or {}
    for item in (lr.get("spec") or {}).get("limits") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "Container":
            for group in ("containers", "initContainers"):
                for c in spec.get(group) or []:
                    res = c.get("resources") or {}
                    errs.extend(_check("Container", item, dict(res.get("requests") or {}),
                                       dict(res.get("limits") or {})))
        elif item.get("type") == "Pod":
            req, lim = q.pod_requests_limits({"spec": dict(spec, overhead=None)})
            errs.extend(_check("Pod", item, {k: canonical(v) for k, v in req.items()},
                               {k: canonical(v) for k, v in lim.items()}))
    return errs


def validate_claim(lr: Obj, pvc: Obj) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: min and max apply to the storage request only."""
    errs: list[str] = []
    requests = dict((((pvc.get("spec") or {}).get("resources") or {}).get("requests")) or {})
    for item in _items(lr, "PersistentVolumeClaim"):
        for name, v in sorted((item.get("min") or {}).items()):
            m = min_constraint("PersistentVolumeClaim", name, str(v), requests, {})
            if m:
                errs.append(m)
        for name, v in sorted((item.get("max") or {}).items()):
            m = max_request_constraint("PersistentVolumeClaim", name, str(v), requests)
            if m:
                errs.append(m)
    return errs
