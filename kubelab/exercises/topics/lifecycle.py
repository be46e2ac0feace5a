"""The life of a pod: scheduled to a node, image pulled, started, restarted, initialised, finished; and the
revision the store gives every write."""

from __future__ import annotations

import contextlib

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, container, name_of, need_running, pod_trouble, workload_ready


def _setup_placed(v: View) -> None:
    v.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "placed", "labels": {"app": "placed"}},
             "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})


@exercise(
    "lifecycle-01", "Where did the scheduler put it?",
    task="""
The set-up created a **pod `placed`**. The scheduler chose a node for it and the kubelet of that node started
it. Find **which node** and record it:

```python
kubelab.exercises.answer("lifecycle-01", "<node name>")
```""",
    tool="%kube",
    nudge="Binding a pod to a node sets spec.nodeName; the scheduler also records a 'Scheduled' event.",
    where="%kube get pod placed -o wide  (NODE), or %kube describe pod placed  (Events: Scheduled)",
    setup=_setup_placed,
)
def lifecycle_01(v: View) -> str:
    pod = v.need("pod", "placed")
    node = str(pod["spec"].get("nodeName") or "")
    if not node:
        raise Unmet(pod_trouble(pod))
    given = v.need_answer("lifecycle-01")
    names = [name_of(n) for n in v.nodes()]
    if given not in names:
        raise Unmet(f"your answer {given!r} is not the name of a node; the nodes are {', '.join(names)}")
    if given != node:
        raise Unmet(f"pod placed does not run on {given}: check the NODE column (if you re-created the pod, "
                    "the scheduler may have chosen another node)")
    return f"the scheduler bound pod placed to {node}."


def _setup_typo(v: View) -> None:
    v.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo", "labels": {"app": "typo"}},
             "spec": {"containers": [{"name": "web", "image": "nginx:1.277"}]}})


@exercise(
    "lifecycle-02", "Fix an ImagePullBackOff",
    task="""
The set-up created a **pod `typo`** that never starts. Find out why (its status and its events) and make it
**Running and Ready**, still running nginx. (A pod's image can be changed in place.)""",
    tool="%kube",
    nudge="A pod stuck before its container starts: the kubelet could not get the image. Read the events.",
    where="%kube describe pod typo  (Events: Failed to pull image ...), then %kube set image pod/typo web=...",
    setup=_setup_typo,
)
def lifecycle_02(v: View) -> str:
    pod = v.need("pod", "typo")
    image = str((container(pod["spec"]) or {}).get("image") or "")
    if "nginx" not in image:
        raise Unmet(f"pod typo now runs {image!r}; keep nginx, only with a tag that exists")
    need_running(pod)
    return f"pod typo pulled {image} and is Running."


def _setup_db(v: View) -> None:
    v.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db", "labels": {"app": "db"}},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}},
                      "template": {"metadata": {"labels": {"app": "db"}},
                                   "spec": {"containers": [{"name": "postgres", "image": "postgres:16"}]}}}})


@exercise(
    "lifecycle-03", "The database that keeps crashing",
    task="""
The set-up created a **Deployment `db`** (postgres). Its pod starts, exits and restarts: **CrashLoopBackOff**.
Read what the container said before it died, fix the Deployment, and get **1 ready replica**.""",
    tool="%kube",
    nudge="CrashLoopBackOff means the container starts and exits; the reason is usually in its log.",
    where="%kube logs deployment/db  (add --previous after a restart), then %kube set env deployment/db ...",
    setup=_setup_db,
)
def lifecycle_03(v: View) -> str:
    dep = v.need("deployment", "db")
    image = str((container(dep["spec"]["template"]["spec"]) or {}).get("image") or "")
    if "postgres" not in image:
        raise Unmet(f"deployment db now runs {image!r}; keep postgres and fix its configuration instead")
    try:
        workload_ready(v, "deployment", "db", 1)
    except Unmet as u:
        said = ""
        for pod in v.pods_of(dep):
            with contextlib.suppress(Exception):
                log = v.cluster.logs(name_of(pod)).strip().splitlines()
                said = f"; its log says: {log[0].strip()!r}" if log else ""
                break
        raise Unmet(f"{u}{said}") from None
    env = {e.get("name") for e in (container(dep["spec"]["template"]["spec"]) or {}).get("env") or []}
    return f"deployment db runs, with {', '.join(sorted(x for x in env if x)) or 'its environment'} set."


