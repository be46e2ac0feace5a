"""The Deployment controller's ways of changing ReplicaSet sizes (mirrors upstream's
``pkg/controller/deployment/rolling.go``, ``recreate.go`` and the scaling half of ``sync.go``).

- ``scale``: a scaling event or a paused deployment — resize proportionally to each active set's share (by its
  max-replicas annotation), the leftover going to the largest set; no rollout progress.
- ``rollout_rolling``: grow the new set up to replicas + maxSurge; shrink old sets, unhealthy pods first, while at
  least replicas - maxUnavailable pods stay available.
- ``rollout_recreate``: scale every old set to 0, wait until their pods are gone, then scale the new set up.
- ``cleanup_deployment``: delete the oldest zero-sized sets beyond revisionHistoryLimit.

A mixin of :class:`kubelab.controllers.deployment.DeploymentController`, which provides the revision handling
(``sync_revision``), the pod map and the status writers used here.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelab.client import Client
from kubelab.controllers import deployment_util as du
from kubelab.controllers.podutil import is_deleting, meta, pod_phase, uid_of

Obj = dict[str, Any]
RS = "replicasets.apps"


class DeploymentRollouts:
    client: Client

    # provided by DeploymentController
    def emit(self, action: str, obj: Obj | None = None, **kw: Any) -> None:
        raise NotImplementedError

    def sync_revision(self, d: Obj, rs_list: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        raise NotImplementedError

    def pod_map(self, d: Obj, rs_list: list[Obj]) -> dict[str, list[Obj]]:
        raise NotImplementedError

    def sync_status(self, d: Obj, all_sets: list[Obj | None], new: Obj | None) -> None:
        raise NotImplementedError

    def sync_rollout_status(self, d: Obj, all_sets: list[Obj | None], new: Obj | None) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- scaling
    def scale_rs(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        """Set a set's size and replica annotations; a ScalingReplicaSet event when the size changed."""
        old_scale = du.replicas(rs)
        size_change = old_scale != new_scale
        maximum = du.replicas(d) + du.max_surge(d)
        if not size_change and not du.replicas_annotations_need_update(rs, du.replicas(d), maximum):
            return False, rs
        upd = copy.deepcopy(rs)
        upd["spec"]["replicas"] = new_scale
        anns = du.annotations_of(rs)
        du.set_replicas_annotations(anns, du.replicas(d), maximum)
        upd["metadata"]["annotations"] = anns
        out = self.client.update(RS, upd)
        if size_change:
            op = "up" if old_scale < new_scale else "down"
            name = meta(rs).get("name")
            self.client.event(d, "ScalingReplicaSet", f"Scaled {op} replica set {name} from {old_scale} to {new_scale}")
            self.emit("scale", out, message=f"{old_scale} -> {new_scale}", owner=meta(d).get("name"))
        return size_change, out

    def scale_and_record(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        if du.replicas(rs) == new_scale:
            return False, rs
        return self.scale_rs(rs, new_scale, d)

    def is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        new, old = self.sync_revision(d, rs_list, create=False)
        for rs in du.active([*old, new]):
            desired = du.desired_replicas_annotation(rs)
            if desired is not None and desired != du.replicas(d):
                return True
        return False

    def sync_scale(self, d: Obj, rs_list: list[Obj]) -> None:
        """Upstream ``sync``: scaling events and paused deployments — resize, never roll out."""
        new, old = self.sync_revision(d, rs_list, create=False)
        self.scale(d, new, old)
        if du.spec(d).get("paused"):
            self.cleanup_deployment(old, d)
        self.sync_status(d, [*old, new], new)

    def scale(self, d: Obj, new: Obj | None, old: list[Obj]) -> None:
        target = du.find_active_or_latest(new, old)
        if target is not None:
            if du.replicas(target) != du.replicas(d):
                self.scale_and_record(target, du.replicas(d), d)
            return
        if du.is_saturated(d, new):
            for rs in du.active(list(old)):
                self.scale_and_record(rs, 0, d)
            return
        if not du.is_rolling(d):
            return
        sets = du.active([*old, new])
        allowed = du.replicas(d) + du.max_surge(d) if du.replicas(d) > 0 else 0
        to_add = allowed - du.total_replicas(sets)  # type: ignore[arg-type]
        if to_add > 0:
            sets = du.by_size_newer(sets)
        elif to_add < 0:
            sets = du.by_size_older(sets)
        added = 0
        sizes: list[int] = []
        for rs in sets:
            if to_add != 0:
                p = du.get_proportion(rs, d, to_add, added)
                sizes.append(du.replicas(rs) + p)
                added += p
            else:
                sizes.append(du.replicas(rs))
        for i, rs in enumerate(sets):
            size = sizes[i]
            if i == 0 and to_add != 0:  # the leftover goes to the largest set
                size = max(size + to_add - added, 0)
            self.scale_rs(rs, size, d)

    # ------------------------------------------------------------------------------------------- rollouts
    def rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new, old = self.sync_revision(d, rs_list, create=True)
        assert new is not None
        scaled, new = self.reconcile_new_replica_set([*old, new], new, d)
        if scaled:
            self.sync_rollout_status(d, [*old, new], new)
            return
        scaled_down, old = self.reconcile_old_replica_sets([*old, new], old, new, d)
        if scaled_down:
            self.sync_rollout_status(d, [*old, new], new)
            return
        if du.deployment_complete(d, du.status(d)):
            self.cleanup_deployment(old, d)
        self.sync_rollout_status(d, [*old, new], new)

    def reconcile_new_replica_set(self, all_sets: list[Obj], new: Obj, d: Obj) -> tuple[bool, Obj]:
        if du.replicas(new) == du.replicas(d):
            return False, new
        if du.replicas(new) > du.replicas(d):
            return self.scale_and_record(new, du.replicas(d), d)
        return self.scale_and_record(new, du.new_rs_new_replicas(d, list(all_sets), new), d)

    def reconcile_old_replica_sets(self, all_sets: list[Obj], old: list[Obj], new: Obj,
                                   d: Obj) -> tuple[bool, list[Obj]]:
        live_old = du.active(list(old))
        if du.total_replicas(list(live_old)) == 0:
            return False, old
        min_available = du.replicas(d) - du.max_unavailable(d)
        new_unavailable = du.replicas(new) - int(du.status(new).get("availableReplicas") or 0)
        max_scaled_down = du.total_replicas(list(all_sets)) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False, old
        # first old pods that are not available anyway (they cannot make things worse by going)
        cleaned, live_old = self.cleanup_unhealthy_replicas(live_old, d, max_scaled_down)
        scaled = self.scale_down_old_for_rolling_update([*live_old, new], live_old, d)
        by_uid = {uid_of(rs): rs for rs in live_old}
        return cleaned + scaled > 0, [by_uid.get(uid_of(rs), rs) for rs in old]

    def cleanup_unhealthy_replicas(self, old: list[Obj], d: Obj, max_cleanup: int) -> tuple[int, list[Obj]]:
        total = 0
        out: list[Obj] = []
        for rs in du.by_creation(old):
            unhealthy = du.replicas(rs) - int(du.status(rs).get("availableReplicas") or 0)
            if total >= max_cleanup or du.replicas(rs) == 0 or unhealthy <= 0:
                out.append(rs)
                continue
            n = min(max_cleanup - total, unhealthy)
            _, rs = self.scale_rs(rs, du.replicas(rs) - n, d)
            total += n
            out.append(rs)
        return total, out

    def scale_down_old_for_rolling_update(self, all_sets: list[Obj], old: list[Obj], d: Obj) -> int:
        min_available = du.replicas(d) - du.max_unavailable(d)
        available = du.available_replicas(list(all_sets))
        if available <= min_available:
            return 0
        goal = available - min_available
        done = 0
        for rs in du.by_creation(old):
            if done >= goal:
                break
            if du.replicas(rs) == 0:
                continue
            n = min(du.replicas(rs), goal - done)
            _, out = self.scale_rs(rs, du.replicas(rs) - n, d)
            replace_by_uid(old, out)
            done += n
        return done

    def rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> None:
        new, old = self.sync_revision(d, rs_list, create=False)
        scaled_down = False
        for rs in du.active(list(old)):
            scaled, out = self.scale_and_record(rs, 0, d)
            replace_by_uid(old, out)
            scaled_down = scaled_down or scaled
        if scaled_down:
            self.sync_rollout_status(d, [*old, new], new)
            return
        if self.old_pods_running(new, old, self.pod_map(d, rs_list)):
            self.sync_rollout_status(d, [*old, new], new)
            return
        if new is None:
            new, old = self.sync_revision(d, rs_list, create=True)
        assert new is not None
        _, new = self.scale_and_record(new, du.replicas(d), d)
        if du.deployment_complete(d, du.status(d)):
            self.cleanup_deployment(old, d)
        self.sync_rollout_status(d, [*old, new], new)

    @staticmethod
    def old_pods_running(new: Obj | None, old: list[Obj], pods: dict[str, list[Obj]]) -> bool:
        if du.actual_replicas(list(old)) > 0:
            return True
        new_uid = uid_of(new) if new is not None else None
        return any(pod_phase(p) not in ("Failed", "Succeeded")
                   for uid, ps in pods.items() if uid != new_uid for p in ps)

    def cleanup_deployment(self, old: list[Obj], d: Obj) -> None:
        """Delete the oldest zero-sized sets beyond revisionHistoryLimit."""
        if not du.has_revision_history_limit(d):
            return
        alive = [rs for rs in old if not is_deleting(rs)]
        diff = len(alive) - int(du.spec(d)["revisionHistoryLimit"])
        if diff <= 0:
            return
        for rs in du.by_revision(alive)[:diff]:
            st = du.status(rs)
            if int(st.get("replicas") or 0) or du.replicas(rs) or \
                    int(meta(rs).get("generation") or 0) > int(st.get("observedGeneration") or 0):
                continue
            self.client.delete(RS, str(meta(rs).get("name")), meta(rs).get("namespace"),
                               preconditions={"uid": uid_of(rs)})
            self.emit("cleanup", rs, owner=meta(d).get("name"))


def replace_by_uid(sets: list[Obj], obj: Obj) -> None:
    """Put the fresh copy of a set (after our write) where its cached one was."""
    for i, rs in enumerate(sets):
        if uid_of(rs) == uid_of(obj):
            sets[i] = obj
            return
    sets.append(obj)
