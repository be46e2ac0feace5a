"""Merge facts of the built-in types: the part of the Go struct tags the Python client models do not carry.

Mirrors the markers in kubernetes/kubernetes ``staging/src/k8s.io/api/*/types.go`` (and apimachinery's metav1):

* ``patchStrategy:"merge" patchMergeKey:"name"`` (``+patchStrategy``/``+patchMergeKey``): how a list merges under
  strategic merge patch. Every list not listed here is replaced whole by a strategic merge patch.
* ``+listType=map|set|atomic`` and ``+listMapKey=...``: how server-side apply (structured-merge-diff) treats a list.
  When a list has no ``+listType``, the OpenAPI conversion derives it from the patch strategy (merge with a key:
  associative on that key; merge without a key: set; otherwise atomic), so only lists whose SSA shape differs from
  that default carry an explicit ``list_type``/``list_keys`` here.
* ``+structType=atomic``: structs server-side apply owns and replaces as a whole.

The strategic-merge facts were checked against kubectl's own implementation (``kubectl patch --local``, which uses
the Go struct tags compiled into kubectl v1.37) for every list field reachable from the built-in kinds; see
``tests/api/test_patch_strategic.py``. Keys are (client model class name, wire field name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListFact:
    strategy: str = ""  # "merge" or "" (replace)
    merge_key: str = ""  # patchMergeKey ("" for a merged list of scalars)
    list_type: str = ""  # explicit +listType when it differs from the strategy's default
    list_keys: tuple[str, ...] = ()  # explicit +listMapKey values when they differ from (merge_key,)


def _merge(key: str = "", list_type: str = "", keys: tuple[str, ...] = ()) -> ListFact:
    return ListFact("merge", key, list_type, keys)


_BY_NAME = _merge("name")
_BY_TYPE = _merge("type")
_BY_IP = _merge("ip")

_CONTAINER_LISTS = {
    "env": _BY_NAME,
    "ports": _merge("containerPort", "map", ("containerPort", "protocol")),
    "volumeDevices": _merge("devicePath"),
    "volumeMounts": _merge("mountPath"),
}

LIST_FACTS: dict[tuple[str, str], ListFact] = {
    # meta/v1
    ("V1ObjectMeta", "finalizers"): _merge(),
    ("V1ObjectMeta", "ownerReferences"): _merge("uid"),
    # core/v1 pods
    ("V1PodSpec", "containers"): _BY_NAME,
    ("V1PodSpec", "initContainers"): _BY_NAME,
    ("V1PodSpec", "ephemeralContainers"): _BY_NAME,
    ("V1PodSpec", "evictionResponders"): _BY_NAME,
    ("V1PodSpec", "imagePullSecrets"): _BY_NAME,
    ("V1PodSpec", "resourceClaims"): _BY_NAME,
    ("V1PodSpec", "schedulingGates"): _BY_NAME,
    ("V1PodSpec", "volumes"): _BY_NAME,  # patchStrategy "merge,retainKeys"
    ("V1PodSpec", "hostAliases"): _BY_IP,
    ("V1PodSpec", "topologySpreadConstraints"): _merge("topologyKey", "map", ("topologyKey", "whenUnsatisfiable")),
    ("V1PodStatus", "conditions"): _BY_TYPE,
    ("V1PodStatus", "podIPs"): _BY_IP,
    ("V1PodStatus", "hostIPs"): _BY_IP,
    ("V1PodStatus", "resourceClaimStatuses"): _BY_NAME,
    ("V1PodStatus", "nodeAllocatableResourceClaimStatuses"): _merge("resourceClaimName"),
    ("V1NodeAllocatableResourceClaimStatus", "mapping"): _BY_NAME,
    ("V1NodeAllocatableResourceClaimStatus", "overhead"): _BY_NAME,
    ("V1VolumeHealthStatus", "healthConditions"): _merge("status"),
    **{("V1Container", f): fact for f, fact in _CONTAINER_LISTS.items()},
    **{("V1EphemeralContainer", f): fact for f, fact in _CONTAINER_LISTS.items()},
    ("V1ResourceRequirements", "claims"): ListFact("", "", "map", ("name",)),
    # core/v1 others
    ("V1ServiceSpec", "ports"): _merge("port", "map", ("port", "protocol")),
    ("V1ServiceStatus", "conditions"): _BY_TYPE,
    ("V1ServiceAccount", "secrets"): _BY_NAME,
    ("V1NamespaceStatus", "conditions"): _BY_TYPE,
    ("V1NodeSpec", "podCIDRs"): _merge(),
    ("V1NodeStatus", "addresses"): _merge("type", "atomic"),
    ("V1NodeStatus", "conditions"): _BY_TYPE,
    ("V1PersistentVolumeClaimStatus", "conditions"): _BY_TYPE,
    ("V1ReplicationControllerStatus", "conditions"): _BY_TYPE,
    # apps/v1
    ("V1DeploymentStatus", "conditions"): _BY_TYPE,
    ("V1DaemonSetStatus", "conditions"): _BY_TYPE,
    ("V1ReplicaSetStatus", "conditions"): _BY_TYPE,
    ("V1StatefulSetStatus", "conditions"): _BY_TYPE,
    # batch/v1
    ("V1JobStatus", "conditions"): _merge("type", "atomic"),
    ("V1JobSchedulingConfiguration", "resourceClaims"): _BY_NAME,
    # autoscaling/v2, policy/v1
    ("V2HorizontalPodAutoscalerStatus", "conditions"): _BY_TYPE,
    ("V1PodDisruptionBudgetStatus", "conditions"): _BY_TYPE,
    # apiextensions.k8s.io/v1 (no patch tags: strategic merge patch replaces these lists)
    ("V1CustomResourceDefinitionStatus", "conditions"): ListFact("", "", "map", ("type",)),
}

# Structs marked +structType=atomic: server-side apply owns and replaces them whole.
ATOMIC_STRUCTS: frozenset[str] = frozenset({
    "V1LabelSelector",
    "V1NodeSelector",
    "V1NodeSelectorTerm",
    "V1TopologySelectorTerm",
    "V1ObjectReference",
    "V1LocalObjectReference",
    "V1TypedLocalObjectReference",
    "V1ConfigMapKeySelector",
    "V1SecretKeySelector",
    "V1ObjectFieldSelector",
    "V1ResourceFieldSelector",
    "V1SecretReference",
    "V1RoleRef",
})

# Default values of list-map keys, used when an applied item leaves a key out (the OpenAPI schema's default).
LIST_KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}

# Struct fields present in the Go zero value of their parent (non-pointer structs, and slices without omitempty).
# Server-side apply compares an update against the old object; a Go object always carries these, so adding
# content under them never makes the field itself "added" (no "." entry for it in managedFields).
ZERO_VALUE_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("*", "metadata"),
    ("*", "spec"),
    ("*", "status"),
    ("V1DeploymentSpec", "template"),
    ("V1DeploymentSpec", "strategy"),
    ("V1StatefulSetSpec", "template"),
    ("V1StatefulSetSpec", "updateStrategy"),
    ("V1DaemonSetSpec", "template"),
    ("V1DaemonSetSpec", "updateStrategy"),
    ("V1ReplicaSetSpec", "template"),
    ("V1JobSpec", "template"),
    ("V1CronJobSpec", "jobTemplate"),
    ("V1PodTemplate", "template"),
    ("V1PodSpec", "containers"),
    ("V1Container", "resources"),
    ("V1EphemeralContainer", "resources"),
    ("V1PersistentVolumeClaimSpec", "resources"),
    ("V1ServiceStatus", "loadBalancer"),
    ("V1IngressStatus", "loadBalancer"),
    ("V1NodeStatus", "daemonEndpoints"),
    ("V1NodeDaemonEndpoints", "kubeletEndpoint"),
    ("V1NodeStatus", "nodeInfo"),
    ("V1NetworkPolicySpec", "podSelector"),
    ("V1RoleBinding", "roleRef"),
    ("V1ClusterRoleBinding", "roleRef"),
    ("CoreV1Event", "involvedObject"),
    ("CoreV1Event", "source"),
    ("V2HorizontalPodAutoscalerSpec", "scaleTargetRef"),
    ("V1HorizontalPodAutoscalerSpec", "scaleTargetRef"),
    ("V1CustomResourceDefinitionSpec", "names"),
    ("V1CustomResourceDefinitionStatus", "acceptedNames"),
})
