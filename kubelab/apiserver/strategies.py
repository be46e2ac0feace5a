"""Per-kind facts the generic registry needs (mirrors the ``*Strategy`` types in kubernetes pkg/registry/...).

Which kinds track ``metadata.generation``, which keep their status away from main-resource writes, what status a
new object starts with, and what a delete returns. Data, so the generic registry stays one code path.
"""

from __future__ import annotations

from typing import Any

from kubelab.api.resources import ResourceType

# Kinds whose metadata.generation starts at 1 and is bumped on every spec change.
GENERATION_KINDS = frozenset({
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "Ingress", "CustomResourceDefinition", "IngressClass", "PriorityClass",
})

# Kinds whose status is reset when created (PrepareForCreate clears it); value: the status they start with.
INITIAL_STATUS: dict[str, dict[str, Any]] = {
    "Deployment": {}, "ReplicaSet": {"replicas": 0}, "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    "Job": {}, "CronJob": {}, "Service": {"loadBalancer": {}}, "HorizontalPodAutoscaler": {"desiredReplicas": 0},
    "PodDisruptionBudget": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
    "Ingress": {"loadBalancer": {}}, "PersistentVolumeClaim": {"phase": "Pending"},
    "PersistentVolume": {"phase": "Pending"}, "Pod": {"phase": "Pending"},
}

# Deletes that answer with the deleted object rather than a Status (ReturnDeletedObject in upstream stores).
RETURNS_DELETED_OBJECT = frozenset({"Pod", "Service", "Namespace", "Node", "PersistentVolume",
                                    "PersistentVolumeClaim", "CustomResourceDefinition"})


def tracks_generation(rt: ResourceType) -> bool:
    return rt.custom or rt.kind in GENERATION_KINDS


def initial_status(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The status a newly created object starts with, or None to keep what the client sent."""
    if rt.custom:
        return {} if rt.has_status else None
    st = INITIAL_STATUS.get(rt.kind)
    return dict(st) if st is not None else None


def spec_changed(rt: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Did anything besides metadata and status change (what bumps metadata.generation)."""
    keys = (set(new) | set(old)) - {"metadata", "status", "apiVersion", "kind"}
    return any(new.get(k) != old.get(k) for k in keys)
