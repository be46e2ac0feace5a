"""Quota usage: what one object costs against a ResourceQuota, and what a namespace uses in total.

Mirrors pkg/quota/v1/evaluator/core (the pod, service and persistentvolumeclaim evaluators) and the generic
object-count evaluator of k8s.io/apiserver/pkg/quota/v1/generic, which the ResourceQuota admission plugin and
the resource quota controller both use, so the number admission checks and the number ``kubectl describe quota``
shows come from the same functions.

* every object costs ``count/<plural>[.<group>]`` = 1; the legacy names ``services``, ``configmaps``,
  ``secrets``, ``persistentvolumeclaims``, ``replicationcontrollers`` and ``resourcequotas`` are object counts
  too;
* a pod costs ``pods`` = 1 and its requests/limits (``cpu``/``requests.cpu``, ``memory``/``requests.memory``,
  ``limits.cpu``, ``limits.memory``, ephemeral storage, hugepages, ``requests.<extended>``) unless it has
  finished (Succeeded/Failed) or is past the end of its deletion grace period (stuck Terminating pods on a lost
  node are not charged);
* a service costs ``services.loadbalancers`` and ``services.nodeports``; a claim ``requests.storage`` and the
  per-class ``<class>.storageclass.storage.k8s.io/...`` amounts.

Quota scopes (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity)
select pods; a quota with scopes matches no other kind, as upstream.

Simplified: pod requests ignore in-place resize status; pod overhead is added; usage values are exact fractions.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from kubelab.api.defaults import compute_qos_class
from kubelab.api.resources import ResourceType
from kubelab.api.validation.quantity import DECIMAL_SI, Quantity, canonical, parse_quantity
from kubelab.apiserver.context import ServerContext
from kubelab.clock import parse_time

Obj = dict[str, Any]
Usage = dict[str, Quantity]

ONE = Quantity(Fraction(1), DECIMAL_SI)
ZERO = Quantity(Fraction(0), DECIMAL_SI)

# legacy object-count names (core group): resource name == plural
LEGACY_COUNTS = frozenset({"services", "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers",
                           "resourcequotas"})
POD_RESOURCES = frozenset({
    "pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage",
})
# if a quota tracks one of these, every container must state it (a backward-compatibility rule upstream keeps)
POD_VALIDATION_SET = ("cpu", "limits.cpu", "limits.memory", "memory", "requests.cpu", "requests.memory")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


# ------------------------------------------------------------------------------------------------ arithmetic
def add(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for k, q in b.items():
        cur = out.get(k)
        out[k] = q if cur is None else Quantity(cur.value + q.value, cur.format)
    return out


def subtract(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for k, q in b.items():
        cur = out.get(k, Quantity(Fraction(0), q.format))
        out[k] = Quantity(cur.value - q.value, cur.format)
    return out


def mask(u: Usage, names: Iterable[str]) -> Usage:
    keep = set(names)
    return {k: v for k, v in u.items() if k in keep}


def pretty(u: Usage) -> str:
    """prettyPrint: ``name=quantity`` sorted by name, comma separated."""
    return ",".join(f"{k}={canonical(u[k])}" for k in sorted(u))


def parse_list(rl: Any) -> Usage:
    out: Usage = {}
    for k, v in (rl or {}).items() if isinstance(rl, dict) else ():
        q = parse_quantity(v)
        if q is not None:
            out[str(k)] = q
    return out


def to_strings(u: Usage) -> dict[str, str]:
    return {k: canonical(v) for k, v in sorted(u.items())}


# ------------------------------------------------------------------------------------------------ naming
def count_name(rt: ResourceType) -> str:
    return f"count/{rt.plural}.{rt.group}" if rt.group else f"count/{rt.plural}"


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def matches_resource(rt: ResourceType, name: str) -> bool:
    """Does an object of this kind ever cost ``name``? (evaluator.MatchingResources)"""
    if name == count_name(rt):
        return True
    if rt.group:
        return False
    if rt.plural in LEGACY_COUNTS and name == rt.plural:
        return True
    if rt.plural == "pods":
        return (name in POD_RESOURCES or name.startswith(("hugepages-", "requests.hugepages-"))
                or (name.startswith("requests.") and not _is_native(name[len("requests."):])))
    if rt.plural == "services":
        return name in ("services.loadbalancers", "services.nodeports")
    if rt.plural == "persistentvolumeclaims":
        return name == "requests.storage" or (STORAGE_CLASS_SUFFIX in name and name.endswith(
            ("/requests.storage", "/persistentvolumeclaims")))
    return False


# ------------------------------------------------------------------------------------------------ pods
def pod_is_charged(pod: Obj, now: _dt.datetime) -> bool:
    """QuotaV1Pod: not finished, and not past the end of its deletion grace period."""
    if ((pod.get("status") or {}).get("phase")) in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    ts, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if ts and grace is not None:
        try:
            if now > parse_time(ts) + _dt.timedelta(seconds=int(grace)):
                return False
        except ValueError:
            pass
    return True


def _containers(spec: Obj, group: str) -> list[Obj]:
    return [c for c in spec.get(group) or [] if isinstance(c, dict)]


def _sum_into(total: Usage, rl: Usage) -> None:
    for k, q in rl.items():
        cur = total.get(k)
        total[k] = q if cur is None else Quantity(cur.value + q.value, cur.format)


def _max_into(total: Usage, rl: Usage) -> None:
    for k, q in rl.items():
        cur = total.get(k)
        if cur is None or q.value > cur.value:
            total[k] = q


def pod_requests_limits(pod: Obj) -> tuple[Usage, Usage]:
    """PodRequests / PodLimits: containers summed, init containers as a floor (sidecars summed), overhead."""
    spec = pod.get("spec") or {}
    out: list[Usage] = []
    for field in ("requests", "limits"):
        total: Usage = {}
        for c in _containers(spec, "containers"):
            _sum_into(total, parse_list((c.get("resources") or {}).get(field)))
        sidecars: Usage = {}
        init_floor: Usage = {}
        for c in _containers(spec, "initContainers"):
            rl = parse_list((c.get("resources") or {}).get(field))
            if c.get("restartPolicy") == "Always":
                _sum_into(total, rl)
                _sum_into(sidecars, rl)
                _max_into(init_floor, sidecars)
            else:
                tmp: Usage = {}
                _sum_into(tmp, rl)
                _sum_into(tmp, sidecars)
                _max_into(init_floor, tmp)
        _max_into(total, init_floor)
        # overhead adds to every request, and only to limits that are set
        overhead = parse_list(spec.get("overhead"))
        _sum_into(total, {k: v for k, v in overhead.items() if field == "requests" or k in total})
        out.append(total)
    return out[0], out[1]


def _compute_usage(requests: Usage, limits: Usage) -> Usage:
    """podComputeUsageHelper."""
    u: Usage = {"pods": ONE}
    for res in ("cpu", "memory", "ephemeral-storage"):
        if res in requests:
            u[res] = requests[res]
            u[f"requests.{res}"] = requests[res]
        if res in limits:
            u[f"limits.{res}"] = limits[res]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            u[name] = q
            u[f"requests.{name}"] = q
        elif not _is_native(name):
            u[f"requests.{name}"] = q
    return u


def pod_usage(pod: Obj, now: _dt.datetime) -> Usage:
    if not pod_is_charged(pod, now):
        return {}
    req, lim = pod_requests_limits(pod)
    return _compute_usage(req, lim)


def pod_constraints(required: Iterable[str], pod: Obj) -> str | None:
    """The pod evaluator's Constraints: ``must specify limits.cpu for: app; requests.memory for: app``."""
    needed = [r for r in POD_VALIDATION_SET if r in set(required)]
    if not needed:
        return None
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
        res = c.get("resources") or {}
        have = set(_compute_usage(parse_list(res.get("requests")), parse_list(res.get("limits"))))
        for r in needed:
            if r not in have:
                missing.setdefault(r, set()).add(str(c.get("name", "")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))


