"""The StatefulSet controller: pods with stable names, stable storage, and an order.

Mirrors pkg/controller/statefulset (stateful_set_control.go, stateful_set_utils.go, stateful_pod_control.go):
replica ``i`` is the pod ``<set>-<ordinal>`` (ordinals from spec.ordinals.start, default 0) with hostname
``<set>-<ordinal>`` and subdomain spec.serviceName, the labels ``statefulset.kubernetes.io/pod-name``,
``apps.kubernetes.io/pod-index`` and ``controller-revision-hash`` (the revision's name), one
PersistentVolumeClaim ``<template>-<set>-<ordinal>`` per volumeClaimTemplate (created before the pod and
mounted as the template's volume; binding is the volume controllers' job), and a controller ownerReference.
With podManagementPolicy OrderedReady the controller creates ordinal i only when every lower ordinal is
Running and Ready (and available for minReadySeconds), and scales down one pod at a time from the highest
ordinal once the others are healthy; Parallel creates and deletes without waiting. Failed (or succeeded) pods
are deleted and recreated. The template is recorded as ControllerRevisions (``<set>-<hash>``, labelled
``controller.kubernetes.io/hash``); a RollingUpdate replaces pods whose revision is not the update revision
from the highest ordinal down to ``partition``, one at a time, each after the previous one is healthy again;
OnDelete only uses the update revision for pods it recreates. Events are upstream's: ``create Pod web-0 in
StatefulSet web successful``, ``create Claim www-web-0 Pod web-0 in StatefulSet web success``, ``delete Pod
web-2 in StatefulSet web successful``. status: replicas, readyReplicas, currentReplicas, updatedReplicas,
availableReplicas, currentRevision, updateRevision, collisionCount, observedGeneration.

Simplified: persistentVolumeClaimRetentionPolicy is not applied (claims are always retained, the default);
rollingUpdate.maxUnavailable (MaxUnavailableStatefulSet) is not implemented; no adoption/release of pods or
revisions that merely match the selector; claims whose pod is recreated are not checked against the template.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client.informer import split_key
from kubelab.controllers.daemonset import is_available, ready_since
from kubelab.controllers.history import (
    POD_REVISION_LABEL,
    History,
    Wakeups,
    client_for,
    controller_of,
    controller_ref,
    equal_revision,
    new_controller_revision,
    next_revision,
    sort_revisions,
    template_of_revision,
    template_patch,
)
from kubelab.controllers.runner import Controller

Obj = dict[str, Any]

MANAGER = "statefulset-controller"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


# ------------------------------------------------------------------------------------------------------------
# identity (pure)
# ------------------------------------------------------------------------------------------------------------


def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("web", 2) for web-2; ("", -1) for a name without an ordinal."""
    m = _ORDINAL.match((pod.get("metadata") or {}).get("name") or "")
    return (m.group(1), int(m.group(2))) if m else ("", -1)


def claim_name(template: Obj, set_name: str, ordinal: int) -> str:
    """getPersistentVolumeClaimName."""
    return f"{(template.get('metadata') or {}).get('name')}-{set_name}-{ordinal}"


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_created(pod: Obj) -> bool:
    """isCreated: the API server has it (a pod has a phase once stored)."""
    return phase(pod) != ""


def is_terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def is_running_and_ready(pod: Obj) -> bool:
    return phase(pod) == "Running" and ready_since(pod) is not None


def is_healthy(pod: Obj) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def pod_revision(pod: Obj) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(POD_REVISION_LABEL) or "")


