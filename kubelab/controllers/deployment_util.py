"""Pure helpers of the Deployment controller (mirrors upstream's ``pkg/controller/deployment/util``): revisions
and the annotations a Deployment keeps on its ReplicaSets, maxSurge/maxUnavailable fenceposts, the replica-set
orderings, how many pods the new set may have, proportional scaling, the status and its conditions.

Everything here is a function of plain dicts, so it is easy to test and to read next to upstream.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from kubelab.controllers.podutil import equal_ignore_hash, meta, scaled_value, ts

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# deployment annotations never copied to its replica sets (upstream annotationsToSkip)
SKIP_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                              "deployment.kubernetes.io/error-selector-overlapping-with",
                              "deployment.kubernetes.io/selector-updated-at"})
MAX_REV_HISTORY_CHARS = 2000

# condition reasons (upstream deploymentutil constants)
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
MAX_INT32 = 2**31 - 1


# ---------------------------------------------------------------------------------------------- fields
def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def replicas(obj: Obj) -> int:
    r = spec(obj).get("replicas")
    return 1 if r is None else int(r)


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def revision(obj: Obj) -> int:
    try:
        return int(annotations_of(obj).get(REVISION) or 0)
    except ValueError:
        return 0


def is_rolling(d: Obj) -> bool:
    return (spec(d).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def has_progress_deadline(d: Obj) -> bool:
    pds = spec(d).get("progressDeadlineSeconds")
    return pds is not None and int(pds) != MAX_INT32


def has_revision_history_limit(d: Obj) -> bool:
    lim = spec(d).get("revisionHistoryLimit")
    return lim is not None and int(lim) != MAX_INT32


# ---------------------------------------------------------------------------------------------- fenceposts
def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailable rounds down; if both come out 0, allow 1 unavailable (upstream)."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling(d: Obj) -> Obj:
    return (spec(d).get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Obj) -> int:
    if not is_rolling(d):
        return 0
    return resolve_fenceposts(_rolling(d).get("maxSurge"), _rolling(d).get("maxUnavailable"), replicas(d))[0]


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    mu = resolve_fenceposts(_rolling(d).get("maxSurge"), _rolling(d).get("maxUnavailable"), replicas(d))[1]
    return min(mu, replicas(d))


# ---------------------------------------------------------------------------------------------- sets
def creation_key(rs: Obj) -> tuple[_dt.datetime, str]:
    t = ts(meta(rs).get("creationTimestamp")) or _dt.datetime.min.replace(tzinfo=_dt.UTC)
    return t, str(meta(rs).get("name"))


def by_creation(sets: list[Obj]) -> list[Obj]:
    """ReplicaSetsByCreationTimestamp: oldest first, ties by name."""
    return sorted(sets, key=creation_key)


def by_revision(sets: list[Obj]) -> list[Obj]:
    return sorted(sets, key=lambda rs: (revision(rs), creation_key(rs)))


def by_size_newer(sets: list[Obj]) -> list[Obj]:
    """ReplicaSetsBySizeNewer: larger first, then newer first."""
    out = sorted(sets, key=creation_key, reverse=True)
    return sorted(out, key=replicas, reverse=True)


def by_size_older(sets: list[Obj]) -> list[Obj]:
    out = sorted(sets, key=creation_key)
    return sorted(out, key=replicas, reverse=True)


def active(sets: Sequence[Obj | None]) -> list[Obj]:
    return [rs for rs in sets if rs is not None and replicas(rs) > 0]


def find_new_replica_set(d: Obj, sets: list[Obj]) -> Obj | None:
    """The oldest set whose template equals the deployment's (ignoring the hash label)."""
    template = spec(d).get("template") or {}
    for rs in by_creation(sets):
        if equal_ignore_hash(spec(rs).get("template") or {}, template):
            return rs
    return None


def find_old_replica_sets(d: Obj, sets: list[Obj]) -> list[Obj]:
    new = find_new_replica_set(d, sets)
    return [rs for rs in sets if new is None or meta(rs).get("uid") != meta(new).get("uid")]


def find_active_or_latest(new: Obj | None, old: list[Obj]) -> Obj | None:
    if new is None and not old:
        return None
    old_sorted = sorted(old, key=creation_key, reverse=True)
    live = active([*old_sorted, new])
    if not live:
        return new if new is not None else old_sorted[0]
    if len(live) == 1:
        return live[0]
    return None


def total_replicas(sets: Sequence[Obj | None]) -> int:
    return sum(replicas(rs) for rs in sets if rs is not None)


def _status_sum(sets: Sequence[Obj | None], field: str) -> int:
    return sum(int(status(rs).get(field) or 0) for rs in sets if rs is not None)


def actual_replicas(sets: Sequence[Obj | None]) -> int:
    return _status_sum(sets, "replicas")


def ready_replicas(sets: Sequence[Obj | None]) -> int:
    return _status_sum(sets, "readyReplicas")


def available_replicas(sets: Sequence[Obj | None]) -> int:
    return _status_sum(sets, "availableReplicas")


# ---------------------------------------------------------------------------------------------- annotations
def set_replicas_annotations(anns: dict[str, str], desired: int, maximum: int) -> bool:
    changed = False
    for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if anns.get(k) != v:
            anns[k] = v
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    anns = annotations_of(rs)
    return anns.get(DESIRED_REPLICAS) != str(desired) or anns.get(MAX_REPLICAS) != str(maximum)


def desired_replicas_annotation(rs: Obj) -> int | None:
    try:
        return int(annotations_of(rs)[DESIRED_REPLICAS])
    except (KeyError, ValueError):
        return None


