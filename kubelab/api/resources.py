"""The resource types the API server serves: the facts discovery, storage, schemas and printers all share.

Mirrors what kube-apiserver registers per group-version (pkg/registry/*): name, kind, scope, short names,
categories, verbs and subresources. Custom resources are added at run time from their CustomResourceDefinition.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str  # e.g. "status", "scale", "log"
    kind: str  # kind of the object exchanged at this subresource
    verbs: tuple[str, ...]
    group: str = ""  # when the subresource speaks another group's kind (Scale: autoscaling/v1)
    version: str = ""


_STATUS_VERBS = ("get", "patch", "update")


def status_sub(kind: str) -> Subresource:
    return Subresource("status", kind, _STATUS_VERBS)


SCALE = Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core (legacy) group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    model: str = ""  # official Python client model class, e.g. "V1Pod" ("" for custom resources)
    storage_group: str | None = None  # when another group-version stores this resource (events.k8s.io events)
    preferred: bool = True  # is this the group's preferred version
    custom: bool = False

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def storage_prefix(self) -> str:
        """Store key prefix shared by every version of this resource: /registry/<group>/<plural>/."""
        g = self.storage_group if self.storage_group is not None else self.group
        return f"/registry/{g or 'core'}/{self.plural}/"

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.storage_prefix}{namespace}/{name}"
        return f"{self.storage_prefix}{name}"

    def prefix(self, namespace: str | None) -> str:
        if self.namespaced and namespace:
            return f"{self.storage_prefix}{namespace}/"
        return self.storage_prefix

    def subresource(self, name: str) -> Subresource | None:
        for s in self.subresources:
            if s.name == name:
                return s
        return None

    @property
    def has_status(self) -> bool:
        return self.subresource("status") is not None


def _r(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    subs: tuple[Subresource, ...] = (),
    verbs: tuple[str, ...] = STANDARD_VERBS,
    model: str = "",
    **kw: object,
) -> ResourceType:
    prefix = {"": "V1", "autoscaling": version.capitalize()}.get(group, version.capitalize())
    return ResourceType(
        group, version, kind, plural, namespaced, short, cats, verbs, subs,
        model or f"{prefix}{kind}", **kw,  # type: ignore[arg-type]
    )


ALL = ("all",)

BUILTIN: tuple[ResourceType, ...] = (
    # core/v1
    _r("", "v1", "Binding", "bindings", verbs=("create",)),
    _r("", "v1", "ConfigMap", "configmaps", short=("cm",)),
    _r("", "v1", "Endpoints", "endpoints", short=("ep",)),
    _r("", "v1", "Event", "events", short=("ev",), model="CoreV1Event"),
    _r("", "v1", "LimitRange", "limitranges", short=("limits",)),
    _r("", "v1", "Namespace", "namespaces", False, ("ns",),
       subs=(status_sub("Namespace"), Subresource("finalize", "Namespace", ("update",))),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _r("", "v1", "Node", "nodes", False, ("no",), subs=(status_sub("Node"),)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",),
       subs=(status_sub("PersistentVolumeClaim"),)),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), subs=(status_sub("PersistentVolume"),)),
    _r("", "v1", "Pod", "pods", short=("po",), cats=ALL, subs=(
        Subresource("attach", "PodAttachOptions", ("create", "get")),
        Subresource("binding", "Binding", ("create",)),
        Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
        Subresource("exec", "PodExecOptions", ("create", "get")),
        Subresource("log", "Pod", ("get",)),
        Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
        status_sub("Pod"),
    )),
    _r("", "v1", "PodTemplate", "podtemplates"),
    _r("", "v1", "ResourceQuota", "resourcequotas", short=("quota",), subs=(status_sub("ResourceQuota"),)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",),
       subs=(Subresource("token", "TokenRequest", ("create",), "authentication.k8s.io", "v1"),)),
    _r("", "v1", "Service", "services", short=("svc",), cats=ALL, subs=(status_sub("Service"),),
       verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    # apps/v1
    _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _r("apps", "v1", "DaemonSet", "daemonsets", short=("ds",), cats=ALL, subs=(status_sub("DaemonSet"),)),
    _r("apps", "v1", "Deployment", "deployments", short=("deploy",), cats=ALL,
       subs=(SCALE, status_sub("Deployment"))),
    _r("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), cats=ALL,
       subs=(SCALE, status_sub("ReplicaSet"))),
    _r("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), cats=ALL,
       subs=(SCALE, status_sub("StatefulSet"))),
    # events.k8s.io/v1 (same storage as core events)
    _r("events.k8s.io", "v1", "Event", "events", short=("ev",), model="EventsV1Event", storage_group=""),
    # autoscaling: v2 preferred, v1 served from the same storage
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",), cats=ALL,
       subs=(status_sub("HorizontalPodAutoscaler"),)),
    _r("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",), cats=ALL,
       subs=(status_sub("HorizontalPodAutoscaler"),), preferred=False),
    # batch/v1
    _r("batch", "v1", "CronJob", "cronjobs", short=("cj",), cats=ALL, subs=(status_sub("CronJob"),)),
    _r("batch", "v1", "Job", "jobs", cats=ALL, subs=(status_sub("Job"),)),
    # networking.k8s.io/v1
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",), subs=(status_sub("Ingress"),)),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
    # policy/v1
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",),
       subs=(status_sub("PodDisruptionBudget"),)),
    # rbac.authorization.k8s.io/v1
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    # storage.k8s.io/v1
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    # apiextensions.k8s.io/v1
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
       ("crd", "crds"), cats=("api-extensions",), subs=(status_sub("CustomResourceDefinition"),)),
    # scheduling.k8s.io/v1
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    # coordination.k8s.io/v1
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    # discovery.k8s.io/v1
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    # review "resources": created and answered, never stored (kubectl auth whoami / can-i)
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=("create",)),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
       verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
       verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=("create",)),
)

# Order of groups in discovery, as kube-apiserver lists them.
GROUP_ORDER = (
    "", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch",
    "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "apiextensions.k8s.io",
    "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
)


@dataclass
class ResourceRegistry:
    """All served resource types; custom resources come and go with their CRDs. Thread-safe for readers."""

    _types: list[ResourceType] = field(default_factory=lambda: list(BUILTIN))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0  # bumped on every change, so discovery caches know to rebuild

    def all(self) -> list[ResourceType]:
        return list(self._types)

    def add(self, rt: ResourceType) -> None:
        with self._lock:
            self._types = [t for t in self._types
                           if not (t.group == rt.group and t.version == rt.version and t.plural == rt.plural)]
            self._types.append(rt)
            self.generation += 1

    def remove_group_resource(self, group: str, plural: str) -> None:
        with self._lock:
            self._types = [t for t in self._types if not (t.group == group and t.plural == plural)]
            self.generation += 1

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        for t in self._types:
            if t.plural == plural and t.group == group and t.version == version:
                return t
        return None

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for t in self._types:
            if t.kind == kind and t.group == group and t.version == version:
                return t
        return None

    def by_api_version_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_kind(group, version, kind)

    def groups(self) -> list[tuple[str, list[str]]]:
        """[(group, [versions, preferred first])] in discovery order."""
        seen: dict[str, list[str]] = {}
        for t in self._types:
            vs = seen.setdefault(t.group, [])
            if t.version not in vs:
                if t.preferred:
                    vs.insert(0, t.version)
                else:
                    vs.append(t.version)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        return sorted(seen.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]