def new_pod(sts: Obj, template: Obj, revision: str, ordinal: int) -> Obj:
    """newStatefulSetPod: the template, with the identity (name, hostname, subdomain, labels) and storage of
    ``ordinal`` and the revision label."""
    tmpl = copy.deepcopy(template)
    tmeta = tmpl.get("metadata") or {}
    set_name = sts["metadata"]["name"]
    name = f"{set_name}-{ordinal}"
    labels = dict(tmeta.get("labels") or {})
    labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), POD_REVISION_LABEL: revision})
    meta: Obj = {"name": name, "namespace": sts["metadata"]["namespace"], "labels": labels,
                 "ownerReferences": [controller_ref(sts, "apps/v1", "StatefulSet")]}
    for k in ("annotations", "finalizers"):
        if tmeta.get(k):
            meta[k] = copy.deepcopy(tmeta[k])
    spec = tmpl.get("spec") or {}
    spec["hostname"] = name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = sts["spec"].get("volumeClaimTemplates") or []
    if claims:
        names = {(c.get("metadata") or {}).get("name") for c in claims}
        vols = [{"name": (c.get("metadata") or {}).get("name"),
                 "persistentVolumeClaim": {"claimName": claim_name(c, set_name, ordinal)}} for c in claims]
        spec["volumes"] = vols + [v for v in spec.get("volumes") or [] if v.get("name") not in names]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def new_claims(sts: Obj, ordinal: int) -> list[Obj]:
    """getPersistentVolumeClaims: one claim per template, labelled like the template plus the selector."""
    out = []
    match = ((sts["spec"].get("selector") or {}).get("matchLabels")) or {}
    for tmpl in sts["spec"].get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(tmpl)
        meta = claim.setdefault("metadata", {})
        meta["name"] = claim_name(tmpl, sts["metadata"]["name"], ordinal)
        meta["namespace"] = sts["metadata"]["namespace"]
        meta["labels"] = {**(meta.get("labels") or {}), **match}
        claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
        claim.pop("status", None)
        out.append(claim)
    return out


# ------------------------------------------------------------------------------------------------------------
# the controller
# ------------------------------------------------------------------------------------------------------------


