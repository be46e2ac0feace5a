"""Controllers: scale, roll forward and back, run to completion, heal, one pod per node."""

from __future__ import annotations

import time
from typing import Any

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, container, name_of, workload_ready

REVISION = "deployment.kubernetes.io/revision"


def _deployment(name: str, image: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def _image(dep: dict[str, Any]) -> str:
    return str((container(dep["spec"]["template"]["spec"]) or {}).get("image") or "")


def _revision(dep: dict[str, Any]) -> int:
    text = str((dep["metadata"].get("annotations") or {}).get(REVISION) or "0")
    return int(text) if text.isdigit() else 0


@exercise(
    "controllers-01", "Scale out",
    task="""
The set-up created a **Deployment `web`** with 2 replicas. Traffic grows: **scale it to 5 replicas** and wait
until all 5 are ready.""",
    tool="%kube",
    nudge="Change the desired number; the ReplicaSet controller creates the missing pods.",
    where="%kube scale deployment web --replicas=...  then  %kube get deployment web",
    setup=lambda v: v.apply(_deployment("web", "nginx:1.27", 2)),
)
def controllers_01(v: View) -> str:
    workload_ready(v, "deployment", "web", 5)
    return "deployment web runs 5 ready replicas."


@exercise(
    "controllers-02", "A rolling update",
    task="""
The set-up created a **Deployment `shop`** (3 replicas of `nginx:1.26`). Roll out **`nginx:1.27`** as a
rolling update (do not delete the Deployment) and wait until every replica runs the new version.""",
    tool="%kube",
    nudge="Changing the pod template makes the Deployment create a new ReplicaSet and shift pods to it.",
    where="%kube set image deployment/shop shop=nginx:1.27  then  %kube rollout status deployment/shop",
    setup=lambda v: v.apply(_deployment("shop", "nginx:1.26", 3)),
)
def controllers_02(v: View) -> str:
    dep = v.need("deployment", "shop")
    if _image(dep) != "nginx:1.27":
        raise Unmet(f"deployment shop's template runs {_image(dep)!r}; the task asks for nginx:1.27")
    if _revision(dep) < 2:
        raise Unmet("deployment shop is at revision 1: it looks re-created rather than updated "
                    "(a rolling update makes revision 2)")
    workload_ready(v, "deployment", "shop", 3)
    return f"shop rolled out nginx:1.27 (revision {_revision(dep)})."


def _setup_api(v: View) -> None:
    v.apply(_deployment("api", "nginx:1.27", 2))
    deadline = time.monotonic() + 15  # let the controller make revision 1 before the bad update
    while time.monotonic() < deadline:
        dep = v.get("deployment", "api") or {}
        if int((dep.get("status") or {}).get("availableReplicas") or 0) >= 2:
            break
        time.sleep(0.2)
    v.apply(_deployment("api", "nginx:1.277", 2))


@exercise(
    "controllers-03", "Roll back a bad release",
    task="""
The set-up created a **Deployment `api`** at `nginx:1.27` and then released a broken version (an image tag
that does not exist). The rollout is stuck. **Roll back** to the previous revision and wait until 2 replicas
are ready again.""",
    tool="%kube",
    nudge="Deployments keep old ReplicaSets as revision history; you can go back to one.",
    where="%kube rollout history deployment/api  then  %kube rollout undo deployment/api",
    setup=_setup_api,
)
def controllers_03(v: View) -> str:
    dep = v.need("deployment", "api")
    if _image(dep) != "nginx:1.27":
        raise Unmet(f"deployment api's template still runs {_image(dep)!r} (revision {_revision(dep)}); the "
                    "good revision ran nginx:1.27")
    if _revision(dep) < 3:
        raise Unmet(f"deployment api is at revision {_revision(dep)}: a rollback makes a new revision (3); was "
                    "the Deployment re-created?")
    workload_ready(v, "deployment", "api", 2)
    return f"api is back on nginx:1.27 (revision {_revision(dep)})."


@exercise(
    "controllers-04", "Run to completion",
    task="""
Create a **Job `squares`** that must succeed **3 times** (`completions: 3`), running `busybox:1.36` with
`sh -c 'echo $((7*7))'`. Wait until it is complete.""",
    tool="%%kube",
    nudge="A Job keeps creating pods until the number of successful ones reaches spec.completions.",
    where="%kube get job squares  (COMPLETIONS), %kube get pods -l job-name=squares",
)
def controllers_04(v: View) -> str:
    job = v.need("job", "squares")
    completions = job["spec"].get("completions")
    if completions != 3:
        raise Unmet(f"job squares has completions {completions}; the task asks for 3")
    st = job.get("status") or {}
    done = any(c.get("type") == "Complete" and c.get("status") == "True" for c in st.get("conditions") or [])
    if not done:
        failed = int(st.get("failed") or 0)
        raise Unmet(f"job squares has {st.get('succeeded', 0)} of 3 successful pods" +
                    (f" and {failed} failed ones (read their logs)" if failed else " (still running?)"))
    return "job squares completed 3 times."


@exercise(
    "controllers-05", "Self-healing",
    task="""
The set-up created a **Deployment `healer`** with 3 replicas. **Delete one of its pods** (by name) and watch
what happens: the ReplicaSet notices that a pod is missing and creates a new one. Wait until 3 are ready
again.""",
    tool="%kube",
    nudge="Controllers compare desired and actual state in a loop; a deleted pod is a difference.",
    where="%kube get pods -l app=healer  then  %kube delete pod <name>  and  %kube get events  (SuccessfulCreate)",
    setup=lambda v: v.apply(_deployment("healer", "nginx:1.27", 3)),
)
def controllers_05(v: View) -> str:
    dep = workload_ready(v, "deployment", "healer", 3)
    created = 0
    for rs in v.objects("replicaset", selector="app=healer"):
        if any(o.get("uid") == dep["metadata"]["uid"] for o in rs["metadata"].get("ownerReferences") or []):
            created += sum(int(e.get("count") or 1) for e in v.events_for(rs)
                           if e.get("reason") == "SuccessfulCreate")
    if created <= 3:
        raise Unmet(f"the ReplicaSet of healer has created {created} pod(s) so far, one per replica: no pod "
                    "has been replaced yet (delete one)")
    return f"the ReplicaSet created {created} pods for 3 replicas: it replaced what you deleted."


@exercise(
    "controllers-06", "One pod per node",
    task="""
Some software must run on every node (log shippers, monitoring agents, kube-proxy). Create a **DaemonSet
`node-agent`** (pod label `app: node-agent`, image `busybox:1.36`, command `sleep 3600`) and check that
**every worker node** runs one of its pods.""",
    tool="%%kube",
    nudge="A DaemonSet has no replicas field: it creates one pod for each node that fits.",
    where="%kube get daemonset node-agent  and  %kube get pods -l app=node-agent -o wide",
)
def controllers_06(v: View) -> str:
    ds = v.need("daemonset", "node-agent")
    st = ds.get("status") or {}
    desired, ready = int(st.get("desiredNumberScheduled") or 0), int(st.get("numberReady") or 0)
    workers = {name_of(n) for n in v.workers()}
    on = {p["spec"].get("nodeName") for p in v.pods_of(ds)}
    if ready < desired or not workers <= on:
        missing = sorted(workers - on)
        raise Unmet(f"daemonset node-agent has {ready} ready of {desired} desired pods" +
                    (f"; no pod yet on {', '.join(missing)}" if missing else ""))
    return f"node-agent runs on {len(on)} node(s), one pod each."
