"""Scheduling: node labels and selectors, taints and tolerations, anti-affinity, requests, node affinity."""

from __future__ import annotations

from typing import Any

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import (
    View,
    container,
    is_control_plane,
    labels_of,
    name_of,
    need_running,
    pod_trouble,
    quantity,
    workload_ready,
)

ZONE = "topology.kubernetes.io/zone"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}], **spec}}


def _node_of(v: View, pod: dict[str, Any]) -> dict[str, Any]:
    node = v.get("node", str(pod["spec"].get("nodeName") or "-"))
    if node is None:
        raise Unmet(pod_trouble(pod))
    return node


@exercise(
    "scheduling-01", "Pick a node by its labels",
    task="""
Label the **second worker node** (its name ends in `-worker2`) with **`disk=ssd`**, then create a **pod
`fast`** (`nginx:1.27`) with a **nodeSelector** `disk: ssd`, so it can only run there.""",
    tool="%kube",
    nudge="Nodes carry labels like any object; spec.nodeSelector keeps a pod to nodes with those labels.",
    where="%kube label node <node> disk=ssd, %kube get nodes -L disk, %kube get pod fast -o wide",
)
def scheduling_01(v: View) -> str:
    target = v.worker(1)
    if labels_of(target).get("disk") != "ssd":
        labelled = [name_of(n) for n in v.nodes() if labels_of(n).get("disk") == "ssd"]
        raise Unmet(f"node {name_of(target)} has no label disk=ssd" +
                    (f" (labelled: {', '.join(labelled)})" if labelled else ""))
    pod = v.need("pod", "fast")
    sel = pod["spec"].get("nodeSelector") or {}
    if sel.get("disk") != "ssd":
        raise Unmet(f"pod fast's nodeSelector is {sel or 'empty'}; the task asks for disk: ssd")
    need_running(pod)
    node = _node_of(v, pod)
    return f"pod fast runs on {name_of(node)}, the node labelled disk=ssd."


@exercise(
    "scheduling-02", "Tolerate a taint",
    task="""
The set-up created a **pod `on-control-plane`** that must run on the control-plane node (its nodeSelector
says so). It stays **Pending**. Find out why, and make it run there by adding the right **toleration**
(`kubectl edit`/`patch` can add tolerations to a pod; or delete it and re-create it with one).""",
    tool="%kube",
    nudge="Taints on a node repel pods that do not tolerate them; kind taints its control-plane node.",
    where="%kube describe pod on-control-plane  (Events: FailedScheduling) and  %kube describe node "
          "<control-plane node>  (Taints)",
    setup=lambda v: v.apply(_pod("on-control-plane", nodeSelector={CONTROL_PLANE: ""})),
)
def scheduling_02(v: View) -> str:
    pod = v.need("pod", "on-control-plane")
    if (pod["spec"].get("nodeSelector") or {}).get(CONTROL_PLANE) is None:
        raise Unmet("pod on-control-plane lost its nodeSelector for the control-plane node; keep it")
    tolerations = pod["spec"].get("tolerations") or []
    if not any(t.get("key") == CONTROL_PLANE or (t.get("operator") == "Exists" and not t.get("key"))
               for t in tolerations):
        raise Unmet(f"pod on-control-plane does not tolerate the taint {CONTROL_PLANE}:NoSchedule; "
                    f"{pod_trouble(pod)}")
    need_running(pod)
    node = _node_of(v, pod)
    if not is_control_plane(node):
        raise Unmet(f"pod on-control-plane runs on {name_of(node)}, which is not the control-plane node")
    return f"pod on-control-plane tolerates the taint and runs on {name_of(node)}."


@exercise(
    "scheduling-03", "Spread the replicas apart",
    task="""
Create a **Deployment `spread`** with **2 replicas** (`nginx:1.27`, pod label `app: spread`) and a
**required pod anti-affinity** on `app: spread` with `topologyKey: kubernetes.io/hostname`, so no two
replicas can share a node.""",
    tool="%%kube",
    nudge="podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution: a label selector and a topologyKey.",
    where="%kube get pods -l app=spread -o wide  (NODE), %kube describe pod <pending one>",
)
def scheduling_03(v: View) -> str:
    dep = v.need("deployment", "spread")
    anti = ((dep["spec"]["template"]["spec"].get("affinity") or {}).get("podAntiAffinity") or {})
    terms = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    ok = [t for t in terms if t.get("topologyKey") == "kubernetes.io/hostname"
          and ((t.get("labelSelector") or {}).get("matchLabels") or {}).get("app") == "spread"]
    if not ok:
        why = "is only preferred" if anti.get("preferredDuringSchedulingIgnoredDuringExecution") else "is missing"
        raise Unmet(f"the required pod anti-affinity on app=spread with topologyKey kubernetes.io/hostname {why}")
    workload_ready(v, "deployment", "spread", 2)
    nodes = [p["spec"].get("nodeName") for p in v.pods_of(dep)]
    if len(set(nodes)) != len(nodes):
        raise Unmet(f"two replicas share a node: {nodes}")
    return f"the 2 replicas of spread run on different nodes: {', '.join(sorted(str(n) for n in nodes))}."


