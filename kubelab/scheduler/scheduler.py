"""The scheduler component: watch pending pods, pick a node for each, bind, report (kube-scheduler's scheduleOne).

    sched = Scheduler(client, informers, config, trace)   # client's manager: "default-scheduler"
    informers.start(); task = loop.create_task(sched.run())

Informer handlers keep the cache (nodes + assigned pods) and the scheduling queue up to date; ``run`` pops one
pod at a time and runs a scheduling cycle on the framework. On success the pod is *assumed* on the chosen node
in the cache (so the next pod of a burst sees it), bound through pods/binding, and a Normal ``Scheduled`` event
says "Successfully assigned <ns>/<pod> to <node>". On failure a Warning ``FailedScheduling`` event carries the
FitError message, the pod's PodScheduled condition becomes False/Unschedulable with that message, and the pod
waits in the queue for a cluster event that may help. Every attempt is kept as a ``Decision``
(``last_decision``) and reported on the trace bus as filter/score/bind steps.

Simplified: one profile; binding is synchronous (no separate binding cycle, no Permit/PreBind); assumed pods
never expire; pods with spec.nodeName are never queued (they are bound already).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client, Informer, InformerFactory
from kubelab.clock import rfc3339
from kubelab.config import LabConfig
from kubelab.scheduler.decision import Decision
from kubelab.scheduler.framework.cache import Cache
from kubelab.scheduler.framework.interface import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    NODE_ADD,
    NODE_UPDATE,
    Handle,
)
from kubelab.scheduler.framework.registry import Profile, Registry, default_profile
from kubelab.scheduler.framework.runtime import CycleResult, Framework, sort_key_fn
from kubelab.scheduler.framework.types import PodInfo
from kubelab.scheduler.queue import QueuedPodInfo, SchedulingQueue
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]

COMPONENT = "scheduler"
MAX_UNSCHEDULABLE_SECONDS = 300.0  # podMaxInUnschedulablePodsDuration
EVENT_BUFFER = 1000  # client-go's event broadcaster queues up to 1000 events
_TERMINAL = ("Succeeded", "Failed")


class InformerListers:
    """The framework's Listers over shared informers' caches."""

    def __init__(self, informers: Mapping[str, Informer]) -> None:
        self._inf = informers

    def services(self, namespace: str) -> Iterable[Obj]:
        inf = self._inf.get("services")
        return inf.list(namespace=namespace) if inf is not None else ()

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        inf = self._inf.get(resource)
        return inf.get(name, namespace) if inf is not None else None

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        inf = self._inf.get("namespaces")
        ns = inf.get(namespace) if inf is not None else None
        return None if ns is None else ((ns.get("metadata") or {}).get("labels") or {})


class Scheduler:
    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None, profile: Profile | None = None, *,
                 registry: Registry | None = None, seed: int = 0, keep_decisions: int = 1000) -> None:
        self.client = client
        self.config = config
        self.clock = client.clock
        self.trace = trace if trace is not None else TraceBus(client.clock)
        self.profile = profile or default_profile()
        self.name = self.profile.scheduler_name
        self.pods = informers.informer("pods")
        self.nodes = informers.informer("nodes")
        # what default spreading and namespace selectors read; a resource this server does not serve is skipped
        self._informers: dict[str, Informer] = {}
        for key, resource in (("services", "services"), ("replicasets", "replicasets.apps"),
                              ("statefulsets", "statefulsets.apps"),
                              ("replicationcontrollers", "replicationcontrollers"), ("namespaces", "namespaces")):
            try:
                client.resource(resource)
            except ApiError:
                continue
            self._informers[key] = informers.informer(resource)
        self.cache = Cache(InformerListers(self._informers))
        self.handle = Handle(cache=self.cache, client=client, clock=self.clock, record_event=self._event,
                             scheduler_name=self.name)
        self.framework = Framework(self.profile, self.handle, registry, seed=seed)
        max_unsched = float(config.extra.get("scheduler_max_unschedulable_seconds",  # type: ignore[arg-type]
                                             MAX_UNSCHEDULABLE_SECONDS))
        self.queue = SchedulingQueue(self.clock, sort_key_fn(self.framework),
                                     backoff_initial=config.scheduler_backoff_initial,
                                     backoff_max=config.scheduler_backoff_max, max_unschedulable=max_unsched,
                                     plugins=self.framework.plugins)
        self._decisions: OrderedDict[str, Decision] = OrderedDict()
        self._keep = keep_decisions
        self._events: deque[tuple[Obj, str, str, str, str]] = deque()
        self.scheduled = 0
        self.attempts = 0
        self.nodes.add_handler(self._on_node_add, self._on_node_update, self._on_node_delete)
        self.pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)

    # ------------------------------------------------------------------------------------------ public
    async def run(self) -> None:
        """Schedule until cancelled (or ``stop``). Start the informers first (the caller's job)."""
        await asyncio.gather(self.pods.wait_synced(), self.nodes.wait_synced(),
                             *(i.wait_synced() for i in self._informers.values()))
        try:
            while True:
                if not self.queue.ready():
                    self.flush_events()
                qpi = await self.queue.pop()
                if qpi is None:
                    return
                try:
                    self.schedule_one(qpi)
                except Exception:
                    log.exception("scheduling %s failed", qpi.key)
                    self.queue.add_backoff(qpi)
                await asyncio.sleep(0)  # let the informers deliver what the binding changed
        finally:
            self.flush_events()

    def stop(self) -> None:
        self.queue.close()

    def last_decision(self, namespace: str, name: str) -> Decision | None:
        return self._decisions.get(f"{namespace}/{name}")

    def pending(self) -> dict[str, list[str]]:
        return self.queue.pending()

    # ------------------------------------------------------------------------------------------ one pod
    def schedule_one(self, qpi: QueuedPodInfo) -> Decision | None:
        pi = qpi.pod
        live = self.pods.get(pi.name, pi.namespace)
        if live is None or not self._responsible(live):
            self.queue.done(pi.key)
            return None
        qpi.attempts += 1
        self.attempts += 1
        res = self.framework.schedule(pi)
        decision = Decision(res, at=self.clock.now())
        self._remember(decision)
        self._trace_cycle(pi, res)
        if res.node:
            self._bind(qpi, pi, res.node)
        else:
            self._fail(qpi, pi, res)
        return decision

    def _bind(self, qpi: QueuedPodInfo, pi: PodInfo, node: str) -> None:
        self.cache.assume_pod(pi, node)
        try:
            self.client.bind(pi.namespace, pi.name, node)
        except ApiError as e:
            self.cache.forget_pod(pi.key)
            pi.node_name = ""
            if e.code == 404:
                self.queue.delete(pi.key)
                return
            msg = f"Binding rejected: {e.message}"
            self._event(pi.pod, "FailedScheduling", msg, "Warning", action="Scheduling")
            self.trace.emit(COMPONENT, "bind", obj=pi.pod, node=node, reason="BindingRejected", message=msg)
            self.queue.add_backoff(qpi)
            return
        self.queue.done(pi.key)
        self.scheduled += 1
        msg = f"Successfully assigned {pi.key} to {node}"
        self._event(pi.pod, "Scheduled", msg, "Normal", action="Binding")
        self.trace.emit(COMPONENT, "bind", obj=pi.pod, node=node, reason="Scheduled", message=msg)

    def _fail(self, qpi: QueuedPodInfo, pi: PodInfo, res: CycleResult) -> None:
        nominated = ""
        if res.post_filter is not None and res.post_filter_status is not None and \
                res.post_filter_status.is_success():
            nominated = res.post_filter.nominated_node
            self.trace.emit(COMPONENT, "preempt", obj=pi.pod, node=nominated,
                            message=f"preempting {len(res.post_filter.victims)} pod(s) on {nominated}",
                            victims=[v.key for v in res.post_filter.victims])
        msg = res.message
        self._event(pi.pod, "FailedScheduling", msg, "Warning", action="Scheduling")
        self.trace.emit(COMPONENT, "unschedulable", obj=pi.pod, reason="FailedScheduling", message=msg)
        self._set_condition(pi, "SchedulerError" if res.error else "Unschedulable", msg, nominated)
        if res.error:
            self.queue.add_backoff(qpi)
        else:
            self.queue.add_unschedulable(qpi, res.rejectors())

    def _set_condition(self, pi: PodInfo, reason: str, message: str, nominated: str) -> None:
        """PodScheduled=False with the reason and message (and status.nominatedNodeName), via pods/status."""
        live = self.pods.get(pi.name, pi.namespace) or pi.pod
        status = live.get("status") or {}
        cur = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        same = (cur is not None and cur.get("status") == "False" and cur.get("reason") == reason
                and cur.get("message") == message)
        if same and (not nominated or status.get("nominatedNodeName") == nominated):
            return
        since = cur.get("lastTransitionTime") if cur is not None and cur.get("status") == "False" else None
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": since or rfc3339(self.clock.now()), "reason": reason, "message": message}
        patch: Obj = {"status": {"conditions": [cond]}}
        if nominated:
            patch["status"]["nominatedNodeName"] = nominated
        try:
            self.client.patch("pods", pi.name, patch, namespace=pi.namespace, patch_type="strategic",
                              subresource="status")
        except ApiError as e:
            log.debug("updating PodScheduled of %s: %s", pi.key, e.message)

    def _event(self, obj: Obj, reason: str, message: str, type_: str = "Normal", *, action: str = "") -> None:
        """Record an Event. Like client-go's broadcaster, recording never holds up scheduling: events wait in a
        buffer written out whenever no pod is ready to schedule (or when ``EVENT_BUFFER`` of them are waiting)."""
        self._events.append((obj, reason, message, type_, action))
        if len(self._events) >= EVENT_BUFFER:
            self.flush_events()

    def flush_events(self) -> None:
        while self._events:
            obj, reason, message, type_, action = self._events.popleft()
            try:
                self.client.event(obj, reason, message, type_, action=action)
            except Exception:  # best effort, as in client-go (e.g. the store is closing)
                log.debug("recording %s event failed", reason, exc_info=True)

    def _remember(self, d: Decision) -> None:
        self._decisions[d.pod] = d
        self._decisions.move_to_end(d.pod)
        while len(self._decisions) > self._keep:
            self._decisions.popitem(last=False)

    def _trace_cycle(self, pi: PodInfo, res: CycleResult) -> None:
        if not self.trace.enabled:
            return
        rejected: dict[str, int] = {}
        for st in res.statuses.values():
            for r in st.reasons:
                rejected[r] = rejected.get(r, 0) + 1
        self.trace.emit(COMPONENT, "filter", obj=pi.pod,
                        message=f"{len(res.feasible)}/{res.num_all_nodes} nodes fit",
                        evaluated=res.evaluated, feasible=len(res.feasible), rejected=rejected)
        if res.totals:
            top = sorted(res.totals, reverse=True)[:3]
            self.trace.emit(COMPONENT, "score", obj=pi.pod, node=res.node,
                            message=f"{res.node} scored {top[0]} (best of {len(res.totals)})",
                            top_totals=top, skipped=list(res.skipped_scores))

    # ------------------------------------------------------------------------------------------ informers
    def _responsible(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (spec.get("schedulerName", "default-scheduler") == self.name and not spec.get("nodeName")
                and not (pod.get("metadata") or {}).get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in _TERMINAL)

    def _on_pod_add(self, pod: Obj) -> None:
        if _assigned(pod):
            if (pod.get("status") or {}).get("phase") not in _TERMINAL:
                self.cache.add_pod(pod)
                self.queue.move_on_event(ASSIGNED_POD_ADD, None, pod)
        elif self._responsible(pod):
            self.queue.add(PodInfo(pod))

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        key = _key(new)
        if _assigned(new):
            if not _assigned(old):
                self.queue.delete(key)
            if (new.get("status") or {}).get("phase") in _TERMINAL:
                if self.cache.remove_pod(key) is not None:
                    self.queue.move_on_event(ASSIGNED_POD_DELETE, old, None)
                return
            known = self.cache.pod(key)
            self.cache.update_pod(new)
            if not _assigned(old) or known is None:
                self.queue.move_on_event(ASSIGNED_POD_ADD, None, new)
            elif _labels(old) != _labels(new):
                self.queue.move_on_event(ASSIGNED_POD_UPDATE, old, new)
        elif self._responsible(new):
            self.queue.update(PodInfo(new), requeue=_spec_changed(old, new))
        else:
            self.queue.delete(key)

    def _on_pod_delete(self, pod: Obj) -> None:
        key = _key(pod)
        self._decisions.pop(key, None)
        if self.cache.remove_pod(key) is not None:
            self.queue.move_on_event(ASSIGNED_POD_DELETE, pod, None)
        self.queue.delete(key)

    def _on_node_add(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.move_on_event(NODE_ADD, None, node)

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(new)
        if _node_changed(old, new):
            self.queue.move_on_event(NODE_UPDATE, old, new)

    def _on_node_delete(self, node: Obj) -> None:
        self.cache.remove_node((node.get("metadata") or {}).get("name", ""))


def _key(pod: Obj) -> str:
    m = pod.get("metadata") or {}
    return f"{m.get('namespace') or ''}/{m.get('name')}"


def _assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _spec_changed(old: Obj, new: Obj) -> bool:
    """Upstream's isPodUpdated: anything but status, resourceVersion, generation and managedFields."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    if old.get("spec") != new.get("spec"):
        return True
    return any(om.get(k) != nm.get(k) for k in ("labels", "annotations", "ownerReferences", "finalizers",
                                                 "deletionTimestamp"))


def _node_changed(old: Obj, new: Obj) -> bool:
    """A change that can matter to scheduling: spec (taints, unschedulable), labels, allocatable, conditions
    (ignoring heartbeat times)."""
    if old.get("spec") != new.get("spec") or _labels(old) != _labels(new):
        return True
    os_, ns_ = old.get("status") or {}, new.get("status") or {}
    if os_.get("allocatable") != ns_.get("allocatable"):
        return True

    def conds(s: Obj) -> list[tuple[Any, Any]]:
        return [(c.get("type"), c.get("status")) for c in s.get("conditions") or []]

    return conds(os_) != conds(ns_)