@exercise(
    "lifecycle-04", "Init containers run first",
    task="""
Create a **pod `ordered`** with two **init containers**, **`first`** then **`second`** (both `busybox:1.36`,
e.g. `sh -c 'echo first; sleep 1'`), and one app container **`app`** (`nginx:1.27`). The kubelet runs the init
containers one after the other, each to completion, before it starts `app`.""",
    tool="%%kube",
    nudge="spec.initContainers is a list: its order is the order they run in, each must exit 0.",
    where="%kube get pod ordered -w  (Init:0/2, Init:1/2, PodInitializing, Running), %kube describe pod ordered",
)
def lifecycle_04(v: View) -> str:
    pod = v.need("pod", "ordered")
    inits = [c.get("name") for c in pod["spec"].get("initContainers") or []]
    if inits != ["first", "second"]:
        raise Unmet(f"pod ordered's init containers are {inits}; the task asks for ['first', 'second'] in order")
    if container(pod["spec"], "app") is None:
        raise Unmet("pod ordered has no app container named app")
    for st in (pod.get("status") or {}).get("initContainerStatuses") or []:
        term = (st.get("state") or {}).get("terminated")
        if not term or term.get("exitCode") != 0:
            raise Unmet(f"init container {st.get('name')} has not completed successfully yet "
                        f"({pod_trouble(pod)})")
    need_running(pod)
    return "first, then second completed; then app started."


def _setup_settings(v: View) -> None:
    v.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
             "data": {"colour": "blue"}})


@exercise(
    "lifecycle-05", "The revision of an object",
    task="""
Every write to the API server gets a new revision from the etcd-like store, and each object carries the
revision of its last write in **`metadata.resourceVersion`**. The set-up created a **ConfigMap `settings`**:
record its current resourceVersion.

```python
kubelab.exercises.answer("lifecycle-05", "<resourceVersion>")
```
(Then change the ConfigMap and look again: the number moves.)""",
    tool="%kube",
    nudge="resourceVersion is part of every object's metadata; clients send it back to detect conflicts.",
    where="%kube get configmap settings -o jsonpath='{.metadata.resourceVersion}'",
    setup=_setup_settings,
)
def lifecycle_05(v: View) -> str:
    cm = v.need("configmap", "settings")
    truth = str(cm["metadata"].get("resourceVersion"))
    given = v.need_answer("lifecycle-05")
    if given != truth:
        if given.isdigit() and truth.isdigit() and int(given) < int(truth):
            raise Unmet(f"your answer {given} is older than the ConfigMap's current resourceVersion: it was "
                        "written since (each write gets a new revision); read it again")
        raise Unmet(f"your answer {given!r} is not the current resourceVersion of ConfigMap settings")
    return f"ConfigMap settings was last written at revision {truth}."


@exercise(
    "lifecycle-06", "A pod that finishes",
    task="""
Not every pod runs forever. Create a **pod `once`** (`busybox:1.36`) whose container runs
`sh -c 'echo done'` and that is **not restarted** when it exits, so it ends in phase **Succeeded**.""",
    tool="%%kube",
    nudge="spec.restartPolicy decides what the kubelet does when a container exits (Always, OnFailure, Never).",
    where="%kube get pod once  (STATUS Completed) and  %kube get pod once -o jsonpath='{.status.phase}'",
)
def lifecycle_06(v: View) -> str:
    pod = v.need("pod", "once")
    policy = pod["spec"].get("restartPolicy", "Always")
    if policy == "Always":
        raise Unmet("pod once has restartPolicy Always, so the kubelet restarts it every time it exits "
                    "(CrashLoopBackOff / Completed restarts); delete it and create it with Never or OnFailure")
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Succeeded":
        raise Unmet(f"pod once is in phase {phase}" + ("" if phase != "Failed" else " (its command failed)"))
    return f"pod once ran to completion (restartPolicy {policy}, phase Succeeded)."