class StatefulSetController(Controller):
    name = "statefulset"
    manager = MANAGER

    def setup(self) -> None:
        self.client = client_for(self.client, MANAGER)
        self.wakeups = Wakeups(self.clock, self.requeue_after)
        self.sets = self.informers.informer("statefulsets.apps")
        self.pods = self.informers.informer("pods")
        self.claims = self.informers.informer("persistentvolumeclaims")
        self.history = History(self.client, self.informers.informer("controllerrevisions.apps"))
        self.sets.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handler(self._owner_event, lambda old, new: self._owner_event(new), self._owner_event)
        self.history.informer.add_handler(self._owner_event, lambda old, new: self._owner_event(new),
                                          self._owner_event)

    def _owner_event(self, obj: Obj) -> None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != "StatefulSet":
            return
        sts = self.sets.get(str(ref.get("name")), (obj.get("metadata") or {}).get("namespace"))
        if sts is not None and sts["metadata"].get("uid") == ref.get("uid"):
            self.enqueue(sts)

    # -- sync -----------------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        cached = self.sets.get(name, ns)
        if cached is None:
            return
        sts = copy.deepcopy(cached)
        uid = sts["metadata"].get("uid")
        pods = [p for p in self.pods.list(ns) if (controller_of(p) or {}).get("uid") == uid]
        revisions = sort_revisions(self.history.list(sts, sts["spec"].get("selector")))
        current, update, collisions = self._revisions(sts, revisions)
        status = self._update_set(sts, current, update, pods)
        status["collisionCount"] = collisions
        self._write_status(sts, status)
        self._truncate_history(sts, pods, revisions, current, update)
        min_ready = int(sts["spec"].get("minReadySeconds") or 0)
        if min_ready and status.get("readyReplicas", 0) != status.get("availableReplicas", 0):
            self.wakeups.after(key, min_ready)

    def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """getStatefulSetRevisions -> (current revision, update revision, collision count)."""
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        tlabels = ((sts["spec"].get("template") or {}).get("metadata") or {}).get("labels")
        candidate = new_controller_revision(sts, "apps/v1", "StatefulSet", tlabels, template_patch(sts),
                                            next_revision(revisions), collisions)
        equal = [r for r in revisions if equal_revision(r, candidate)]
        if equal and revisions and equal_revision(revisions[-1], equal[-1]):
            update = revisions[-1]  # nothing changed
        elif equal:
            update = self.history.update_revision(equal[-1], int(candidate["revision"]))  # a rollback
        else:
            update, collisions = self.history.create(sts, candidate, collisions)
            self.emit("create-revision", update, message=f"revision {update.get('revision')}")
        cur_name = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == cur_name), update)
        return current, update, collisions

    def _update_set(self, sts: Obj, current: Obj, update: Obj, pods: list[Obj]) -> Obj:
        """updateStatefulSet: create, fix, delete and roll pods; returns the new status."""
        spec = sts["spec"]
        now = self.clock.now()
        min_ready = int(spec.get("minReadySeconds") or 0)
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        count = int(spec.get("replicas", 1))
        set_name = sts["metadata"]["name"]
        cur_name, upd_name = current["metadata"]["name"], update["metadata"]["name"]
        status = self._status(sts, pods, cur_name, upd_name, min_ready, now)
        replicas: list[Obj | None] = [None] * count
        condemned: list[Obj] = []
        for p in pods:
            parent, ordinal = parent_and_ordinal(p)
            if parent != set_name or ordinal < 0:
                continue
            if start <= ordinal < start + count:
                replicas[ordinal - start] = p
            else:
                condemned.append(p)
        condemned.sort(key=lambda p: parent_and_ordinal(p)[1])
        strategy = spec.get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        for i in range(count):
            if replicas[i] is None:
                # below the partition, new pods are made at the current revision
                old = rolling and i < partition
                rev = current if old else update
                replicas[i] = new_pod(sts, template_of_revision(rev), rev["metadata"]["name"], start + i)
        if sts["metadata"].get("deletionTimestamp"):
            return status
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        unhealthy = [p for p in [*replicas, *condemned] if p is not None and not is_healthy(p)]
        first_unhealthy = min(unhealthy, key=lambda p: parent_and_ordinal(p)[1]) if unhealthy else None

        for pod in replicas:
            assert pod is not None
            if phase(pod) in ("Failed", "Succeeded"):
                if not is_terminating(pod):
                    self._delete_pod(sts, pod)
                    status["replicas"] = status.get("replicas", 0) - 1
                return status  # the replacement is made once the old pod is gone
            if not is_created(pod):
                self._create_pod(sts, pod, status, cur_name, upd_name)
                if monotonic:
                    return status
                continue
            if is_terminating(pod) and monotonic:
                return status
            if monotonic and not (is_running_and_ready(pod) and is_available(pod, min_ready, now)):
                return status

        for pod in reversed(condemned):
            if is_terminating(pod):
                if monotonic:
                    return status
                continue
            if monotonic and pod is not first_unhealthy and first_unhealthy is not None:
                return status
            self._delete_pod(sts, pod)
            if monotonic:
                return status

        if not rolling:
            return status
        for target in range(count - 1, partition - 1, -1):
            pod = replicas[target]
            assert pod is not None
            if pod_revision(pod) != upd_name and not is_terminating(pod):
                self._delete_pod(sts, pod)
                if pod_revision(pod) == cur_name:
                    status["currentReplicas"] = status.get("currentReplicas", 0) - 1
                return status
            if not is_healthy(pod) or not is_available(pod, min_ready, now):
                return status
        return status

    def _status(self, sts: Obj, pods: list[Obj], cur: str, upd: str, min_ready: int,
                now: _dt.datetime) -> Obj:
        """computeReplicaStatus + completeRollingUpdate."""
        replicas = ready = available = current = updated = 0
        for p in pods:
            created = is_created(p)
            replicas += created
            if is_running_and_ready(p):
                ready += 1
                available += is_available(p, min_ready, now)
            if created and not is_terminating(p):
                current += pod_revision(p) == cur
                updated += pod_revision(p) == upd
        status: Obj = {"observedGeneration": sts["metadata"].get("generation"), "replicas": replicas,
                       "readyReplicas": ready, "currentReplicas": current, "updatedReplicas": updated,
                       "availableReplicas": available, "currentRevision": cur, "updateRevision": upd}
        if (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate" and \
                updated == replicas and ready == replicas:
            status["currentReplicas"], status["currentRevision"] = updated, upd
        return status

    def _write_status(self, sts: Obj, status: Obj) -> None:
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):  # omitempty on the wire
            if not status.get(k):
                status.pop(k, None)
        if not status.get("observedGeneration"):
            status.pop("observedGeneration", None)
        if status == (sts.get("status") or {}):
            return
        sts["status"] = status
        self.client.update_status("statefulsets.apps", sts)
        self.emit("status", sts, message=f"replicas={status.get('replicas', 0)} "
                                         f"ready={status.get('readyReplicas', 0)} "
                                         f"updated={status.get('updatedReplicas', 0)}")

    # -- pods and claims ------------------------------------------------------------------------------------
    def _create_pod(self, sts: Obj, pod: Obj, status: Obj, cur: str, upd: str) -> None:
        """CreateStatefulPod: the claims first, then the pod."""
        set_name, pname = sts["metadata"]["name"], pod["metadata"]["name"]
        ns = sts["metadata"]["namespace"]
        for claim in new_claims(sts, parent_and_ordinal(pod)[1]):
            cname = claim["metadata"]["name"]
            existing = self.claims.get(cname, ns)
            if existing is not None:
                if existing["metadata"].get("deletionTimestamp"):
                    raise ApiError(409, "Conflict", f"pvc {cname} is being deleted")
                continue
            try:
                out = self.client.create("persistentvolumeclaims", claim, namespace=ns)
            except ApiError as e:
                if e.code == 409:
                    continue
                self.client.event(sts, "FailedCreate", f"create Claim {cname} for Pod {pname} in StatefulSet "
                                  f"{set_name} failed error: {e.message}", "Warning")
                raise
            self.client.event(sts, "SuccessfulCreate",
                              f"create Claim {cname} Pod {pname} in StatefulSet {set_name} success")
            self.emit("create-claim", out, message=f"create Claim {cname} Pod {pname}")
        try:
            out = self.client.create("pods", pod, namespace=ns)
        except ApiError as e:
            if e.code == 409:
                return  # our cache is behind: the pod exists
            self.client.event(sts, "FailedCreate", f"create Pod {pname} in StatefulSet {set_name} failed "
                              f"error: {e.message}", "Warning")
            raise
        self.client.event(sts, "SuccessfulCreate", f"create Pod {pname} in StatefulSet {set_name} successful")
        self.emit("create-pod", out, message=f"create Pod {pname} in StatefulSet {set_name} successful")
        status["replicas"] = status.get("replicas", 0) + 1
        rev = pod_revision(pod)
        if rev == cur:
            status["currentReplicas"] = status.get("currentReplicas", 0) + 1
        if rev == upd:
            status["updatedReplicas"] = status.get("updatedReplicas", 0) + 1

    def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        set_name, pname = sts["metadata"]["name"], pod["metadata"]["name"]
        try:
            self.client.delete("pods", pname, sts["metadata"]["namespace"])
        except ApiError as e:
            self.client.event(sts, "FailedDelete", f"delete Pod {pname} in StatefulSet {set_name} failed "
                              f"error: {e.message}", "Warning")
            raise
        self.client.event(sts, "SuccessfulDelete", f"delete Pod {pname} in StatefulSet {set_name} successful")
        self.emit("delete-pod", pod, message=f"delete Pod {pname} in StatefulSet {set_name} successful")

    # -- history --------------------------------------------------------------------------------------------
    def _truncate_history(self, sts: Obj, pods: list[Obj], revisions: list[Obj], current: Obj,
                          update: Obj) -> None:
        """truncateHistory: keep revisionHistoryLimit revisions that neither a pod nor the status uses."""
        live = {current["metadata"]["name"], update["metadata"]["name"]} | {pod_revision(p) for p in pods}
        old = [r for r in revisions if r["metadata"]["name"] not in live]
        limit = int(sts["spec"].get("revisionHistoryLimit", 10))
        for r in old[:max(0, len(old) - limit)]:
            self.history.delete(r)

