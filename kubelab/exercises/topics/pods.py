"""Pods: containers, labels, shared volumes, configuration, resources, probes."""

from __future__ import annotations

from typing import Any

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, container, labels_of, need_running, quantity


@exercise(
    "pods-01", "A pod with labels",
    task="""
Create a **pod `web`** with one container named `web` running **`nginx:1.27`**, labelled
**`app: web`** and **`tier: frontend`**.""",
    tool="%%kube",
    nudge="A pod manifest needs apiVersion v1, kind Pod, metadata (name, labels) and spec.containers.",
    where="%kube get pod web --show-labels  and  %kube describe pod web",
)
def pods_01(v: View) -> str:
    pod = v.need("pod", "web")
    want = {"app": "web", "tier": "frontend"}
    labels = labels_of(pod)
    wrong = {k: labels.get(k) for k, val in want.items() if labels.get(k) != val}
    if wrong:
        raise Unmet(f"pod web has labels {labels or '{}'}; the task asks for app=web and tier=frontend "
                    f"(wrong or missing: {', '.join(wrong)})")
    c = container(pod["spec"]) or {}
    if c.get("image") != "nginx:1.27":
        raise Unmet(f"pod web's container image is {c.get('image')!r}; the task asks for nginx:1.27")
    need_running(pod)
    return "pod web runs nginx:1.27 with labels app=web, tier=frontend."


@exercise(
    "pods-02", "Two containers, one volume",
    task="""
Containers of one pod can share files through a volume. Create a **pod `shared`** with:

- a volume **`data`** of type **`emptyDir`**;
- a container **`writer`** (`busybox:1.36`) that writes into the volume, e.g.
  `sh -c 'while true; do date >> /data/log; sleep 5; done'`;
- a container **`reader`** (`busybox:1.36`) that reads it, e.g. `tail -f /data/log`;
- both containers mount `data` (at `/data`).""",
    tool="%%kube",
    nudge="spec.volumes declares the volume once for the pod; each container mounts it with volumeMounts.",
    where="%kube describe pod shared  (Volumes and each container's Mounts)",
)
def pods_02(v: View) -> str:
    pod = v.need("pod", "shared")
    spec = pod["spec"]
    vol = next((x for x in spec.get("volumes") or [] if x.get("name") == "data"), None)
    if vol is None:
        names = [x.get("name") for x in spec.get("volumes") or []]
        raise Unmet(f"pod shared has no volume named data (its volumes: {names or 'none'})")
    if "emptyDir" not in vol:
        raise Unmet(f"volume data of pod shared is not an emptyDir (it has {sorted(set(vol) - {'name'})})")
    for cname in ("writer", "reader"):
        c = container(spec, cname)
        if c is None:
            raise Unmet(f"pod shared has no container named {cname} (containers: "
                        f"{[x.get('name') for x in spec.get('containers') or []]})")
        if not any(m.get("name") == "data" for m in c.get("volumeMounts") or []):
            raise Unmet(f"container {cname} of pod shared does not mount volume data (volumeMounts)")
    need_running(pod)
    return "writer and reader share the emptyDir volume data."