def _pod_matches_scope(scope: str, op: str, values: list[str], pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if scope == "Terminating":
        ads = spec.get("activeDeadlineSeconds")
        return isinstance(ads, int) and ads >= 0
    if scope == "NotTerminating":
        ads = spec.get("activeDeadlineSeconds")
        return not (isinstance(ads, int) and ads >= 0)
    if scope in ("BestEffort", "NotBestEffort"):
        best = compute_qos_class(spec) == "BestEffort"
        return best if scope == "BestEffort" else not best
    if scope == "PriorityClass":
        pcn = spec.get("priorityClassName") or ""
        if op == "Exists":
            return bool(pcn)
        if op == "DoesNotExist":
            return not pcn
        if op == "In":
            return bool(pcn) and pcn in values
        if op == "NotIn":
            return not pcn or pcn not in values
        return False
    if scope == "CrossNamespacePodAffinity":
        aff = spec.get("affinity") or {}
        for kind in ("podAffinity", "podAntiAffinity"):
            a = aff.get(kind) or {}
            terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
            terms += [w.get("podAffinityTerm") or {} for w in a.get("preferredDuringSchedulingIgnoredDuringExecution")
                      or []]
            if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
                return True
        return False
    return False


def quota_matches(quota: Obj, rt: ResourceType, obj: Obj) -> bool:
    """generic.Matches: the quota tracks something this kind costs, and every scope selects the object."""
    hard = hard_of(quota)
    if not any(matches_resource(rt, n) for n in hard):
        return False
    spec = quota.get("spec") or {}
    scopes: list[tuple[str, str, list[str]]] = [(s, "Exists", []) for s in spec.get("scopes") or []]
    for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        scopes.append((e.get("scopeName", ""), e.get("operator", ""), list(e.get("values") or [])))
    if not scopes:
        return True
    if not (rt.group == "" and rt.plural == "pods"):
        return False
    return all(_pod_matches_scope(s, op, vals, obj) for s, op, vals in scopes)


def hard_of(quota: Obj) -> Usage:
    """What the quota limits: status.hard once the controller has copied it, else spec.hard."""
    return parse_list((quota.get("status") or {}).get("hard")) or parse_list((quota.get("spec") or {}).get("hard"))


# ------------------------------------------------------------------------------------------------ objects
def object_usage(rt: ResourceType, obj: Obj, now: _dt.datetime) -> Usage:
    """Everything one object costs."""
    u: Usage = {count_name(rt): ONE}
    if rt.group:
        return u
    if rt.plural in LEGACY_COUNTS:
        u[rt.plural] = ONE
    spec = obj.get("spec") or {}
    if rt.plural == "pods":
        u.update(pod_usage(obj, now))
    elif rt.plural == "services":
        t = spec.get("type") or "ClusterIP"
        ports = len(spec.get("ports") or [])
        u["services.loadbalancers"] = ONE if t == "LoadBalancer" else ZERO
        node_ports = ports if t == "NodePort" or (t == "LoadBalancer" and spec.get(
            "allocateLoadBalancerNodePorts", True) is not False) else 0
        u["services.nodeports"] = Quantity(Fraction(node_ports), DECIMAL_SI)
    elif rt.plural == "persistentvolumeclaims":
        storage = parse_list(((spec.get("resources") or {}).get("requests")) or {}).get("storage")
        if storage is not None:
            u["requests.storage"] = storage
        cls = spec.get("storageClassName") or ((obj.get("metadata") or {}).get("annotations") or {}).get(
            "volume.beta.kubernetes.io/storage-class") or ""
        if cls:
            u[f"{cls}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
            if storage is not None:
                u[f"{cls}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return u


def kinds_for(ctx: ServerContext, names: Iterable[str]) -> list[ResourceType]:
    """Which (namespaced) resource types can cost any of ``names``."""
    from kubelab.apiserver.admission._common import resource

    wanted: dict[str, ResourceType] = {}
    for name in names:
        if name.startswith("count/"):
            plural, _, group = name[len("count/"):].partition(".")
        elif name in LEGACY_COUNTS:
            group, plural = "", name
        elif name.startswith("services."):
            group, plural = "", "services"
        elif name == "requests.storage" or STORAGE_CLASS_SUFFIX in name:
            group, plural = "", "persistentvolumeclaims"
        else:
            group, plural = "", "pods"
        rt = resource(ctx, group, plural)
        if rt is not None and rt.namespaced:
            wanted[rt.storage_prefix] = rt
    return list(wanted.values())


def sum_usage(rt: ResourceType, objects: Iterable[Obj], names: Iterable[str], quota: Obj,
              now: _dt.datetime) -> Usage:
    """What ``objects`` (of kind ``rt``) that the quota's scopes select cost, for ``names``."""
    names = list(names)
    total: Usage = {}
    for obj in objects:
        if quota_matches(quota, rt, obj):
            total = add(total, mask(object_usage(rt, obj, now), names))
    return total


def namespace_usage(ctx: ServerContext, namespace: str, names: Iterable[str], quota: Obj,
                    now: _dt.datetime) -> Usage:
    """What the namespace uses now, for ``names`` (read from the store: admission runs inside the API server)."""
    names = list(names)
    total: Usage = {n: ZERO for n in names}
    for rt in kinds_for(ctx, names):
        kvs, _ = ctx.store.range(rt.prefix(namespace))
        total = add(total, sum_usage(rt, (kv.value for kv in kvs), names, quota, now))
    return total
