"""Real clusters: manifests that work the same on kind, kubelab, AKS, EKS and GKE (namespaces, no node names,
requests, label selectors, pinned images, the default StorageClass)."""

from __future__ import annotations

from typing import Any

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, container, labels_of, name_of, quantity, workload_ready

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def _ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _deployment(name: str, ns: str, labels: dict[str, str], replicas: int, **pod: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": "web", "image": "nginx:1.27"}], **pod}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


@exercise(
    "real-clusters-01", "A namespace with a budget",
    task="""
On a shared cluster every team works in its own namespace, with a quota. Create a **namespace `sandbox`**
labelled **`team=shop`**, and in it a **ResourceQuota `sandbox-quota`** that allows at most **10 pods**
(`hard: {pods: "10"}`).""",
    tool="%%kube",
    nudge="Namespaces separate names and budgets; a ResourceQuota caps what a namespace may consume.",
    where="%kube get ns sandbox --show-labels  and  %kube describe resourcequota -n sandbox",
)
def real_clusters_01(v: View) -> str:
    ns = v.need("namespace", "sandbox")
    if labels_of(ns).get("team") != "shop":
        raise Unmet(f"namespace sandbox has labels {labels_of(ns)}; team=shop is missing")
    quota = v.need("resourcequota", "sandbox-quota", "sandbox")
    pods = (quota["spec"].get("hard") or {}).get("pods")
    if pods is None or quantity(pods) != 10:
        raise Unmet(f"ResourceQuota sandbox-quota allows pods={pods!r}; the task asks for 10")
    return "namespace sandbox (team=shop) may run at most 10 pods."


def _setup_pinned(v: View) -> None:
    v.apply([_ns("shop"), _deployment("pinned", "shop", {"app": "pinned"}, 2,
                                      nodeName="aks-nodepool1-12345678-vmss000000")])


@exercise(
    "real-clusters-02", "Never hard-code a node name",
    task="""
The set-up copied a **Deployment `pinned`** (namespace **`shop`**) from an AKS cluster: its pod template
names a node (`spec.nodeName`) that does not exist here, so its pods never start. Make it portable: **remove
`nodeName`** (let the scheduler choose; use a nodeSelector on a well-known label such as
`kubernetes.io/os: linux` if you must constrain it) and get **2 ready replicas**.""",
    tool="%kube",
    nudge="spec.nodeName skips the scheduler entirely; node names differ on every cluster.",
    where="%kube get pods -n shop -o wide  (NODE), %kube edit deployment pinned -n shop, or a JSON patch "
          "removing /spec/template/spec/nodeName",
    setup=_setup_pinned,
)
def real_clusters_02(v: View) -> str:
    dep = v.need("deployment", "pinned", "shop")
    node = dep["spec"]["template"]["spec"].get("nodeName")
    if node:
        raise Unmet(f"deployment pinned's pod template still names node {node!r}, which does not exist here")
    workload_ready(v, "deployment", "pinned", 2, "shop")
    return "pinned lets the scheduler choose; 2 replicas ready."


def _setup_budget(v: View) -> None:
    v.apply([_ns("budget"),
             {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": "budget"},
              "spec": {"hard": {"requests.cpu": "2", "requests.memory": "2Gi", "limits.memory": "4Gi"}}},
             _deployment("catalog", "budget", {"app": "catalog"}, 2)])


@exercise(
    "real-clusters-03", "Requests under a quota",
    task="""
Managed clusters usually put quotas on namespaces. The set-up created namespace **`budget`** with a
ResourceQuota and a **Deployment `catalog`** that creates **no pods at all**. Find the reason (it is not on a
pod: there is none) and fix the Deployment so that **2 replicas** run. Requests of `100m` CPU and `64Mi`
memory and a memory limit of `128Mi` are plenty.""",
    tool="%kube",
    nudge="When pods cannot even be created, the ReplicaSet records why in its events.",
    where="%kube describe replicaset -n budget -l app=catalog  (Events: FailedCreate ... forbidden), "
          "%kube set resources deployment catalog -n budget --requests=... --limits=...",
    setup=_setup_budget,
)
def real_clusters_03(v: View) -> str:
    dep = v.need("deployment", "catalog", "budget")
    try:
        workload_ready(v, "deployment", "catalog", 2, "budget")
    except Unmet as u:
        failures = [e.get("message", "") for rs in v.objects("replicaset", "budget", selector="app=catalog")
                    for e in v.events_for(rs) if e.get("reason") == "FailedCreate"]
        said = f"; the ReplicaSet reports: {failures[-1]}" if failures else ""
        raise Unmet(f"{u}{said}") from None
    res = (container(dep["spec"]["template"]["spec"]) or {}).get("resources") or {}
    return f"catalog runs 2 replicas within the quota (requests {res.get('requests')})."


def _setup_storefront(v: View) -> None:
    v.apply([_ns("shop"),
             _deployment("storefront", "shop", {"app": "storefront", "track": "stable"}, 2),
             _deployment("storefront-canary", "shop", {"app": "storefront", "track": "canary"}, 1)])


@exercise(
    "real-clusters-04", "Select by labels, not by names",
    task="""
In namespace **`shop`** the set-up runs a stable **Deployment `storefront`** (labels `app: storefront`,
`track: stable`, 2 replicas) and a **`storefront-canary`** (`app: storefront`, `track: canary`). Create a
**Service `storefront`** (ClusterIP, port 80) whose endpoints are **only the 2 stable pods**.""",
    tool="%%kube",
    nudge="A Service's selector is a set of labels that must all match; one label more narrows it.",
    where="%kube get pods -n shop --show-labels  and  %kube describe svc storefront -n shop  (Endpoints)",
    setup=_setup_storefront,
)
def real_clusters_04(v: View) -> str:
    svc = v.need("service", "storefront", "shop")
    sel = svc["spec"].get("selector") or {}
    ready, _ = v.service_endpoints("storefront", "shop")
    pods = {str(e["pod"]) for e in ready}
    canary = sorted(p for p in pods if p.startswith("storefront-canary"))
    if canary:
        raise Unmet(f"service storefront selects {sel} and also sends traffic to the canary pod(s) {canary}")
    if len(pods) != 2:
        raise Unmet(f"service storefront (selector {sel or 'none'}) has {len(pods)} ready endpoint(s); "
                    "expected the 2 stable pods")
    return f"service storefront selects {sel}: the 2 stable pods only."


def _setup_frontend(v: View) -> None:
    dep = _deployment("frontend", "shop", {"app": "frontend"}, 1)
    dep["spec"]["template"]["spec"]["containers"] = [{"name": "web", "image": "nginx", "imagePullPolicy": "Always"}]
    v.apply([_ns("shop"), dep])


@exercise(
    "real-clusters-05", "Pin your image versions",
    task="""
The set-up's **Deployment `frontend`** (namespace **`shop`**) runs the image `nginx` without a tag, which
means `:latest`: a different image on every node that pulls it later. **Pin an explicit version tag** (for
example `nginx:1.27`; a `@sha256:` digest also counts) and wait for the new pod to be ready.""",
    tool="%kube",
    nudge="An image without a tag is image:latest, which moves; a version tag or a digest does not.",
    where="%kube get deployment frontend -n shop -o wide  (IMAGES), %kube set image deployment/frontend -n shop ...",
    setup=_setup_frontend,
)
def real_clusters_05(v: View) -> str:
    dep = v.need("deployment", "frontend", "shop")
    image = str((container(dep["spec"]["template"]["spec"]) or {}).get("image") or "")
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
        raise Unmet(f"deployment frontend runs {image!r}: that is (or means) :latest; pin a version tag")
    workload_ready(v, "deployment", "frontend", 1, "shop")
    return f"frontend runs the pinned image {image}."


@exercise(
    "real-clusters-06", "Storage through the default StorageClass",
    task="""
Storage classes have different names everywhere (`standard` on kind, `default` on AKS, `gp2` on EKS,
`standard-rwo` on GKE). In namespace **`shop`** create a **PersistentVolumeClaim `data`** (1Gi,
ReadWriteOnce) **without `storageClassName`**, so the cluster's default class is used, and a **pod
`data-user`** (`nginx:1.27`) that mounts the claim at `/data`. The claim must end **Bound**.""",
    tool="%%kube",
    nudge="Leaving storageClassName out lets the DefaultStorageClass admission plugin fill in the default.",
    where="%kube get storageclass  (default), %kube get pvc -n shop, %kube describe pvc data -n shop",
    setup=lambda v: v.apply(_ns("shop")),
)
def real_clusters_06(v: View) -> str:
    pvc = v.need("persistentvolumeclaim", "data", "shop")
    cls = pvc["spec"].get("storageClassName")
    defaults = [name_of(c) for c in v.objects("storageclass")
                if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
    if defaults and cls not in defaults:
        raise Unmet(f"claim data uses storageClassName {cls!r}; leave it out so the default ({defaults[0]}) is used")
    pod = v.need("pod", "data-user", "shop")
    claims = [vol.get("persistentVolumeClaim", {}).get("claimName") for vol in pod["spec"].get("volumes") or []]
    if "data" not in claims:
        raise Unmet(f"pod data-user does not mount the claim data (its claims: {claims})")
    phase = (pvc.get("status") or {}).get("phase")
    if phase != "Bound":
        raise Unmet(f"claim data is {phase} (with WaitForFirstConsumer it binds once its pod is scheduled)")
    if (pod.get("status") or {}).get("phase") != "Running":
        from kubelab.exercises.view import pod_trouble

        raise Unmet(pod_trouble(pod))
    return f"claim data is Bound through the default class {cls}, mounted by data-user."
