"""The disruption controller: keep each PodDisruptionBudget's status, which the eviction API obeys.

Mirrors kube-controller-manager's DisruptionController (pkg/controller/disruption/disruption.go, event source
``controllermanager``). For a budget it finds the pods its selector picks (policy/v1: an empty selector picks
every pod of the namespace) and computes:

* ``expectedPods`` and ``desiredHealthy``: with ``minAvailable: <int>`` the pods found and that number; with
  ``minAvailable: "<n>%"`` or ``maxUnavailable`` the scale of the pods' controllers (a Deployment's
  ``spec.replicas`` for its ReplicaSets' pods, a StatefulSet's, a ReplicaSet's),
  percentages rounded up;
* ``currentHealthy``: pods that are Ready, not being deleted, and not just approved for eviction
  (``disruptedPods``, kept until the pod goes or two minutes pass);
* ``disruptionsAllowed`` = currentHealthy - desiredHealthy (never below 0; 0 while no pod is expected),
  ``observedGeneration``, and the condition DisruptionAllowed (True/SufficientPods or False/InsufficientPods).

When the expected count cannot be computed (a pod whose controller has no scale, e.g. a Job) the budget fails
safe: disruptionsAllowed 0, condition reason SyncFailed. Events: NoPods "No matching pods found",
UnmanagedPods, CalculateExpectedPodCountFailed, NotDeleted.

Simplified: controllers are found through the workload informers only (no generic /scale lookup for custom
resources); stale DisruptionTarget pod conditions are not cleared.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.apiserver.admission.eviction import (
    DISRUPTION_ALLOWED,
    SYNC_FAILED,
    is_pod_ready,
    pdb_selects,
    set_condition,
    update_disruption_allowed_condition,
)
from kubelab.client import Client, InformerFactory
from kubelab.client.informer import meta_key
from kubelab.clock import parse_time
from kubelab.config import LabConfig
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

Obj = dict[str, Any]

PDBS = "poddisruptionbudgets.policy"
DELETION_TIMEOUT = 120.0  # seconds an approved eviction may take before the pod counts again (upstream: 2 min)


class ExpectedCountError(Exception):
    pass


def scaled_value(value: int | str, total: int, round_up: bool = True) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ExpectedCountError("invalid value for IntOrString: invalid type: string is not a percentage")
    try:
        pct = int(text[:-1])
    except ValueError:
        raise ExpectedCountError(f'invalid value "{text}": strconv.Atoi: parsing "{text[:-1]}": invalid syntax') from None
    exact = pct * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def controller_ref(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


class DisruptionController(Controller):
    """Keys are budget keys ``namespace/name``. Writes and events carry ``controllermanager``."""

    name = "disruption"
    manager = "controllermanager"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        if client.manager != self.manager:
            client = Client(client.ctx, self.manager)
        super().__init__(client, informers, config, trace)

    def setup(self) -> None:
        self.pdbs = self.informers.informer(PDBS)
        self.pods = self.informers.informer("pods")
        self.replicasets = self.informers.informer("replicasets.apps")
        self.deployments = self.informers.informer("deployments.apps")
        self.statefulsets = self.informers.informer("statefulsets.apps")
        self.pdbs.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pods.add_handler(self._pod, lambda old, new: self._pod(new), self._pod)
        for inf in (self.deployments, self.statefulsets, self.replicasets):
            inf.add_handler(None, self._scale_changed, None)

    def _pod(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace")
        for pdb in self.pdbs.list(ns):
            if pdb_selects(pdb, pod):
                self.enqueue(pdb)

    def _scale_changed(self, old: Obj, new: Obj) -> None:
        # a percentage budget's expected count follows its workload's replicas (upstream waits for a pod event)
        if (old.get("spec") or {}).get("replicas") != (new.get("spec") or {}).get("replicas"):
            for pdb in self.pdbs.list((new.get("metadata") or {}).get("namespace")):
                self.enqueue(pdb)

    # ------------------------------------------------------------------------------------------------ sync
    async def sync(self, key: str) -> None:
        pdb = self.pdbs.get_key(key)
        if pdb is None:
            return
        try:
            self.try_sync(pdb)
        except ExpectedCountError as e:
            self.client.event(pdb, "CalculateExpectedPodCountFailed",
                              f"Failed to calculate the number of expected pods: {e}", "Warning")
            self.fail_safe(pdb, str(e))

    def try_sync(self, pdb: Obj) -> None:
        ns = pdb["metadata"]["namespace"]
        pods = [p for p in self.pods.list(ns) if pdb_selects(pdb, p)]
        if not pods:
            self.client.event(pdb, "NoPods", "No matching pods found")
        expected, desired, unmanaged = self.expected_pod_count(pdb, pods)
        if unmanaged:
            sel = (pdb.get("spec") or {}).get("selector")
            self.client.event(pdb, "UnmanagedPods", (
                f"Pods selected by this PodDisruptionBudget (selector: {sel}) were found to be unmanaged. As a result, "
                "the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To "
                'account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.'),
                "Warning")
        now = self.clock.now()
        disrupted, recheck = self.build_disrupted_pod_map(pdb, pods, now)
        healthy = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")
                      and p["metadata"]["name"] not in disrupted and is_pod_ready(p))
        self.update_status(pdb, healthy, desired, expected, disrupted, now)
        if recheck is not None:
            self.requeue_after(meta_key(pdb), max((recheck - now).total_seconds(), 0) + 0.01)

    def expected_pod_count(self, pdb: Obj, pods: list[Obj]) -> tuple[int, int, list[str]]:
        """getExpectedPodCount -> (expectedCount, desiredHealthy, unmanaged pod names)."""
        spec = pdb.get("spec") or {}
        if spec.get("maxUnavailable") is not None:
            expected, unmanaged = self.expected_scale(pods)
            desired = max(expected - scaled_value(spec["maxUnavailable"], expected), 0)
            return expected, desired, unmanaged
        min_available = spec.get("minAvailable")
        if isinstance(min_available, int) and not isinstance(min_available, bool):
            return len(pods), min_available, []
        if min_available is not None:
            expected, unmanaged = self.expected_scale(pods)
            return expected, scaled_value(min_available, expected), unmanaged
        return 0, 0, []

    def expected_scale(self, pods: list[Obj]) -> tuple[int, list[str]]:
        """getExpectedScale: the sum of the scales of the pods' controllers."""
        scales: dict[str, int] = {}
        unmanaged: list[str] = []
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                unmanaged.append(pod["metadata"]["name"])
                continue
            if ref.get("uid") in scales:
                continue
            found = self.find_controller(ref, pod["metadata"]["namespace"])
            if found is None:
                raise ExpectedCountError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            scales[found[0]] = found[1]
        return sum(scales.values()), unmanaged

    def find_controller(self, ref: Obj, ns: str) -> tuple[str, int] | None:
        """The finders: Deployment (through its ReplicaSet), ReplicaSet, StatefulSet (kubelab serves no
        ReplicationControllers)."""
        kind, name, uid = ref.get("kind"), str(ref.get("name")), ref.get("uid")
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]

        def scale(obj: Obj | None) -> tuple[str, int] | None:
            if obj is None or obj["metadata"].get("uid") != uid:
                return None
            return str(uid), int((obj.get("spec") or {}).get("replicas", 1))

        if kind == "StatefulSet" and group == "apps":
            return scale(self.statefulsets.get(name, ns))
        if kind == "ReplicaSet" and group == "apps":
            rs = scale(self.replicasets.get(name, ns))
            if rs is None:
                return None
            owner = controller_ref(self.replicasets.get(name, ns) or {})
            if owner is not None and owner.get("kind") == "Deployment":
                d = self.deployments.get(str(owner.get("name")), ns)
                if d is None or d["metadata"].get("uid") != owner.get("uid"):
                    return None
                return str(owner.get("uid")), int((d.get("spec") or {}).get("replicas", 1))
            return rs
        return None

    def build_disrupted_pod_map(self, pdb: Obj, pods: list[Obj], now: _dt.datetime
                                ) -> tuple[dict[str, str], _dt.datetime | None]:
        """Keep approved evictions whose pod still exists and has not started going, for at most two minutes."""
        disrupted = dict((pdb.get("status") or {}).get("disruptedPods") or {})
        out: dict[str, str] = {}
        recheck: _dt.datetime | None = None
        for pod in pods:
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp") or name not in disrupted:
                continue
            try:
                expected = parse_time(disrupted[name]) + _dt.timedelta(seconds=DELETION_TIMEOUT)
            except ValueError:
                continue
            if expected < now:
                m = pdb["metadata"]
                self.client.event(pod, "NotDeleted",
                                  f"Pod was expected by PDB {m['namespace']}/{m['name']} to be deleted but it wasn't",
                                  "Warning")
            else:
                out[name] = disrupted[name]
                recheck = expected if recheck is None or expected < recheck else recheck
        return out, recheck

    def update_status(self, pdb: Obj, healthy: int, desired: int, expected: int, disrupted: dict[str, str],
                      now: _dt.datetime) -> None:
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        generation = int(pdb["metadata"].get("generation") or 0)
        old = pdb.get("status") or {}
        status: Obj = {"disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired,
                       "expectedPods": expected, "observedGeneration": generation,
                       "conditions": list(old.get("conditions") or [])}
        if disrupted:
            status["disruptedPods"] = disrupted
        update_disruption_allowed_condition(status, now)
        if status == old:
            return
        self.client.update_status(PDBS, dict(pdb, status=status))
        if (old.get("disruptionsAllowed"), old.get("currentHealthy")) != (allowed, healthy):
            self.emit("status", pdb, message=f"{healthy} healthy, {desired} desired, {allowed} disruptions allowed",
                      disruptionsAllowed=allowed)

    def fail_safe(self, pdb: Obj, message: str) -> None:
        """failSafe: allow no disruption when the budget cannot be computed."""
        old = pdb.get("status") or {}
        status = dict(old, disruptionsAllowed=0)
        status["conditions"] = set_condition(list(old.get("conditions") or []), {
            "type": DISRUPTION_ALLOWED, "status": "False", "reason": SYNC_FAILED, "message": message,
            "observedGeneration": int(old.get("observedGeneration") or 0)}, self.clock.now())
        if status != old:
            try:
                self.client.update_status(PDBS, dict(pdb, status=status))
            except ApiError as e:
                if e.code != 404:
                    raise


__all__ = ["DELETION_TIMEOUT", "DisruptionController", "scaled_value"]