def _setup_hungry(v: View) -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hungry"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "hungry"}},
                    "template": {"metadata": {"labels": {"app": "hungry"}},
                                 "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {
                                     "requests": {"cpu": "16", "memory": "256Mi"}}}]}}}}
    v.apply(dep)


@exercise(
    "scheduling-04", "Too big to fit",
    task="""
The set-up created a **Deployment `hungry`** whose pod stays **Pending**. Find out what it asks for and what
the nodes can offer, then lower the **CPU request to `500m`** so it is scheduled, and wait for 1 ready
replica.""",
    tool="%kube",
    nudge="The scheduler only places a pod where the sum of requests fits the node's allocatable resources.",
    where="%kube describe pod -l app=hungry  (Events: Insufficient cpu), %kube describe node  (Allocatable), "
          "%kube set resources deployment hungry --requests=cpu=...",
    setup=_setup_hungry,
)
def scheduling_04(v: View) -> str:
    dep = v.need("deployment", "hungry")
    cpu = ((container(dep["spec"]["template"]["spec"]) or {}).get("resources") or {}).get("requests", {}).get("cpu")
    if cpu is None or quantity(cpu) != quantity("500m"):
        biggest = max((quantity((n.get("status") or {}).get("allocatable", {}).get("cpu")) or 0
                       for n in v.workers()), default=0)
        raise Unmet(f"deployment hungry requests cpu {cpu!r} per pod; the task asks for 500m (the largest "
                    f"worker has {biggest} CPU allocatable)")
    workload_ready(v, "deployment", "hungry", 1)
    return "hungry requests 500m CPU and fits on a node."


def _setup_zones(v: View) -> None:
    for node, zone in zip(v.workers()[:2], ("zone-a", "zone-b"), strict=False):
        if ZONE not in labels_of(node):
            v.patch("node", name_of(node), {"metadata": {"labels": {ZONE: zone}}})


@exercise(
    "scheduling-05", "Node affinity for a zone",
    task="""
The set-up labelled the worker nodes with zones (`topology.kubernetes.io/zone`). Create a **pod `zoned`**
(`nginx:1.27`) that **must** run in **`zone-b`**, using **node affinity**
(`requiredDuringSchedulingIgnoredDuringExecution`, operator `In`) rather than a nodeSelector.""",
    tool="%%kube",
    nudge="affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].matchExpressions",
    where="%kube get nodes -L topology.kubernetes.io/zone  and  %kube get pod zoned -o wide",
    setup=_setup_zones,
)
def scheduling_05(v: View) -> str:
    pod = v.need("pod", "zoned")
    na = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
    terms = (na.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    exprs = [e for t in terms for e in t.get("matchExpressions") or []]
    if not any(e.get("key") == ZONE and e.get("operator") == "In" and "zone-b" in (e.get("values") or [])
               for e in exprs):
        raise Unmet(f"pod zoned has no required node affinity '{ZONE} In [zone-b]' (found: {exprs or 'none'})")
    need_running(pod)
    node = _node_of(v, pod)
    zone = labels_of(node).get(ZONE)
    if zone != "zone-b":
        raise Unmet(f"pod zoned runs on {name_of(node)} in zone {zone!r}")
    return f"pod zoned runs in zone-b, on {name_of(node)}."


@exercise(
    "scheduling-06", "Why is it Pending?",
    task="""
The set-up created a **pod `mystery`** that stays **Pending**. Read the scheduler's explanation and make the
pod run **without changing the pod**: change the cluster instead (one worker node is enough).""",
    tool="%kube",
    nudge="A nodeSelector no node satisfies keeps a pod Pending until a node gets that label.",
    where="%kube describe pod mystery  (Node-Selectors, Events: FailedScheduling); then %kube label node ...",
    setup=lambda v: v.apply(_pod("mystery", nodeSelector={"disktype": "nvme"})),
)
def scheduling_06(v: View) -> str:
    pod = v.need("pod", "mystery")
    if (pod["spec"].get("nodeSelector") or {}).get("disktype") != "nvme":
        raise Unmet("pod mystery no longer asks for disktype=nvme: the task is to change the nodes, not the pod")
    labelled = [name_of(n) for n in v.nodes() if labels_of(n).get("disktype") == "nvme"]
    if not labelled:
        raise Unmet(f"no node has the label disktype=nvme; {pod_trouble(pod)}")
    need_running(pod)
    return f"mystery found its node: {_node_of(v, pod)['metadata']['name']} (disktype=nvme)."