@exercise(
    "pods-03", "Configuration from a ConfigMap",
    task="""
Keep configuration out of the image. Create a **ConfigMap `app-config`** with the key **`GREETING`** set to
**`hello`**, and a **pod `configured`** (any long-running image, e.g. `nginx:1.27`) whose container gets the
environment variable **`GREETING` from that ConfigMap** (`valueFrom.configMapKeyRef` or `envFrom`).""",
    tool="%%kube",
    nudge="env[].valueFrom.configMapKeyRef (one key) or envFrom[].configMapRef (all keys) take values from a "
          "ConfigMap.",
    where="%kube get configmap app-config -o yaml  and  %kube get pod configured -o yaml  (spec.containers[].env)",
)
def pods_03(v: View) -> str:
    cm = v.need("configmap", "app-config")
    value = (cm.get("data") or {}).get("GREETING")
    if value != "hello":
        raise Unmet(f"ConfigMap app-config has GREETING={value!r}; the task asks for 'hello' "
                    f"(keys: {sorted(cm.get('data') or {})})")
    pod = v.need("pod", "configured")
    c = container(pod["spec"]) or {}
    by_key = any(e.get("name") == "GREETING"
                 and ((e.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name") == "app-config"
                 for e in c.get("env") or [])
    by_from = any((e.get("configMapRef") or {}).get("name") == "app-config" for e in c.get("envFrom") or [])
    if not (by_key or by_from):
        literal = any(e.get("name") == "GREETING" and "value" in e for e in c.get("env") or [])
        raise Unmet("pod configured sets GREETING as a literal value; take it from ConfigMap app-config" if literal
                    else "pod configured's container has no GREETING variable from ConfigMap app-config")
    need_running(pod)
    return "pod configured reads GREETING from ConfigMap app-config."


def _resources(c: dict[str, Any]) -> dict[str, Any]:
    return c.get("resources") or {}


@exercise(
    "pods-04", "Requests and limits",
    task="""
Tell the scheduler what a container needs and the kubelet what it may use. Create a **pod `limited`**
(`nginx:1.27`) whose container **requests `cpu: 100m`, `memory: 64Mi`** and is **limited to `cpu: 200m`,
`memory: 128Mi`**. Which QoS class does the pod get?""",
    tool="%%kube",
    nudge="resources.requests is what the scheduler reserves; resources.limits is the ceiling at run time.",
    where="%kube describe pod limited  (Requests, Limits and QoS Class)",
)
def pods_04(v: View) -> str:
    pod = v.need("pod", "limited")
    res = _resources(container(pod["spec"]) or {})
    want = {("requests", "cpu"): "100m", ("requests", "memory"): "64Mi", ("limits", "cpu"): "200m",
            ("limits", "memory"): "128Mi"}
    for (section, key), text in want.items():
        got = (res.get(section) or {}).get(key)
        if got is None or quantity(got) != quantity(text):
            raise Unmet(f"pod limited's container has {section}.{key} = {got!r}; the task asks for {text}")
    need_running(pod)
    qos = (pod.get("status") or {}).get("qosClass")
    return f"pod limited requests 100m/64Mi, limited to 200m/128Mi: QoS class {qos}."


@exercise(
    "pods-05", "Ready means ready",
    task="""
A container can be running without being ready for traffic. Create a **pod `probed`** (`nginx:1.27`) with a
**readinessProbe** that makes an **HTTP GET on `/` port `80`** (initialDelaySeconds of at most 5). Watch the
READY column change from 0/1 to 1/1.""",
    tool="%%kube",
    nudge="A readinessProbe decides when the pod is added to Service endpoints; httpGet is one kind of probe.",
    where="%kube get pod probed -w  and  %kube describe pod probed  (Readiness: line, Conditions)",
)
def pods_05(v: View) -> str:
    pod = v.need("pod", "probed")
    probe = (container(pod["spec"]) or {}).get("readinessProbe")
    if not probe:
        raise Unmet("pod probed's container has no readinessProbe")
    http = probe.get("httpGet") or {}
    if not http:
        raise Unmet(f"pod probed's readinessProbe uses {sorted(k for k in probe if k in ('exec', 'tcpSocket', 'grpc'))}"
                    "; the task asks for httpGet")
    if str(http.get("port")) not in ("80", "http") or http.get("path", "/") != "/":
        raise Unmet(f"pod probed's readinessProbe checks path {http.get('path')!r} on port {http.get('port')!r}; "
                    "the task asks for / on port 80")
    if int(probe.get("initialDelaySeconds") or 0) > 5:
        raise Unmet(f"initialDelaySeconds is {probe.get('initialDelaySeconds')}: at most 5, please")
    need_running(pod)
    return "pod probed passed its HTTP readiness probe and is Ready."


def _setup_legacy(v: View) -> None:
    v.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "legacy", "labels": {"app": "legacy"}},
             "spec": {"containers": [{"name": "app", "image": "httpd:2.4"}]}})


@exercise(
    "pods-06", "Label and annotate a running pod",
    task="""
The set-up created a **pod `legacy`**. Without re-creating it, add the **label `env=dev`** and the
**annotation `owner=platform-team`**. Then list only the pods with `env=dev`.""",
    tool="%kube",
    nudge="Labels (for selecting) and annotations (for notes) can be changed on a live object.",
    where="%kube label pod legacy ...  /  %kube annotate pod legacy ...  then  %kube get pods -l env=dev",
    setup=_setup_legacy,
)
def pods_06(v: View) -> str:
    pod = v.need("pod", "legacy")
    labels = labels_of(pod)
    if labels.get("env") != "dev":
        raise Unmet(f"pod legacy has labels {labels}; env=dev is missing")
    notes = (pod["metadata"].get("annotations") or {})
    if notes.get("owner") != "platform-team":
        raise Unmet(f"pod legacy's annotation owner is {notes.get('owner')!r}; the task asks for platform-team")
    if labels.get("app") != "legacy":
        raise Unmet(f"pod legacy lost its label app=legacy (labels: {labels}); add labels, keep the old ones")
    return "pod legacy carries env=dev and owner=platform-team."
