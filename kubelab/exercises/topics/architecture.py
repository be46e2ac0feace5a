"""Architecture: the control plane as pods, the API server as the one door, desired state and owners."""

from __future__ import annotations

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, container, is_control_plane, name_of, workload_ready


@exercise(
    "architecture-01", "Where the control plane runs",
    task="""
In a kind cluster the control plane components (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run as *static pods* in namespace `kube-system`. Find the **node that runs etcd** and record
its name as your answer:

```python
kubelab.exercises.answer("architecture-01", "<node name>")
```""",
    tool="%kube",
    nudge="The control plane components are pods too: list the pods of namespace kube-system and look at "
          "the node each one runs on.",
    where="%kube get pods -n kube-system -o wide  (the NODE column of the etcd-... pod)",
)
def architecture_01(v: View) -> str:
    etcd = [p for p in v.objects("pod", "kube-system") if name_of(p).startswith("etcd")
            or (p["metadata"].get("labels") or {}).get("component") == "etcd"]
    if not etcd:
        raise Unmet("this cluster runs no etcd pod in kube-system (managed clusters such as AKS, EKS and GKE "
                    "hide their control plane); use a kind or kubelab cluster for this exercise")
    truth = {str((p.get("spec") or {}).get("nodeName") or "") for p in etcd}
    given = v.need_answer("architecture-01")
    nodes = {name_of(n): n for n in v.nodes()}
    if given not in nodes:
        raise Unmet(f"your answer {given!r} is not the name of a node; the nodes are {', '.join(nodes)}")
    if given not in truth:
        role = "a control-plane node" if is_control_plane(nodes[given]) else "a worker node"
        raise Unmet(f"{given!r} is {role}, but it does not run the etcd pod: look at the NODE column again")
    return f"etcd runs on {given}, the control-plane node (a static pod the kubelet starts from a file)."


@exercise(
    "architecture-02", "The API server's version",
    task="""
Every client talks to the **API server**. Ask it which Kubernetes version it runs (the server version, not
kubectl's own) and record it, e.g. `v1.30.2`:

```python
kubelab.exercises.answer("architecture-02", "<server version>")
```""",
    tool="%kube",
    nudge="kubectl can print both its own (client) version and the version the API server reports.",
    where="%kube version  (the line 'Server Version'), or GET /version",
)
def architecture_02(v: View) -> str:
    truth = str(v.version().get("gitVersion") or "")
    given = v.need_answer("architecture-02")
    if given.lstrip("v") != truth.lstrip("v"):
        hint = " (that looks like kubectl's Client Version)" if given.startswith(("v1.", "1.")) else ""
        raise Unmet(f"your answer {given!r} is not the server's version{hint}; the API server reports a "
                    f"version of the form vMAJOR.MINOR.PATCH")
    return f"the API server runs Kubernetes {truth}."


@exercise(
    "architecture-03", "Declare the desired state",
    task="""
Declare what you want and let the controllers make it so: create a **Deployment `hello`** with **2
replicas** of the image **`nginx:1.27`** (pod label `app: hello`). Then watch the pods appear.""",
    tool="%%kube",
    nudge="A Deployment is a record of desired state; the deployment controller, the replicaset controller, "
          "the scheduler and the kubelets do the rest.",
    where="%kube get deployment hello  and  %kube get pods -l app=hello -o wide",
)
def architecture_03(v: View) -> str:
    dep = v.need("deployment", "hello")
    c = container(dep["spec"]["template"]["spec"]) or {}
    if c.get("image") != "nginx:1.27":
        raise Unmet(f"deployment hello runs image {c.get('image')!r}; the task asks for nginx:1.27")
    workload_ready(v, "deployment", "hello", 2)
    return "deployment hello has 2 ready replicas of nginx:1.27."


@exercise(
    "architecture-04", "Follow the owner references",
    task="""
Controllers own what they create. Follow the chain from one pod of Deployment `hello` (exercise
architecture-03) upwards: which **ReplicaSet** owns the pods? Record its name:

```python
kubelab.exercises.answer("architecture-04", "<replicaset name>")
```""",
    tool="%kube",
    nudge="Every pod made by a controller has metadata.ownerReferences naming its owner.",
    where="%kube get pod <pod> -o jsonpath='{.metadata.ownerReferences}'  or  %kube get rs -l app=hello",
)
def architecture_04(v: View) -> str:
    dep = v.need("deployment", "hello")
    given = v.need_answer("architecture-04")
    rs = v.get("replicaset", given)
    if rs is None:
        if v.get("pod", given) is not None:
            raise Unmet(f"{given!r} is a pod; the task asks for the ReplicaSet that owns it (one level up)")
        if given == "hello":
            raise Unmet("'hello' is the Deployment; the task asks for the ReplicaSet between it and the pods")
        raise Unmet(f"there is no ReplicaSet named {given!r} in namespace default")
    owners = rs["metadata"].get("ownerReferences") or []
    if not any(o.get("uid") == dep["metadata"]["uid"] for o in owners):
        raise Unmet(f"ReplicaSet {given} is not owned by deployment hello")
    if not int((rs.get("status") or {}).get("replicas") or 0):
        raise Unmet(f"ReplicaSet {given} belongs to hello but owns no pods now (an old revision)")
    return f"pods of hello are owned by ReplicaSet {given}, which deployment hello owns."


@exercise(
    "architecture-05", "The API is discoverable",
    task="""
The API server describes its own API (discovery). Which **apiVersion** do you write in a manifest for a
**CronJob**? Record it in the form `group/version`:

```python
kubelab.exercises.answer("architecture-05", "<group/version>")
```""",
    tool="%kube",
    nudge="kubectl learns the resource types from the API server's discovery documents.",
    where="%kube api-resources  (the APIVERSION column), or %kube explain cronjob",
)
def architecture_05(v: View) -> str:
    given = v.need_answer("architecture-05").replace(" ", "")
    found = [g for g in ("batch/v1", "batch/v1beta1")
             if any(r.get("kind") == "CronJob" for r in (v.raw(f"/apis/{g}") or {}).get("resources") or [])]
    if given in found:
        return f"CronJobs are served as {given} (group batch)."
    if given in ("batch", "v1"):
        raise Unmet(f"{given!r} is only half of it: an apiVersion is group/version")
    raise Unmet(f"{given!r} does not serve CronJobs on this API server")


@exercise(
    "architecture-06", "Heartbeats: node Leases",
    task="""
Each kubelet proves it is alive by renewing a **Lease** object in namespace `kube-node-lease`, and the node
lifecycle controller watches them. How many node Leases are there? Record the number:

```python
kubelab.exercises.answer("architecture-06", <number>)
```""",
    tool="%kube",
    nudge="Leases are API objects (coordination.k8s.io); each node has one named after it.",
    where="%kube get leases -n kube-node-lease",
)
def architecture_06(v: View) -> str:
    truth = len(v.objects("lease", "kube-node-lease"))
    given = v.need_answer("architecture-06")
    if not given.isdigit():
        raise Unmet(f"your answer {given!r} is not a number")
    if int(given) != truth:
        raise Unmet(f"your answer is {given}, but namespace kube-node-lease holds a different number of "
                    f"Leases (hint: one per node)")
    return f"{truth} Leases, one per node, renewed by each kubelet."
