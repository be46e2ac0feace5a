"""The taint eviction controller: delete pods from nodes with NoExecute taints they do not tolerate.

Mirrors kube-controller-manager's TaintEvictionController (pkg/controller/tainteviction, event source
``taint-eviction-controller``). For each pod bound to a node with NoExecute taints:

* a taint the pod does not tolerate: the pod is deleted at once;
* every taint tolerated, some toleration with ``tolerationSeconds``: the pod is deleted that many seconds
  (the smallest) after the controller first saw it on the tainted node; a toleration without seconds tolerates
  forever. Every pod gets 300 s tolerations for ``not-ready`` and ``unreachable`` by default (the lab shortens
  them, see kubelab.apiserver.admission.defaulttolerationseconds), which is why pods leave a dead node after
  five minutes (lab: seconds);
* the taints go away (the node recovered) before the time is up: the eviction is cancelled.

Deleting records the event TaintManagerEviction "Marking for deletion Pod <ns>/<name>" (and "Cancelling deletion
of Pod <ns>/<name>" on cancel), adds the pod condition DisruptionTarget (DeletionByTaintManager), and deletes with
the pod's grace period.

Lab addition (not upstream): a pod being deleted on a node tainted ``node.kubernetes.io/unreachable`` is
force-deleted (grace period 0) once its grace period has passed. Upstream such a pod stays Terminating until the
kubelet comes back, the node object is deleted, or an admin adds the ``out-of-service`` taint (then the pod
garbage collector force-deletes it); its ReplicaSet already counts it as gone and creates a replacement. kubelab
removes it so lessons do not end with pods stuck Terminating on a node that will never answer.
"""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.taints import tolerates
from kubelab.client import Client, InformerFactory
from kubelab.clock import parse_time, rfc3339
from kubelab.config import LabConfig
from kubelab.controllers.nodelifecycle import NO_EXECUTE, TAINT_UNREACHABLE
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

Obj = dict[str, Any]

REASON = "TaintManagerEviction"
DISRUPTION_REASON = "DeletionByTaintManager"
DISRUPTION_MESSAGE = "Taint manager: deleting due to NoExecute taint"
_EPSILON = 0.01


# ------------------------------------------------------------------------------------------------ pure helpers
def matching_tolerations(taints: list[Obj], tolerations: list[Obj]) -> tuple[bool, list[Obj]]:
    """GetMatchingTolerations: (every taint tolerated?, the first toleration that tolerates each)."""
    used: list[Obj] = []
    for taint in taints:
        match = next((t for t in tolerations if isinstance(t, dict) and tolerates(t, taint)), None)
        if match is None:
            return False, []
        used.append(match)
    return True, used


def min_toleration_seconds(tolerations: list[Obj]) -> float:
    """getMinTolerationTime: 0 = evict now, -1 = tolerate forever, else the smallest tolerationSeconds."""
    if not tolerations:
        return 0
    best: float | None = None
    for t in tolerations:
        s = t.get("tolerationSeconds")
        if isinstance(s, int) and not isinstance(s, bool):
            if s <= 0:
                return 0
            best = s if best is None else min(best, s)
    return -1 if best is None else best


def no_execute_taints(node: Obj | None) -> list[Obj]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or []
            if isinstance(t, dict) and t.get("effect") == NO_EXECUTE]


