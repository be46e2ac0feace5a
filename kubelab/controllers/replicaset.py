"""The ReplicaSet controller: keep ``spec.replicas`` pods running from the template (mirrors upstream's
``pkg/controller/replicaset/replica_set.go``).

Informer handlers only enqueue ReplicaSet keys. ``sync`` reads the caches, claims pods (adopts orphans that match
the selector, releases owned pods that no longer match), creates or deletes the difference, and writes status
last. Expectations remember a burst of creates/deletes until the pod informer has seen them, so a stale cache never
causes a second burst. Surplus pods are deleted in upstream's order: unscheduled before scheduled, Pending before
Running, not ready before ready, higher pod-deletion-cost last, doubled-up nodes first, recently ready first, more
restarts first, newer first.

Simplified: creates run in slow-start batches but sequentially (the in-process client is synchronous); the
logarithmic scale-down buckets compare ready times only; no ``terminatingReplicas`` status field.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import math
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import LabelSelector
from kubelab.client import Client, InformerFactory, meta_key
from kubelab.clock import rfc3339
from kubelab.config import LabConfig
from kubelab.controllers.podutil import (
    POD_DELETION_COST,
    ControllerExpectations,
    RefManager,
    as_manager,
    controller_ref,
    is_deleting,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    labels_of,
    max_restarts,
    meta,
    new_controller_ref,
    pod_from_template,
    pod_phase,
    ready_since,
    ref_points_to,
    seconds_until_available,
    selector_of,
    ts,
    uid_of,
)
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]

BURST_REPLICAS = 500  # upstream --concurrent... burstReplicas: at most this many creates/deletes per sync
SLOW_START_INITIAL_BATCH = 1
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


class ManageError(Exception):
    """Creating or deleting pods failed; becomes the ReplicaFailure condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ReplicaSetController(Controller):
    name = "replicaset"
    manager = "replicaset-controller"
    resource = "replicasets.apps"
    api_version = "apps/v1"
    kind = "ReplicaSet"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        super().__init__(as_manager(client, self.manager), informers, config, trace)

    # ------------------------------------------------------------------------------------------- handlers
    def setup(self) -> None:
        self.expectations = ControllerExpectations(self.clock)
        self.rs_informer = self.informers.informer(self.resource)
        self.pod_informer = self.informers.informer("pods")
        self.rs_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._delete_rs)
        self.pod_informer.add_handler(self._add_pod, self._update_pod, self._delete_pod)

    def _delete_rs(self, rs: Obj) -> None:
        key = meta_key(rs)
        self.expectations.delete(key)
        self.enqueue_key(key)

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if not ref_points_to(ref, self.api_version, self.kind):
            return None
        assert ref is not None
        rs = self.rs_informer.get(str(ref.get("name")), namespace)
        if rs is None or uid_of(rs) != ref.get("uid"):
            return None
        return rs

    def pod_selector(self, rs: Obj) -> LabelSelector | None:
        """The set's selector (a ReplicationController-style subclass with map selectors overrides this)."""
        return selector_of(rs)

    def _matching_sets(self, pod: Obj) -> list[Obj]:
        """GetPodReplicaSets: every set in the pod's namespace whose (non-empty) selector matches it."""
        out = []
        labels = labels_of(pod)
        for rs in self.rs_informer.list(meta(pod).get("namespace")):
            sel = self.pod_selector(rs)
            if sel is not None and not sel.empty() and sel.matches(labels):
                out.append(rs)
        return out

    def _add_pod(self, pod: Obj) -> None:
        if is_deleting(pod):
            self._delete_pod(pod)  # on restart an informer may see a pod already being deleted
            return
        ns = str(meta(pod).get("namespace") or "")
        ref = controller_ref(pod)
        if ref is not None:
            rs = self._resolve(ns, ref)
            if rs is not None:
                key = meta_key(rs)
                self.expectations.creation_observed(key)
                self.enqueue_key(key)
            return
        for rs in self._matching_sets(pod):  # an orphan: whoever matches may adopt it
            self.enqueue(rs)

    def _update_pod(self, old: Obj, cur: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(cur).get("resourceVersion"):
            return
        ns = str(meta(cur).get("namespace") or "")
        labels_changed = labels_of(old) != labels_of(cur)
        if is_deleting(cur):
            # a graceful delete shows up as an update; the deletion is what the expectations wait for
            self._delete_pod(cur)
            if labels_changed:
                self._delete_pod(old)
            return
        cur_ref, old_ref = controller_ref(cur), controller_ref(old)
        ref_changed = (cur_ref or {}).get("uid") != (old_ref or {}).get("uid")
        if ref_changed and old_ref is not None:
            rs_old = self._resolve(ns, old_ref)
            if rs_old is not None:
                self.enqueue(rs_old)
        if cur_ref is not None:
            rs = self._resolve(ns, cur_ref)
            if rs is None:
                return
            self.enqueue(rs)
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and not is_pod_ready(old) and is_pod_ready(cur):
                self.requeue_after(meta_key(rs), min_ready + 0.5)  # check availability once it can have changed
            return
        if labels_changed or ref_changed:
            for rs in self._matching_sets(cur):
                self.enqueue(rs)

    def _delete_pod(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is None:
            return
        rs = self._resolve(str(meta(pod).get("namespace") or ""), ref)
        if rs is None:
            return
        key = meta_key(rs)
        self.expectations.deletion_observed(key, meta_key(pod))
        self.enqueue_key(key)

    # ------------------------------------------------------------------------------------------- sync
    async def sync(self, key: str) -> None:
        self.sync_replica_set(key)

    def sync_replica_set(self, key: str) -> None:
        rs = self.rs_informer.get_key(key)
        if rs is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = self.pod_selector(rs)
        if selector is None:
            log.info("%s %s has an invalid selector", self.kind, key)
            return
        ns = str(meta(rs).get("namespace") or "")
        active = [p for p in self.pod_informer.list(ns) if is_pod_active(p)]
        pods = self.claim_pods(rs, selector, active)
        error: ManageError | None = None
        if needs_sync and not is_deleting(rs):
            error = self.manage_replicas(pods, rs)
        now = self.clock.now()
        status = calculate_status(rs, pods, error, now, rfc3339(now))
        if self.update_status(rs, status):
            self.emit("status", rs, message=f"{status.get('replicas', 0)} pods, want {_replicas(rs)}",
                      replicas=status.get("replicas", 0), ready=status.get("readyReplicas", 0),
                      available=status.get("availableReplicas", 0))
        # pods that are ready but not yet available (minReadySeconds): look again when the first one will be
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if error is None and min_ready:
            waits = [w for p in pods if (w := seconds_until_available(p, min_ready, now)) is not None]
            if waits:
                self.requeue_after(key, min(waits) + 0.5)

    def claim_pods(self, rs: Obj, selector: LabelSelector, pods: list[Obj]) -> list[Obj]:
        ns, name = str(meta(rs).get("namespace") or ""), str(meta(rs).get("name"))
        mgr = RefManager(self.client, "pods", rs, self.api_version, self.kind,
                         lambda: self.client.try_get(self.resource, name, ns))
        return mgr.claim(pods, selector, lambda action, pod: self.emit(action, pod, owner=name))

    # ------------------------------------------------------------------------------------------- act
    def manage_replicas(self, pods: list[Obj], rs: Obj) -> ManageError | None:
        key = meta_key(rs)
        diff = len(pods) - _replicas(rs)
        if diff < 0:
            return self._create_pods(rs, key, min(-diff, BURST_REPLICAS))
        if diff > 0:
            return self._delete_pods(rs, key, pods, min(diff, BURST_REPLICAS))
        return None

    def _create_pods(self, rs: Obj, key: str, n: int) -> ManageError | None:
        self.expectations.expect_creations(key, n)
        ref = new_controller_ref(rs, self.api_version, self.kind)
        template = (rs.get("spec") or {}).get("template") or {}
        ns = meta(rs).get("namespace")
        created = 0
        batch = SLOW_START_INITIAL_BATCH
        error: ManageError | None = None
        while created < n and error is None:  # slowStartBatch: 1, 2, 4, ... stop at the first failing batch
            for _ in range(min(batch, n - created)):
                try:
                    pod = self.client.create("pods", pod_from_template(template, rs, ref), namespace=ns)
                except ApiError as e:
                    self.client.event(rs, "FailedCreate", f"Error creating: {e.message}", "Warning")
                    self.emit("create-failed", rs, reason=e.reason, message=e.message)
                    error = ManageError("FailedCreate", e.message)
                    break
                created += 1
                self.client.event(rs, "SuccessfulCreate", f"Created pod: {meta(pod).get('name')}")
                self.emit("create", pod, owner=meta(rs).get("name"))
            batch *= 2
        for _ in range(n - created):  # never coming: do not wait for them
            self.expectations.creation_observed(key)
        return error

    def _delete_pods(self, rs: Obj, key: str, pods: list[Obj], n: int) -> ManageError | None:
        victims = self.pods_to_delete(rs, pods, n)
        self.expectations.expect_deletions(key, [meta_key(p) for p in victims])
        error: ManageError | None = None
        for pod in victims:
            ns, name = meta(pod).get("namespace"), str(meta(pod).get("name"))
            try:
                self.client.delete("pods", name, ns, preconditions={"uid": uid_of(pod)})
            except ApiError as e:
                self.expectations.deletion_observed(key, meta_key(pod))
                if e.code == 409:  # not the pod we meant any more: nothing to delete
                    continue
                self.client.event(rs, "FailedDelete", f"Error deleting: {e.message}", "Warning")
                error = error or ManageError("FailedDelete", e.message)
                continue
            self.client.event(rs, "SuccessfulDelete", f"Deleted pod: {name}")
            self.emit("delete", pod, owner=meta(rs).get("name"))
        return error

    def pods_to_delete(self, rs: Obj, pods: list[Obj], n: int) -> list[Obj]:
        """getPodsToDelete: rank only when we delete fewer than we have; rank by related pods on the same node
        (pods of this set and of its siblings under the same controller)."""
        if n >= len(pods):
            return list(pods)
        related = self._related_pods(rs, pods)
        on_node: dict[str, int] = {}
        for p in related:
            if is_pod_active(p):
                node = str((p.get("spec") or {}).get("nodeName") or "")
                on_node[node] = on_node.get(node, 0) + 1
        now = self.clock.now()
        ranked: list[tuple[Obj, int]] = [
            (p, on_node.get(str((p.get("spec") or {}).get("nodeName") or ""), 0)) for p in pods]

        def order(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
            return deletion_order(a[0], a[1], b[0], b[1], now)

        ranked.sort(key=functools.cmp_to_key(order))
        return [p for p, _ in ranked[:n]]

    def _related_pods(self, rs: Obj, own: list[Obj]) -> list[Obj]:
        owner = controller_ref(rs)
        if owner is None:
            return own
        ns = meta(rs).get("namespace")
        sibling_uids = {uid_of(s) for s in self.rs_informer.list(ns)
                        if (controller_ref(s) or {}).get("uid") == owner.get("uid")}
        return [p for p in self.pod_informer.list(ns) if (controller_ref(p) or {}).get("uid") in sibling_uids]

    # ------------------------------------------------------------------------------------------- status
    def update_status(self, rs: Obj, status: Obj) -> bool:
        """Write status if it changed (True if written); on a conflict read the set again and retry once
        (upstream updateReplicaSetStatus with statusUpdateRetries = 1)."""
        for attempt in range(2):
            if (rs.get("status") or {}) == status:
                return False
            try:
                self.client.update_status(self.resource, dict(rs, status=status))
                return True
            except ApiError as e:
                if e.code == 404:
                    return False
                if e.code != 409 or attempt:
                    raise
            ns, name = meta(rs).get("namespace"), str(meta(rs).get("name"))
            fresh = self.client.try_get(self.resource, name, ns)
            if fresh is None or uid_of(fresh) != uid_of(rs):
                return False
            if meta(fresh).get("generation") != meta(rs).get("generation"):
                return False  # the spec moved on: the sync its change queued computes status for it
            rs = fresh
        return False


def _replicas(rs: Obj) -> int:
    r = (rs.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def calculate_status(rs: Obj, pods: list[Obj], error: ManageError | None, now: _dt.datetime,
                     now_iso: str) -> Obj:
    """A pure function of the set, its claimed active pods and the last manage error (upstream calculateStatus).
    Zero counts are left out, as the API server's Go types omit them."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully_labeled = sum(1 for p in pods if all(labels_of(p).get(k) == v for k, v in template_labels.items()))
    ready = sum(1 for p in pods if is_pod_ready(p))
    available = sum(1 for p in pods if is_pod_available(p, min_ready, now))
    status: Obj = {"replicas": len(pods)}
    for k, v in (("fullyLabeledReplicas", fully_labeled), ("readyReplicas", ready),
                 ("availableReplicas", available)):
        if v:
            status[k] = v
    gen = meta(rs).get("generation")
    if gen:
        status["observedGeneration"] = gen
    conditions = [dict(c) for c in (rs.get("status") or {}).get("conditions") or []]
    failure = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if error is not None and failure is None:
        conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": now_iso,
                           "reason": error.reason, "message": error.message})
    elif error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    if conditions:
        status["conditions"] = conditions
    return status


def _log2_rank(since: _dt.datetime, now: _dt.datetime) -> int:
    d = (now - since).total_seconds() * 1e9
    return int(math.log2(d)) if d > 0 else -1


def deletion_order(p1: Obj, rank1: int, p2: Obj, rank2: int, now: _dt.datetime) -> int:
    """controller.ActivePodsWithRanks.Less as a comparator: negative when ``p1`` should be deleted first."""
    n1 = str((p1.get("spec") or {}).get("nodeName") or "")
    n2 = str((p2.get("spec") or {}).get("nodeName") or "")
    if n1 != n2 and (not n1 or not n2):  # 1. unassigned < assigned
        return -1 if not n1 else 1
    o1, o2 = _PHASE_ORDER.get(pod_phase(p1), 0), _PHASE_ORDER.get(pod_phase(p2), 0)
    if o1 != o2:  # 2. Pending < Unknown < Running
        return -1 if o1 < o2 else 1
    r1, r2 = is_pod_ready(p1), is_pod_ready(p2)
    if r1 != r2:  # 3. not ready < ready
        return -1 if not r1 else 1
    c1, c2 = _deletion_cost(p1), _deletion_cost(p2)
    if c1 != c2:  # 4. lower pod-deletion-cost < higher
        return -1 if c1 < c2 else 1
    if rank1 != rank2:  # 5. doubled up < not doubled up
        return -1 if rank1 > rank2 else 1
    if r1 and r2:  # 6. ready for less time < ready for more time (log2 buckets)
        t1, t2 = ready_since(p1), ready_since(p2)
        if t1 != t2:
            if t1 is None or t2 is None:
                return -1 if t1 is None else 1
            diff = _log2_rank(t1, now) - _log2_rank(t2, now)
            if diff:
                return -1 if diff < 0 else 1
    x1, x2 = max_restarts(p1), max_restarts(p2)
    if x1 != x2:  # 7. more restarts < fewer restarts
        return -1 if x1 > x2 else 1
    k1, k2 = ts(meta(p1).get("creationTimestamp")), ts(meta(p2).get("creationTimestamp"))
    if k1 != k2:  # 8. newer < older
        if k1 is None or k2 is None:
            return -1 if k1 is None else 1
        return -1 if k1 > k2 else 1
    u1, u2 = uid_of(p1), uid_of(p2)
    return (u1 > u2) - (u1 < u2)


def _deletion_cost(pod: Obj) -> int:
    raw = (meta(pod).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0
