"""The ResourceQuota admission plugin: refuse a write that would take a namespace past a quota's hard limits.

Mirrors plugin/pkg/admission/resourcequota (checkRequest in controller.go): for each quota in the namespace that
matches the object (it tracks something the object costs, and its scopes select it), the object must state what
the quota needs (``failed quota: q: must specify limits.cpu for: app``), and used + requested must stay within
hard for every resource the request touches, else 403::

    pods "web-3" is forbidden: exceeded quota: pods-max, requested: pods=1, used: pods=2, limited: pods=2

Pods are checked on create; services and claims on create and update (the delta of an update is charged).

Simplified: upstream compares with the quota's ``status.used`` and then writes the new usage into it (with
optimistic concurrency, batching concurrent requests per namespace); kubelab's writes are serialized, so it
counts the namespace's current usage from the store instead and leaves ``status.used`` to the resource quota
controller (which recomputes it on every change). A quota whose status the controller has not filled yet is
therefore enforced at once rather than answered with "status unknown for quota".
"""

from __future__ import annotations

from kubelab.api.resources import ResourceType
from kubelab.apiserver.admission import quota as q
from kubelab.apiserver.admission._common import Obj, forbidden, invalid, list_objects, namespace_of
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions

# kinds whose updates can change usage (pods only through the resize subresource, not modelled)
_UPDATE_CHARGED = frozenset({("", "services"), ("", "persistentvolumeclaims")})


class ResourceQuotaAdmission:
    """Admission hook ``(rt, new, old, opts)``; raises ApiError 403 when a quota would be exceeded."""

    name = "ResourceQuota"

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._quota_rt = ctx.resources.lookup("", "v1", "resourcequotas")

    def __call__(self, rt: ResourceType, new: Obj, old: Obj | None, opts: WriteOptions) -> None:
        if not rt.namespaced or opts.system or self._quota_rt is None:
            return
        if old is not None and (rt.group, rt.plural) not in _UPDATE_CHARGED:
            return
        ns = namespace_of(new)
        if not ns or self.ctx.store.count(self._quota_rt.prefix(ns)) == 0:
            return
        self.check(rt, new, old)

    def check(self, rt: ResourceType, new: Obj, old: Obj | None) -> None:
        ns = namespace_of(new)
        quotas = [o for o in list_objects(self.ctx, "", "resourcequotas", ns)
                  if not (o.get("metadata") or {}).get("deletionTimestamp")]
        now = self.ctx.clock.now()
        matching = [quota for quota in quotas if q.quota_matches(quota, rt, new)]
        if not matching or invalid(rt, new, old):
            return  # validation will answer (422 before 403, as upstream's order gives)
        delta = q.object_usage(rt, new, now)
        if old is not None:
            delta = q.subtract(delta, q.object_usage(rt, old, now))
        for quota in matching:
            name = quota["metadata"]["name"]
            hard = q.hard_of(quota)
            tracked = [n for n in hard if q.matches_resource(rt, n)]
            if rt.group == "" and rt.plural == "pods":
                missing = q.pod_constraints(tracked, new)
                if missing:
                    raise forbidden(rt, new, f"failed quota: {name}: {missing}")
            requested = {k: v for k, v in q.mask(delta, tracked).items() if v.value != 0}
            if not requested:
                continue
            negative = sorted(k for k, v in requested.items() if v.value < 0)
            if negative and old is None:
                raise forbidden(rt, new, f"quota usage is negative for resource(s): {','.join(negative)}")
            used = q.namespace_usage(self.ctx, ns, requested, quota, now)
            exceeded = [k for k, v in requested.items() if v.value > 0 and used[k].value + v.value > hard[k].value]
            if exceeded:
                raise forbidden(rt, new, (
                    f"exceeded quota: {name}, requested: {q.pretty(q.mask(requested, exceeded))}, "
                    f"used: {q.pretty(q.mask(used, exceeded))}, limited: {q.pretty(q.mask(hard, exceeded))}"))
