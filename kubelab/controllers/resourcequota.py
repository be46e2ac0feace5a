"""The resource quota controller: keep each ResourceQuota's ``status.hard`` and ``status.used`` up to date.

Mirrors kube-controller-manager's ResourceQuotaController (pkg/controller/resourcequota, with the quota monitor's
"replenishment"): ``status.hard`` copies ``spec.hard``; ``status.used`` is recomputed from the namespace's objects
with the same evaluators the ResourceQuota admission plugin uses (kubelab.apiserver.admission.quota), whenever a
quota changes or an object it tracks is created, changed or deleted. This is what ``kubectl describe quota``
shows as Used / Hard.

Simplified: upstream also resyncs every quota every 5 minutes and admission writes ``status.used`` as it admits;
here the controller recomputes on every change (informers for the kinds a quota counts are started on demand)
and wakes when a Terminating pod's grace period ends (such pods stop being charged).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.api.resources import ResourceType
from kubelab.apiserver.admission import quota as q
from kubelab.client import Client, InformerFactory
from kubelab.clock import parse_time
from kubelab.config import LabConfig
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

Obj = dict[str, Any]

QUOTAS = "resourcequotas"
# the kinds the built-in evaluators know, watched from the start
WATCHED = ("pods", "services", "persistentvolumeclaims", "configmaps", "secrets")


def resource_name(rt: ResourceType) -> str:
    """The informer / client name of a resource type: ``pods``, ``deployments.apps``."""
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


class ResourceQuotaController(Controller):
    """Keys are quota keys ``namespace/name``. Writes carry ``resourcequota-controller``."""

    name = "resourcequota"
    manager = "resourcequota-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        if client.manager != self.manager:
            client = Client(client.ctx, self.manager)
        super().__init__(client, informers, config, trace)

    def setup(self) -> None:
        self.quotas = self.informers.informer(QUOTAS)
        self.quotas.add_handler(self.enqueue, lambda old, new: self._quota_updated(old, new), None)
        self._watched: set[str] = set()
        for res in WATCHED:
            self._watch(res)

    def _quota_updated(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec") or old.get("status") != new.get("status"):
            self.enqueue(new)

    def _watch(self, res: str) -> None:
        """Replenishment: a change to an object of this kind re-syncs the quotas of its namespace."""
        if res in self._watched:
            return
        self._watched.add(res)
        inf = self.informers.informer(res)

        def changed(obj: Obj, *_: Obj) -> None:
            ns = (obj.get("metadata") or {}).get("namespace")
            if ns:
                for quota in self.quotas.list(ns):
                    self.enqueue(quota)

        inf.add_handler(changed, lambda old, new: changed(new), changed)
        try:
            inf.start()  # a no-op before the factory starts; starts one added later on demand
        except RuntimeError:  # no running loop yet (constructed outside it): the factory starts it
            pass

    # ------------------------------------------------------------------------------------------------ sync
    async def sync(self, key: str) -> None:
        quota = self.quotas.get_key(key)
        if quota is None:
            return
        ns = quota["metadata"]["namespace"]
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        names = list(hard)
        now = self.clock.now()
        used: q.Usage = {n: q.ZERO for n in names}
        wake: _dt.datetime | None = None
        for rt in q.kinds_for(self.client.ctx, names):
            res = resource_name(rt)
            self._watch(res)
            objects = self.client.list(res, ns)
            used = q.add(used, q.sum_usage(rt, objects, names, quota, now))
            if rt.group == "" and rt.plural == "pods":
                wake = _earliest_release(objects, now, wake)
        status = {"hard": hard, "used": q.to_strings(q.mask(used, names))}
        if status != (quota.get("status") or {}):
            self.client.update_status(QUOTAS, dict(quota, status=status))
            self.emit("usage", quota, message=", ".join(f"{k}: {v}/{hard[k]}" for k, v in status["used"].items()))
        if wake is not None:
            self.requeue_after(key, (wake - now).total_seconds() + 0.01)


def _earliest_release(pods: list[Obj], now: _dt.datetime, current: _dt.datetime | None) -> _dt.datetime | None:
    """When the next Terminating pod stops being charged (deletionTimestamp + its grace period)."""
    for pod in pods:
        meta = pod.get("metadata") or {}
        ts, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
        if not ts or grace is None:
            continue
        try:
            at = parse_time(ts) + _dt.timedelta(seconds=int(grace))
        except ValueError:
            continue
        if at >= now and (current is None or at < current):
            current = at
    return current
