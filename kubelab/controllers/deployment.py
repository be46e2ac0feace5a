"""The Deployment controller: roll a pod template out through ReplicaSets (mirrors upstream's
``pkg/controller/deployment``: deployment_controller.go, sync.go, rolling.go, recreate.go, progress.go).

A Deployment owns one ReplicaSet per pod template, named ``<deployment>-<pod-template-hash>``; the hash label is
added to that set's selector, template and so to its pods, so sets never fight over pods. ``sync`` is the upstream
flow: claim the sets (adopt/release by selector), then

- being deleted -> only status; paused, or a scaling event (``spec.replicas`` differs from the sets'
  desired-replicas annotation) -> scale proportionally, no rollout;
- RollingUpdate -> grow the new set up to replicas + maxSurge, shrink old sets while at least
  replicas - maxUnavailable pods stay available (unhealthy old pods go first);
- Recreate -> scale old sets to 0, wait until their pods are gone, then scale the new set up;

then write status last (replicas, updated/ready/available/unavailable, Available and Progressing conditions,
progress deadline). Revisions live in the ``deployment.kubernetes.io/revision`` annotation of each set; a rollback
(``kubectl rollout undo`` patches the old template back) finds the old set again and gives it the next revision.

This module holds the controller (handlers, sync, revisions, status); the ways of resizing sets are in
``deployment_rollout.py`` and the pure helpers in ``deployment_util.py``.

Simplified: the deployment's revision annotation is written with a metadata patch (upstream piggybacks on the
status update, which our status subresource does not allow); no extensions/v1beta1 rollbackTo; no in-place
resize; pod-template hashes use FNV-32a over canonical JSON rather than Go's object printer.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory, meta_key
from kubelab.clock import rfc3339
from kubelab.config import LabConfig
from kubelab.controllers import deployment_util as du
from kubelab.controllers.deployment_rollout import DeploymentRollouts, replace_by_uid
from kubelab.controllers.podutil import (
    POD_TEMPLATE_HASH_LABEL,
    RefManager,
    as_manager,
    compute_hash,
    controller_ref,
    equal_ignore_hash,
    is_deleting,
    labels_of,
    meta,
    new_controller_ref,
    ref_points_to,
    selector_of,
    ts,
    uid_of,
)
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RS = "replicasets.apps"
DEPLOY = "deployments.apps"


class DeploymentController(Controller, DeploymentRollouts):
    name = "deployment"
    manager = "deployment-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        super().__init__(as_manager(client, self.manager), informers, config, trace)

    # ------------------------------------------------------------------------------------------- handlers
    def setup(self) -> None:
        self.d_informer = self.informers.informer(DEPLOY)
        self.rs_informer = self.informers.informer(RS)
        self.pod_informer = self.informers.informer("pods")
        self.d_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.rs_informer.add_handler(self._add_rs, self._update_rs, self._delete_rs)
        self.pod_informer.add_handler(on_delete=self._delete_pod)

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if not ref_points_to(ref, "apps/v1", "Deployment"):
            return None
        assert ref is not None
        d = self.d_informer.get(str(ref.get("name")), namespace)
        return d if d is not None and uid_of(d) == ref.get("uid") else None

    def _matching_deployments(self, rs: Obj) -> list[Obj]:
        out = []
        for d in self.d_informer.list(meta(rs).get("namespace")):
            sel = selector_of(d)
            if sel is not None and not sel.empty() and sel.matches(labels_of(rs)):
                out.append(d)
        return out

    def _add_rs(self, rs: Obj) -> None:
        if is_deleting(rs):
            self._delete_rs(rs)
            return
        ref = controller_ref(rs)
        if ref is not None:
            d = self._resolve(str(meta(rs).get("namespace")), ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._matching_deployments(rs):
            self.enqueue(d)

    def _update_rs(self, old: Obj, cur: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(cur).get("resourceVersion"):
            return
        ns = str(meta(cur).get("namespace"))
        cur_ref, old_ref = controller_ref(cur), controller_ref(old)
        changed = (cur_ref or {}).get("uid") != (old_ref or {}).get("uid")
        if changed and old_ref is not None and (d := self._resolve(ns, old_ref)) is not None:
            self.enqueue(d)
        if cur_ref is not None:
            if (d := self._resolve(ns, cur_ref)) is not None:
                self.enqueue(d)
            return
        if changed or labels_of(old) != labels_of(cur):
            for d in self._matching_deployments(cur):
                self.enqueue(d)

    def _delete_rs(self, rs: Obj) -> None:
        d = self._resolve(str(meta(rs).get("namespace")), controller_ref(rs))
        if d is not None:
            self.enqueue(d)

    def _delete_pod(self, pod: Obj) -> None:
        """Recreate waits for the old pods to be gone: look again when one goes."""
        ns = str(meta(pod).get("namespace"))
        ref = controller_ref(pod)
        if not ref_points_to(ref, "apps/v1", "ReplicaSet"):
            return
        assert ref is not None
        rs = self.rs_informer.get(str(ref.get("name")), ns)
        d = self._resolve(ns, controller_ref(rs)) if rs is not None else None
        if d is not None and not du.is_rolling(d):
            self.enqueue(d)

    # ------------------------------------------------------------------------------------------- sync
    async def sync(self, key: str) -> None:
        self.sync_deployment(key)

    def sync_deployment(self, key: str) -> None:
        cached = self.d_informer.get_key(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        sel = du.spec(d).get("selector") or {}
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            self.client.event(d, "SelectingAll",
                              "This deployment is selecting all pods. A non-empty selector is required.", "Warning")
            if int(du.status(d).get("observedGeneration") or 0) < int(meta(d).get("generation") or 0):
                self._write_status(d, dict(du.status(d), observedGeneration=meta(d).get("generation")))
            return
        rs_list = self.replica_sets_for(d)
        if is_deleting(d):
            new, old = self.sync_revision(d, rs_list, create=False)
            self.sync_status(d, [*old, new], new)
            return
        self.check_paused_conditions(d)
        if du.spec(d).get("paused") or self.is_scaling_event(d, rs_list):
            self.sync_scale(d, rs_list)
        elif du.is_rolling(d):
            self.rollout_rolling(d, rs_list)
        else:
            self.rollout_recreate(d, rs_list)

    def replica_sets_for(self, d: Obj) -> list[Obj]:
        sel = selector_of(d)
        if sel is None:
            return []
        ns, name = str(meta(d).get("namespace")), str(meta(d).get("name"))
        mgr = RefManager(self.client, RS, d, "apps/v1", "Deployment", lambda: self.client.try_get(DEPLOY, name, ns))
        return mgr.claim(self.rs_informer.list(ns), sel, lambda action, rs: self.emit(action, rs, owner=name))

    def pod_map(self, d: Obj, rs_list: list[Obj]) -> dict[str, list[Obj]]:
        """Pods of the deployment grouped by the uid of the set that controls them."""
        uids = {uid_of(rs) for rs in rs_list}
        out: dict[str, list[Obj]] = {u: [] for u in uids}
        for pod in self.pod_informer.list(meta(d).get("namespace"), du.spec(d).get("selector")):
            ref = controller_ref(pod)
            if ref is not None and ref.get("uid") in uids:
                out[str(ref["uid"])].append(pod)
        return out

    # ------------------------------------------------------------------------------------------- revisions
    def sync_revision(self, d: Obj, rs_list: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        """getAllReplicaSetsAndSyncRevision: the new set (created when asked) and all old ones."""
        old = du.find_old_replica_sets(d, rs_list)
        new = self.new_replica_set(d, rs_list, old, create)
        return new, [rs for rs in old if new is None or uid_of(rs) != uid_of(new)]

    def new_replica_set(self, d: Obj, rs_list: list[Obj], old: list[Obj], create: bool) -> Obj | None:
        existing = du.find_new_replica_set(d, rs_list)
        new_revision = max((du.revision(rs) for rs in old), default=0) + 1
        now_iso = rfc3339(self.clock.now())
        if existing is not None:
            anns = du.annotations_of(existing)
            changed = du.set_new_replica_set_annotations(d, anns, new_revision, exists=True)
            min_ready = du.spec(d).get("minReadySeconds") or 0
            if changed or (du.spec(existing).get("minReadySeconds") or 0) != min_ready:
                upd = copy.deepcopy(existing)
                upd["metadata"]["annotations"] = anns
                upd["spec"]["minReadySeconds"] = min_ready
                out = self.client.update(RS, upd)
                replace_by_uid(rs_list, out)
                return out
            self._set_revision(d, du.annotations_of(existing).get(du.REVISION, ""))
            if du.has_progress_deadline(d) and du.get_condition(du.status(d), "Progressing") is None:
                st = copy.deepcopy(du.status(d))
                du.set_condition(st, du.new_condition("Progressing", "True", du.FOUND_NEW_RS,
                                                      f'Found new replica set "{meta(existing).get("name")}"', now_iso))
                self._write_status(d, st)
            return existing
        if not create:
            return None
        return self._create_new_replica_set(d, rs_list, old, new_revision, now_iso)

    def _create_new_replica_set(self, d: Obj, rs_list: list[Obj], old: list[Obj], new_revision: int,
                                now_iso: str) -> Obj | None:
        ns, dname = meta(d).get("namespace"), str(meta(d).get("name"))
        template = copy.deepcopy(du.spec(d).get("template") or {})
        h = compute_hash(template, du.status(d).get("collisionCount"))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = dict(tmeta.get("labels") or {}, **{POD_TEMPLATE_HASH_LABEL: h})
        selector = copy.deepcopy(du.spec(d).get("selector") or {})
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{POD_TEMPLATE_HASH_LABEL: h})
        name = f"{dname}-{h}"
        new_rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": ns, "labels": dict(tmeta["labels"]),
                         "ownerReferences": [new_controller_ref(d, "apps/v1", "Deployment")]},
            "spec": {"replicas": 0, "minReadySeconds": du.spec(d).get("minReadySeconds") or 0,
                     "selector": selector, "template": template},
        }
        count = du.new_rs_new_replicas(d, [*old, new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        anns: dict[str, str] = {}
        du.set_new_replica_set_annotations(d, anns, new_revision, exists=False)
        new_rs["metadata"]["annotations"] = anns
        already = False
        try:
            created = self.client.create(RS, new_rs, namespace=ns)
        except ApiError as e:
            if e.reason == "AlreadyExists":
                found = self.client.try_get(RS, name, ns)
                ref = controller_ref(found) if found is not None else None
                if found is not None and ref is not None and ref.get("uid") == uid_of(d) and \
                        equal_ignore_hash(du.spec(d).get("template") or {}, du.spec(found).get("template") or {}):
                    created, already = found, True
                else:  # a hash collision: bump collisionCount, which changes the hash next time
                    st = copy.deepcopy(du.status(d))
                    st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
                    self._write_status(d, st)
                    raise
            else:
                msg = f'Failed to create new replica set "{name}": {e.message}'
                if du.has_progress_deadline(d):
                    st = copy.deepcopy(du.status(d))
                    du.set_condition(st, du.new_condition("Progressing", "False", du.FAILED_RS_CREATE, msg, now_iso))
                    self._write_status(d, st, ignore_errors=True)
                self.client.event(d, du.FAILED_RS_CREATE, msg, "Warning")
                raise
        replace_by_uid(rs_list, created)
        if not already:
            self.emit("create", created, owner=dname, revision_annotation=new_revision)
            if count > 0:
                self.client.event(d, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {count}")
        self._set_revision(d, str(new_revision))
        if not already and du.has_progress_deadline(d):
            st = copy.deepcopy(du.status(d))
            du.set_condition(st, du.new_condition("Progressing", "True", du.NEW_REPLICA_SET,
                                                  f'Created new replica set "{name}"', now_iso))
            self._write_status(d, st)
        return created

    def _set_revision(self, d: Obj, rev: str) -> None:
        if not rev or du.annotations_of(d).get(du.REVISION) == rev:
            return
        out = self.client.patch(DEPLOY, str(meta(d).get("name")), {"metadata": {"annotations": {du.REVISION: rev}}},
                                namespace=meta(d).get("namespace"))
        d["metadata"]["annotations"] = dict(meta(out).get("annotations") or {})
        d["metadata"]["resourceVersion"] = meta(out).get("resourceVersion")

    # ------------------------------------------------------------------------------------------- status
    def check_paused_conditions(self, d: Obj) -> None:
        if not du.has_progress_deadline(d):
            return
        cond = du.get_condition(du.status(d), "Progressing")
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return
        paused_exists = cond is not None and cond.get("reason") == du.PAUSED
        paused = bool(du.spec(d).get("paused"))
        now_iso = rfc3339(self.clock.now())
        st = copy.deepcopy(du.status(d))
        if paused and not paused_exists:
            du.set_condition(st, du.new_condition("Progressing", "Unknown", du.PAUSED, "Deployment is paused", now_iso))
        elif not paused and paused_exists:
            du.set_condition(st, du.new_condition("Progressing", "Unknown", du.RESUMED, "Deployment is resumed",
                                                  now_iso))
        else:
            return
        self._write_status(d, st)

    def sync_status(self, d: Obj, all_sets: list[Obj | None], new: Obj | None) -> None:
        st = du.calculate_status(all_sets, new, d, rfc3339(self.clock.now()))
        if st != du.status(d):
            self._write_status(d, st)

    def sync_rollout_status(self, d: Obj, all_sets: list[Obj | None], new: Obj | None) -> None:
        """progress.go syncRolloutStatus: status plus the Progressing condition and the progress deadline."""
        now = self.clock.now()
        now_iso = rfc3339(now)
        st = du.calculate_status(all_sets, new, d, now_iso)
        if not du.has_progress_deadline(d):
            du.remove_condition(st, "Progressing")
        cur = du.get_condition(du.status(d), "Progressing")
        complete = st.get("replicas") == st.get("updatedReplicas") and cur is not None and \
            cur.get("reason") == du.NEW_RS_AVAILABLE
        what = f'ReplicaSet "{meta(new).get("name")}"' if new is not None else f'Deployment "{meta(d).get("name")}"'
        if du.has_progress_deadline(d) and not complete:
            if du.deployment_complete(d, st):
                du.set_condition(st, du.new_condition("Progressing", "True", du.NEW_RS_AVAILABLE,
                                                      f"{what} has successfully progressed.", now_iso))
            elif du.deployment_progressing(d, st):
                cond = du.new_condition("Progressing", "True", du.REPLICA_SET_UPDATED, f"{what} is progressing.",
                                        now_iso)
                if cur is not None:
                    if cur.get("status") == "True":
                        cond["lastTransitionTime"] = cur.get("lastTransitionTime")
                    du.remove_condition(st, "Progressing")
                du.set_condition(st, cond)
            elif du.deployment_timed_out(d, st, now):
                du.set_condition(st, du.new_condition("Progressing", "False", du.TIMED_OUT,
                                                      f"{what} has timed out progressing.", now_iso))
        failure = _replica_failure(all_sets, new)
        if failure is not None:
            du.set_condition(st, failure)
        else:
            du.remove_condition(st, "ReplicaFailure")
        if st == du.status(d):
            self._requeue_stuck(d, st, now)
            return
        self._write_status(d, st)

    def _requeue_stuck(self, d: Obj, st: Obj, now: Any) -> None:
        """Look again when the progress deadline would pass (upstream requeueStuckDeployment)."""
        cur = du.get_condition(du.status(d), "Progressing")
        if not du.has_progress_deadline(d) or cur is None:
            return
        if du.deployment_complete(d, st) or cur.get("reason") == du.TIMED_OUT:
            return
        last = ts(cur.get("lastUpdateTime"))
        if last is None:
            return
        after = (last - now).total_seconds() + int(du.spec(d)["progressDeadlineSeconds"])
        self.requeue_after(meta_key(d), max(after, 0.0) + 1.0)

    def _write_status(self, d: Obj, st: Obj, ignore_errors: bool = False) -> None:
        try:
            out = self.client.update_status(DEPLOY, dict(d, status=st))
        except ApiError:
            if ignore_errors:
                return
            raise
        d["status"] = st
        d["metadata"]["resourceVersion"] = meta(out).get("resourceVersion")
        conds = {c.get("type"): c for c in st.get("conditions") or []}
        self.emit("status", d, message=f"{st.get('updatedReplicas', 0)} updated, {st.get('availableReplicas', 0)}"
                  f" available of {du.replicas(d)}", reason=(conds.get("Progressing") or {}).get("reason", ""))


def _replica_failure(all_sets: list[Obj | None], new: Obj | None) -> Obj | None:
    """The new set's ReplicaFailure condition (else any set's), as a deployment condition."""
    ordered = ([new] if new is not None else []) + [rs for rs in all_sets if rs is not None and rs is not new]
    for rs in ordered:
        assert rs is not None
        for c in du.status(rs).get("conditions") or []:
            if c.get("type") == "ReplicaFailure":
                t = c.get("lastTransitionTime")
                return {"type": "ReplicaFailure", "status": c.get("status"), "lastUpdateTime": t,
                        "lastTransitionTime": t, "reason": c.get("reason"), "message": c.get("message")}
    return None