class TaintEvictionController(Controller):
    """Keys are pod keys ``namespace/name``. Writes and events carry the manager name
    ``taint-eviction-controller``."""

    name = "taint-eviction"
    manager = "taint-eviction-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        if client.manager != self.manager:  # events and field ownership carry this controller's name
            client = Client(client.ctx, self.manager)
        super().__init__(client, informers, config, trace)

    def setup(self) -> None:
        self.nodes = self.informers.informer("nodes")
        self.pods = self.informers.informer("pods")
        # pod key -> (node name, when the pod was first seen there with tolerated NoExecute taints)
        self._since: dict[str, tuple[str, _dt.datetime]] = {}
        self.nodes.add_handler(lambda n: self._node_changed(None, n), self._node_changed, None)
        self.pods.add_handler(self._pod_added, self._pod_updated, self.enqueue)

    def _node_changed(self, old: Obj | None, new: Obj) -> None:
        if old is not None and no_execute_taints(old) == no_execute_taints(new):
            return
        name = new["metadata"]["name"]
        for pod in self.pods.list():
            if (pod.get("spec") or {}).get("nodeName") == name:
                self.enqueue(pod)

    def _pod_added(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.enqueue(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        o, n = old.get("spec") or {}, new.get("spec") or {}
        if (o.get("nodeName") != n.get("nodeName") or o.get("tolerations") != n.get("tolerations")
                or old["metadata"].get("deletionTimestamp") != new["metadata"].get("deletionTimestamp")):
            self.enqueue(new)

    # ------------------------------------------------------------------------------------------------ sync
    async def sync(self, key: str) -> None:
        pod = self.pods.get_key(key)
        if pod is None:
            self._since.pop(key, None)
            return
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.nodes.get(node_name) if node_name else None
        taints = no_execute_taints(node)
        if pod["metadata"].get("deletionTimestamp"):
            self._since.pop(key, None)
            if any(t.get("key") == TAINT_UNREACHABLE for t in taints):
                self.finish_on_unreachable_node(key, pod)
            return
        if not taints:
            self.cancel(key, pod)
            return
        tolerated, used = matching_tolerations(taints, list((pod.get("spec") or {}).get("tolerations") or []))
        if not tolerated:
            self.evict(key, pod, [t for t in taints if not any(tolerates(x, t) for x in used)])
            return
        seconds = min_toleration_seconds(used)
        if seconds < 0:
            self.cancel(key, pod)
            return
        now = self.clock.now()
        seen = self._since.get(key)
        if seen is None or seen[0] != node_name:
            seen = self._since[key] = (str(node_name), now)
        fire = seen[1] + _dt.timedelta(seconds=seconds)
        if now >= fire:
            self.evict(key, pod, taints)
        else:
            self.requeue_after(key, (fire - now).total_seconds() + _EPSILON)

    def cancel(self, key: str, pod: Obj) -> None:
        if self._since.pop(key, None) is not None:
            m = pod["metadata"]
            self.client.event(_ref(pod), REASON, f"Cancelling deletion of Pod {m['namespace']}/{m['name']}")
            self.emit("cancel-eviction", pod, reason=REASON)

    def evict(self, key: str, pod: Obj, taints: list[Obj]) -> None:
        m = pod["metadata"]
        ns, name = m["namespace"], m["name"]
        self.client.event(_ref(pod), REASON, f"Marking for deletion Pod {ns}/{name}")
        new = copy.deepcopy(pod)
        status = new.setdefault("status", {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conds.append({"type": "DisruptionTarget", "status": "True", "reason": DISRUPTION_REASON,
                      "message": DISRUPTION_MESSAGE, "lastTransitionTime": rfc3339(self.clock.now()),
                      "lastProbeTime": None})
        status["conditions"] = conds
        try:
            self.client.update_status("pods", new)
        except ApiError as e:
            if e.code == 404:
                self._since.pop(key, None)
                return
            raise
        self.client.delete("pods", name, ns, preconditions={"uid": m["uid"]})
        self._since.pop(key, None)
        self.emit("evict", pod, reason=REASON, message="NoExecute taint " + ", ".join(
            f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}" for t in taints),
            node=(pod.get("spec") or {}).get("nodeName", ""))

    def finish_on_unreachable_node(self, key: str, pod: Obj) -> None:
        """Lab: nobody will finish a graceful deletion on an unreachable node; do it when the grace period ends."""
        due = parse_time(pod["metadata"]["deletionTimestamp"])
        now = self.clock.now()
        if now < due:
            self.requeue_after(key, (due - now).total_seconds() + _EPSILON)
            return
        m = pod["metadata"]
        self.client.delete("pods", m["name"], m["namespace"], grace_period_seconds=0,
                           preconditions={"uid": m["uid"]})
        self.emit("force-delete", pod, reason="NodeUnreachable",
                  message="grace period over on an unreachable node (lab: upstream leaves it Terminating)",
                  node=(pod.get("spec") or {}).get("nodeName", ""))


def _ref(pod: Obj) -> Obj:
    """The object reference upstream records events on (no uid)."""
    m = pod["metadata"]
    return {"kind": "Pod", "apiVersion": "v1", "namespace": m["namespace"], "name": m["name"]}


__all__ = ["TaintEvictionController", "matching_tolerations", "min_toleration_seconds", "no_execute_taints", "tolerates"]
