"""The PodDisruptionBudget check of the pods/eviction subresource (``kubectl drain``, ``kubectl evict``).

Mirrors pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create, checkAndDecrement) and the
DisruptionAllowed condition helper of k8s.io/component-helpers/apps/poddisruptionbudget:

* a pod that is Pending, finished, or already being deleted is evicted without looking at budgets;
* more than one budget selecting the pod: 500 "This pod has more than one PodDisruptionBudget, ...";
* an unready pod may go when the budget is healthy anyway (``unhealthyPodEvictionPolicy``: IfHealthyBudget,
  the default, or AlwaysAllow);
* otherwise the budget's status decides: not yet observed by the disruption controller, or
  ``disruptionsAllowed == 0``: 429 TooManyRequests "Cannot evict pod as it would violate the pod's disruption
  budget." (kubectl drain retries); else ``disruptionsAllowed`` is decremented and the pod recorded in
  ``status.disruptedPods`` (so the controller does not count it healthy while it goes) with a status write that
  retries on conflict.

``check_eviction(ctx, pod)`` raises ApiError when the eviction must be refused and returns None when the caller
may delete the pod. Simplified: upstream also adds a resourceVersion precondition to the delete of an unready
pod (so a pod that became ready meanwhile is not deleted); kubelab's eviction runs in one step on one thread.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import label_selector_from_dict
from kubelab.apiserver.admission._common import list_objects, resource
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions
from kubelab.clock import rfc3339

Obj = dict[str, Any]

MAX_DISRUPTED_POD_SIZE = 2000
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"


def is_pod_ready(pod: Obj) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def pdb_selects(pdb: Obj, pod: Obj) -> bool:
    """policy/v1: a null selector selects nothing; an empty one selects every pod of the namespace."""
    sel = (pdb.get("spec") or {}).get("selector")
    if sel is None:
        return False
    try:
        return label_selector_from_dict(sel).matches((pod.get("metadata") or {}).get("labels") or {})
    except Exception:  # an invalid selector matches nothing
        return False


def set_condition(conditions: list[Obj], cond: Obj, now: _dt.datetime) -> list[Obj]:
    """apimeta.SetStatusCondition: replace by type; lastTransitionTime moves only when the status changes."""
    out = [dict(c) for c in conditions if isinstance(c, dict)]
    for c in out:
        if c.get("type") == cond["type"]:
            if c.get("status") != cond["status"]:
                c["lastTransitionTime"] = rfc3339(now)
            c.update({k: cond[k] for k in ("status", "reason", "message", "observedGeneration")})
            return out
    out.append(dict(cond, lastTransitionTime=rfc3339(now)))
    return out


def update_disruption_allowed_condition(status: Obj, now: _dt.datetime) -> None:
    """UpdateDisruptionAllowedCondition: True/SufficientPods when a disruption is allowed, else
    False/InsufficientPods."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    status["conditions"] = set_condition(status.get("conditions") or [], {
        "type": DISRUPTION_ALLOWED, "status": "True" if allowed else "False",
        "reason": SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS, "message": "",
        "observedGeneration": int(status.get("observedGeneration") or 0),
    }, now)


def too_many_requests(cause: str, retry_after: int) -> ApiError:
    details: Obj = {"causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return ApiError(429, "TooManyRequests", VIOLATION, details)


def _pdb_forbidden(name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'poddisruptionbudget.policy "{name}" is forbidden: {why}',
                    {"name": name, "group": "policy", "kind": "poddisruptionbudget"})


def can_ignore_pdb(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def check_eviction(ctx: ServerContext, pod: Obj, *, dry_run: bool = False) -> None:
    """Raise ApiError (429, 403 or 500) if evicting ``pod`` would violate its disruption budget; otherwise record
    the disruption in the budget's status (unless ``dry_run``) and return, and the caller deletes the pod."""
    if can_ignore_pdb(pod):
        return
    ns = (pod.get("metadata") or {}).get("namespace")
    pdbs = [p for p in list_objects(ctx, "policy", "poddisruptionbudgets", ns) if pdb_selects(p, pod)]
    if len(pdbs) > 1:
        raise ApiError(500, "", "This pod has more than one PodDisruptionBudget, which the eviction subresource "
                                "does not support.")
    if not pdbs:
        return
    pdb = pdbs[0]
    status = pdb.get("status") or {}
    if not is_pod_ready(pod):
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        if policy == "AlwaysAllow":
            return
        desired = int(status.get("desiredHealthy") or 0)
        if int(status.get("currentHealthy") or 0) >= desired > 0:
            return
    rt = resource(ctx, "policy", "poddisruptionbudgets")
    assert rt is not None
    name = pdb["metadata"]["name"]
    for _attempt in range(20):
        try:
            _check_and_decrement(ctx, rt, pdb, pod["metadata"]["name"], dry_run)
            return
        except ApiError as e:
            if e.code != 409:
                raise
            pdb = ctx.registry.get(rt, ns, name)  # someone else changed the budget: re-read and try again
    raise ApiError(504, "Timeout", f'couldn\'t update PodDisruptionBudget "{name}" due to conflicts',
                   {"retryAfterSeconds": 10})


def _check_and_decrement(ctx: ServerContext, rt: Any, pdb: Obj, pod_name: str, dry_run: bool) -> None:
    meta, status = pdb["metadata"], dict(pdb.get("status") or {})
    name = meta["name"]
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise too_many_requests(f"The disruption budget {name} is still being processed by the server.", 10)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _pdb_forbidden(name, "pdb disruptions allowed is negative")
    disrupted = dict(status.get("disruptedPods") or {})
    if len(disrupted) > MAX_DISRUPTED_POD_SIZE:
        raise _pdb_forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise too_many_requests(f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                                f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently", 0)
    now = ctx.clock.now()
    status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        update_disruption_allowed_condition(status, now)
    if dry_run:
        return
    disrupted[pod_name] = rfc3339(now)
    status["disruptedPods"] = disrupted
    new = dict(pdb, status=status)
    new["metadata"] = dict(meta)
    ctx.registry.update(rt, meta.get("namespace"), name, new, WriteOptions(field_manager="kube-apiserver"),
                        subresource="status")