def max_replicas_annotation(rs: Obj) -> int | None:
    try:
        return int(annotations_of(rs)[MAX_REPLICAS])
    except (KeyError, ValueError):
        return None


def set_new_replica_set_annotations(d: Obj, anns: dict[str, str], new_revision: int, exists: bool) -> bool:
    """Copy the deployment's annotations (except the skipped ones), raise the revision (keeping the previous
    revisions in revision-history on a rollback) and, for a set about to be created, the replica annotations."""
    changed = False
    for k, v in annotations_of(d).items():
        if k in SKIP_ANNOTATIONS or anns.get(k) == v:
            continue
        anns[k] = v
        changed = True
    old = anns.get(REVISION)
    try:
        old_rev = int(old) if old is not None else 0
    except ValueError:
        old_rev = 0
    if old_rev < new_revision:
        anns[REVISION] = str(new_revision)
        changed = True
        if old is not None:
            history = [h for h in (anns.get(REVISION_HISTORY) or "").split(",") if h]
            history.append(old)
            text = ",".join(history)
            while len(text) > MAX_REV_HISTORY_CHARS and len(history) > 1:
                history.pop(0)
                text = ",".join(history)
            anns[REVISION_HISTORY] = text
    if not exists and set_replicas_annotations(anns, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


# ---------------------------------------------------------------------------------------------- sizing
def new_rs_new_replicas(d: Obj, all_sets: Sequence[Obj | None], new: Obj) -> int:
    """How big the new set may be now: Recreate -> all of it; RollingUpdate -> up to replicas + maxSurge."""
    if not is_rolling(d):
        return replicas(d)
    surge = scaled_value(_rolling(d).get("maxSurge"), replicas(d), True)
    current = total_replicas(all_sets)
    most = replicas(d) + surge
    if current >= most:
        return replicas(new)
    return replicas(new) + min(most - current, replicas(d) - replicas(new))


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    return desired is not None and replicas(rs) == replicas(d) and desired == replicas(d) and \
        int(status(rs).get("availableReplicas") or 0) == replicas(d)


def get_proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: Obj, d: Obj) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = max_replicas_annotation(rs)
    if annotated is None or annotated == 0:
        annotated = int(status(d).get("replicas") or 0) or 1
    size = replicas(rs) * deployment_replicas / annotated
    return int(size + 0.5) - replicas(rs)  # integer.RoundToInt32 rounds half away from zero


# ---------------------------------------------------------------------------------------------- status
def get_condition(st: Obj, ctype: str) -> Obj | None:
    for c in st.get("conditions") or []:
        if c.get("type") == ctype:
            return c  # type: ignore[no-any-return]
    return None


def new_condition(ctype: str, cstatus: str, reason: str, message: str, now_iso: str) -> Obj:
    return {"type": ctype, "status": cstatus, "lastUpdateTime": now_iso, "lastTransitionTime": now_iso,
            "reason": reason, "message": message}


def set_condition(st: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: no-op for the same status and reason; keep lastTransitionTime while the status
    stays the same."""
    cur = get_condition(st, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond["reason"]:
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=cur.get("lastTransitionTime"))
    st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(st: Obj, ctype: str) -> None:
    conds = [c for c in st.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        st["conditions"] = conds
    else:
        st.pop("conditions", None)


def calculate_status(all_sets: Sequence[Obj | None], new: Obj | None, d: Obj, now_iso: str) -> Obj:
    """The deployment status from its sets (upstream calculateStatus); zero counts are left out."""
    available = available_replicas(all_sets)
    unavailable = max(total_replicas(all_sets) - available, 0)
    st: Obj = {"observedGeneration": meta(d).get("generation") or 0}
    for k, v in (("replicas", actual_replicas(all_sets)), ("updatedReplicas", actual_replicas([new])),
                 ("readyReplicas", ready_replicas(all_sets)), ("availableReplicas", available),
                 ("unavailableReplicas", unavailable)):
        if v:
            st[k] = v
    cc = status(d).get("collisionCount")
    if cc is not None:
        st["collisionCount"] = cc
    conds = [dict(c) for c in status(d).get("conditions") or []]
    if conds:
        st["conditions"] = conds
    if available >= replicas(d) - max_unavailable(d):
        set_condition(st, new_condition("Available", "True", MIN_AVAILABLE,
                                        "Deployment has minimum availability.", now_iso))
    else:
        set_condition(st, new_condition("Available", "False", MIN_UNAVAILABLE,
                                        "Deployment does not have minimum availability.", now_iso))
    return st


def deployment_complete(d: Obj, st: Obj) -> bool:
    n = replicas(d)
    return int(st.get("updatedReplicas") or 0) == n and int(st.get("replicas") or 0) == n and \
        int(st.get("availableReplicas") or 0) == n and \
        int(st.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0)


def deployment_progressing(d: Obj, new_st: Obj) -> bool:
    old = status(d)

    def g(s: Obj, k: str) -> int:
        return int(s.get(k) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(new_st, "replicas") - g(new_st, "updatedReplicas")
    return g(new_st, "updatedReplicas") > g(old, "updatedReplicas") or new_old < old_old or \
        g(new_st, "readyReplicas") > g(old, "readyReplicas") or \
        g(new_st, "availableReplicas") > g(old, "availableReplicas")


def deployment_timed_out(d: Obj, st: Obj, now: _dt.datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(st, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    last = ts(cond.get("lastUpdateTime"))
    if last is None:
        return False
    return last + _dt.timedelta(seconds=int(spec(d)["progressDeadlineSeconds"])) < now
