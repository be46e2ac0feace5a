"""The node: Services and endpoints (kube-proxy's input), the container runtime, pod addresses, readiness,
cordon and drain."""

from __future__ import annotations

import ipaddress
from typing import Any

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, is_daemon_or_mirror, name_of, pod_trouble


def _backend(v: View) -> None:
    v.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "backend"}},
                      "template": {"metadata": {"labels": {"app": "backend", "tier": "api"}},
                                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                            "ports": [{"containerPort": 80}]}]}}}})


def _service_selects(v: View, svc: dict[str, Any], want: int) -> None:
    name = name_of(svc)
    sel = (svc.get("spec") or {}).get("selector") or {}
    if not sel:
        raise Unmet(f"service {name} has no selector, so no endpoints are made for it")
    matching = v.pods(",".join(f"{k}={val}" for k, val in sel.items()))
    if not matching:
        raise Unmet(f"service {name} selects {sel}, which matches no pods (the backend pods have labels "
                    "app=backend, tier=api)")
    ready, not_ready = v.service_endpoints(name)
    if len(ready) < want:
        raise Unmet(f"service {name} has {len(ready)} ready endpoint(s) ({len(not_ready)} not ready); "
                    f"expected {want}")


@exercise(
    "node-01", "A Service finds its pods",
    task="""
The set-up created a **Deployment `backend`** (2 replicas, pod labels `app: backend`, `tier: api`, port 80).
Create a **Service `backend`** (type ClusterIP) on **port 80** that sends traffic to those pods, and look at
its **endpoints** (the list kube-proxy programs on every node).""",
    tool="%kube",
    nudge="A Service selects pods by label; the endpoints controller lists the ready ones.",
    where="%kube expose deployment backend --port 80, %kube describe svc backend  (Endpoints), "
          "%kube get endpointslices -l kubernetes.io/service-name=backend",
    setup=_backend,
)
def node_01(v: View) -> str:
    svc = v.need("service", "backend")
    if svc["spec"].get("type", "ClusterIP") != "ClusterIP":
        raise Unmet(f"service backend is of type {svc['spec'].get('type')}; the task asks for ClusterIP")
    if not any(p.get("port") == 80 for p in svc["spec"].get("ports") or []):
        raise Unmet(f"service backend listens on ports {[p.get('port') for p in svc['spec'].get('ports') or []]}; "
                    "the task asks for 80")
    _service_selects(v, svc, 2)
    return f"service backend ({svc['spec'].get('clusterIP')}) has 2 ready endpoints."


@exercise(
    "node-02", "Open a NodePort",
    task="""
Make the backend reachable on every node's address: create a **Service `backend-nodeport`** of type
**NodePort** selecting the pods of Deployment `backend`, port **80**, with the fixed **nodePort `30080`**.""",
    tool="%%kube",
    nudge="A NodePort Service is a ClusterIP Service plus a port that kube-proxy opens on every node.",
    where="%kube get svc backend-nodeport  (PORT(S) 80:30080/TCP) and  %kube describe svc backend-nodeport",
    setup=_backend,
)
def node_02(v: View) -> str:
    svc = v.need("service", "backend-nodeport")
    if svc["spec"].get("type") != "NodePort":
        raise Unmet(f"service backend-nodeport is of type {svc['spec'].get('type')}; the task asks for NodePort")
    ports = svc["spec"].get("ports") or []
    if not any(p.get("nodePort") == 30080 for p in ports):
        raise Unmet(f"service backend-nodeport has nodePort(s) {[p.get('nodePort') for p in ports]}; expected 30080")
    _service_selects(v, svc, 2)
    return "backend-nodeport opens port 30080 on every node, with 2 ready endpoints."


@exercise(
    "node-03", "Which container runtime?",
    task="""
The kubelet does not run containers itself: it asks a **container runtime** through the CRI. Find the
**runtime and version** the nodes report (e.g. `containerd://1.7.0`) and record it:

```python
kubelab.exercises.answer("node-03", "<runtime version>")
```""",
    tool="%kube",
    nudge="Each node reports its runtime in status.nodeInfo.",
    where="%kube get nodes -o wide  (CONTAINER-RUNTIME), or %kube describe node <node>  (System Info)",
)
def node_03(v: View) -> str:
    truth = {str((n.get("status") or {}).get("nodeInfo", {}).get("containerRuntimeVersion")) for n in v.nodes()}
    given = v.need_answer("node-03")
    if given in truth or any(t.split("://")[-1] == given for t in truth):
        return f"the nodes run {', '.join(sorted(truth))}."
    raise Unmet(f"your answer {given!r} is not the runtime version any node reports (format: name://version)")


def _setup_addressed(v: View) -> None:
    v.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "addressed", "labels": {"app": "addressed"}},
             "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})


@exercise(
    "node-04", "Where pod IPs come from",
    task="""
Each node gets a range of pod addresses (its **podCIDR**), and the network plugin gives every pod on that
node an IP from it. The set-up created a **pod `addressed`**: record the **podCIDR of the node it runs on**
(e.g. `10.244.7.0/24`):

```python
kubelab.exercises.answer("node-04", "<podCIDR>")
```""",
    tool="%kube",
    nudge="First find the pod's node and IP; then the node's spec.podCIDR. The IP lies inside it.",
    where="%kube get pod addressed -o wide  then  %kube get node <node> -o jsonpath='{.spec.podCIDR}'",
    setup=_setup_addressed,
)
def node_04(v: View) -> str:
    pod = v.need("pod", "addressed")
    node = v.get("node", str(pod["spec"].get("nodeName") or "-"))
    if node is None:
        raise Unmet(pod_trouble(pod))
    cidr = str((node.get("spec") or {}).get("podCIDR") or "")
    if not cidr:
        raise Unmet(f"node {name_of(node)} reports no podCIDR (some managed network plugins do not use one)")
    given = v.need_answer("node-04")
    if given == cidr:
        return f"pod addressed ({pod['status'].get('podIP')}) got its IP from {name_of(node)}'s range {cidr}."
    others = {str((n.get("spec") or {}).get("podCIDR")): name_of(n) for n in v.nodes()}
    if given in others:
        raise Unmet(f"{given} is the podCIDR of {others[given]}, but pod addressed runs on another node")
    ip = str((pod.get("status") or {}).get("podIP") or "")
    with_ip = ""
    try:
        if ip and ipaddress.ip_address(ip) in ipaddress.ip_network(given, strict=False):
            with_ip = f" (it contains the pod's IP {ip}, but it is not the node's exact range)"
    except ValueError:
        with_ip = " (that is not a CIDR like 10.244.1.0/24)"
    raise Unmet(f"your answer {given!r} is not the podCIDR of the pod's node{with_ip}")


@exercise(
    "node-05", "kube-proxy runs everywhere",
    task="""
**kube-proxy** turns Services into packet rules on each node, so it runs as a DaemonSet in `kube-system`.
How many **kube-proxy pods** are running? Record the number:

```python
kubelab.exercises.answer("node-05", <number>)
```""",
    tool="%kube",
    nudge="A DaemonSet runs one pod on each node it may run on.",
    where="%kube get daemonset -n kube-system  and  %kube get pods -n kube-system -l k8s-app=kube-proxy -o wide",
)
def node_05(v: View) -> str:
    ds = v.get("daemonset", "kube-proxy", "kube-system")
    if ds is None:
        raise Unmet("this cluster has no kube-proxy DaemonSet (some network plugins replace it, e.g. Cilium)")
    running = [p for p in v.pods_of(ds) if (p.get("status") or {}).get("phase") == "Running"]
    given = v.need_answer("node-05")
    if not given.isdigit():
        raise Unmet(f"your answer {given!r} is not a number")
    if int(given) != len(running):
        raise Unmet(f"your answer is {given}, but a different number of kube-proxy pods is running (one per "
                    f"node: there are {len(v.nodes())} nodes)")
    return f"{len(running)} kube-proxy pods, one per node."


def _setup_flaky(v: View) -> None:
    probe = {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 3600}
    v.apply([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "flaky"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "flaky"}},
                  "template": {"metadata": {"labels": {"app": "flaky"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                        "readinessProbe": probe}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "flaky"},
         "spec": {"selector": {"app": "flaky"}, "ports": [{"port": 80, "targetPort": 80}]}},
    ])


@exercise(
    "node-06", "Running but not receiving traffic",
    task="""
The set-up created a **Deployment `flaky`** and a **Service `flaky`**. The pods are Running, yet the
Service has **no ready endpoints**, so kube-proxy sends traffic nowhere. Find out why and fix the Deployment
so that **both pods become ready endpoints** of the Service.""",
    tool="%kube",
    nudge="Only Ready pods are endpoints; look at what decides readiness in the pod template.",
    where="%kube get endpointslices -l kubernetes.io/service-name=flaky -o yaml  (conditions.ready), "
          "%kube describe pod -l app=flaky  (Readiness:)",
    setup=_setup_flaky,
)
def node_06(v: View) -> str:
    svc = v.need("service", "flaky")
    dep = v.need("deployment", "flaky")
    ready, not_ready = v.service_endpoints("flaky")
    if len(ready) >= 2:
        return "both flaky pods are ready endpoints of Service flaky."
    probe = ((dep["spec"]["template"]["spec"].get("containers") or [{}])[0]).get("readinessProbe") or {}
    detail = ""
    if int(probe.get("initialDelaySeconds") or 0) > 60:
        detail = f"; the readiness probe waits initialDelaySeconds={probe['initialDelaySeconds']} before it first runs"
    raise Unmet(f"service {name_of(svc)} has {len(ready)} ready and {len(not_ready)} not-ready endpoint(s){detail}")


@exercise(
    "node-07", "Drain a node for maintenance",
    task="""
The **second worker** (its name ends in `-worker2`) needs maintenance. **Drain** it: no new pods may be
scheduled there and every pod that is not part of a DaemonSet must move off it. Pods that no controller
manages (such as `addressed` from node-04, if it runs there) make kubectl refuse unless you add `--force`:
they are deleted, not re-created elsewhere. (Do this last: the node stays cordoned until you `uncordon` it.)""",
    tool="%kube",
    nudge="Cordon marks a node unschedulable; drain cordons and then evicts its pods (DaemonSet pods stay).",
    where="%kube drain <node> --ignore-daemonsets --delete-emptydir-data [--force], %kube get nodes, "
          "%kube get pods -A -o wide --field-selector spec.nodeName=<node>",
)
def node_07(v: View) -> str:
    node = v.worker(1)
    name = name_of(node)
    if not (node.get("spec") or {}).get("unschedulable"):
        raise Unmet(f"node {name} is still schedulable (not cordoned)")
    left = [p for p in v.objects("pod", all_namespaces=True, field_selector=f"spec.nodeName={name}")
            if not is_daemon_or_mirror(p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    if left:
        shown = ", ".join(f"{p['metadata']['namespace']}/{name_of(p)}" for p in left[:5])
        raise Unmet(f"node {name} is cordoned but still runs {len(left)} pod(s) not managed by a DaemonSet: "
                    f"{shown}")
    return f"node {name} is cordoned and empty apart from DaemonSet pods."
