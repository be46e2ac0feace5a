"""Object validation as kube-apiserver's registry strategies run it: validate_create and validate_update.

Mirrors each resource's strategy Validate / ValidateUpdate in pkg/registry/*/*/strategy.go, which call the
pkg/apis/*/validation functions ported in the modules of this package (core, apps, batch, other). Both
functions expect the object already defaulted (kubelab.api.defaults.apply_defaults) and, for Services, already
through allocation (kubelab.api.allocators), as upstream runs BeginCreate/BeginUpdate before validation. They
return the field errors in upstream order, with duplicate messages removed as field.ErrorList.ToAggregate
does; the caller turns a non-empty list into kubelab.api.errors.invalid(kind, group, name, errors).

Simplified: status subresource updates, admission-time checks and custom-resource schema validation are out of
scope; a kind without rules here gets the generic ObjectMeta checks (DNS-subdomain name).
"""

from __future__ import annotations

from collections.abc import Callable

from kubelab.api.errors import FieldError
from kubelab.api.resources import ResourceType
from kubelab.api.validation import apps, batch, core, other
from kubelab.api.validation import names as names
from kubelab.api.validation.meta import Obj, validate_object_meta, validate_object_meta_update

CreateFn = Callable[[Obj], list[FieldError]]
UpdateFn = Callable[[Obj, Obj], list[FieldError]]

_RBAC = "rbac.authorization.k8s.io"

_CREATE: dict[tuple[str, str], CreateFn] = {
    ("", "Pod"): core.validate_pod_create,
    ("", "PodTemplate"): core.validate_pod_template,
    ("", "Service"): core.validate_service,
    ("", "ConfigMap"): core.validate_config_map,
    ("", "Secret"): core.validate_secret,
    ("", "ServiceAccount"): core.validate_service_account,
    ("", "Namespace"): core.validate_namespace,
    ("", "Node"): core.validate_node,
    ("", "PersistentVolumeClaim"): core.validate_pvc,
    ("", "PersistentVolume"): core.validate_pv,
    ("", "Endpoints"): core.validate_endpoints,
    ("", "LimitRange"): core.validate_limit_range,
    ("", "ResourceQuota"): core.validate_resource_quota,
    ("", "Event"): core.validate_event,
    ("apps", "Deployment"): apps.validate_deployment,
    ("apps", "ReplicaSet"): apps.validate_replica_set,
    ("apps", "StatefulSet"): apps.validate_statefulset,
    ("apps", "DaemonSet"): apps.validate_daemonset,
    ("apps", "ControllerRevision"): apps.validate_controller_revision,
    ("batch", "Job"): batch.validate_job,
    ("batch", "CronJob"): batch.validate_cronjob,
    (_RBAC, "Role"): lambda o: other.validate_role(o, True),
    (_RBAC, "ClusterRole"): lambda o: other.validate_role(o, False),
    (_RBAC, "RoleBinding"): lambda o: other.validate_binding(o, True),
    (_RBAC, "ClusterRoleBinding"): lambda o: other.validate_binding(o, False),
    ("policy", "PodDisruptionBudget"): other.validate_pdb,
    ("storage.k8s.io", "StorageClass"): other.validate_storage_class,
    ("scheduling.k8s.io", "PriorityClass"): other.validate_priority_class,
    ("coordination.k8s.io", "Lease"): other.validate_lease,
    ("networking.k8s.io", "Ingress"): other.validate_ingress,
    ("networking.k8s.io", "IngressClass"): other.validate_ingress_class,
    ("networking.k8s.io", "NetworkPolicy"): other.validate_network_policy,
    ("discovery.k8s.io", "EndpointSlice"): other.validate_endpoint_slice,
    ("autoscaling", "HorizontalPodAutoscaler"): other.validate_hpa,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): other.validate_crd,
    ("events.k8s.io", "Event"): core.validate_event,
}


def _meta_then(create: CreateFn) -> UpdateFn:
    """The common pattern: ObjectMetaUpdate, then the full create validation of the new object."""

    def fn(new: Obj, old: Obj) -> list[FieldError]:
        return validate_object_meta_update(new, old) + create(new)

    return fn


_UPDATE: dict[tuple[str, str], UpdateFn] = {
    ("", "Pod"): core.validate_pod_update,
    ("", "PodTemplate"): core.validate_pod_template_update,
    ("", "Service"): core.validate_service_update,
    ("", "ConfigMap"): core.validate_config_map_update,
    ("", "Secret"): core.validate_secret_update,
    ("", "ServiceAccount"): _meta_then(core.validate_service_account),
    ("", "Namespace"): core.validate_namespace_update,
    ("", "Node"): core.validate_node_update,
    ("", "PersistentVolumeClaim"): core.validate_pvc_update,
    ("", "PersistentVolume"): core.validate_pv_update,
    ("", "Endpoints"): _meta_then(core.validate_endpoints),
    ("", "LimitRange"): _meta_then(core.validate_limit_range),
    ("", "ResourceQuota"): _meta_then(core.validate_resource_quota),
    ("", "Event"): _meta_then(core.validate_event),
    ("apps", "Deployment"): apps.validate_deployment_update,
    ("apps", "ReplicaSet"): apps.validate_replica_set_update,
    ("apps", "StatefulSet"): apps.validate_statefulset_update,
    ("apps", "DaemonSet"): apps.validate_daemonset_update,
    ("apps", "ControllerRevision"): apps.validate_controller_revision_update,
    ("batch", "Job"): batch.validate_job_update,
    ("batch", "CronJob"): batch.validate_cronjob_update,
    (_RBAC, "Role"): lambda nw, od: other.validate_role_update(nw, od, True),
    (_RBAC, "ClusterRole"): lambda nw, od: other.validate_role_update(nw, od, False),
    (_RBAC, "RoleBinding"): lambda nw, od: other.validate_binding_update(nw, od, True),
    (_RBAC, "ClusterRoleBinding"): lambda nw, od: other.validate_binding_update(nw, od, False),
    ("policy", "PodDisruptionBudget"): other.validate_pdb_update,
    ("storage.k8s.io", "StorageClass"): other.validate_storage_class_update,
    ("scheduling.k8s.io", "PriorityClass"): other.validate_priority_class_update,
    ("coordination.k8s.io", "Lease"): other.validate_lease_update,
    ("networking.k8s.io", "Ingress"): other.validate_ingress_update,
    ("networking.k8s.io", "IngressClass"): other.validate_ingress_class_update,
    ("networking.k8s.io", "NetworkPolicy"): other.validate_network_policy_update,
    ("discovery.k8s.io", "EndpointSlice"): other.validate_endpoint_slice_update,
    ("autoscaling", "HorizontalPodAutoscaler"): other.validate_hpa_update,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): other.validate_crd_update,
    ("events.k8s.io", "Event"): _meta_then(core.validate_event),
}


def _dedupe(errs: list[FieldError]) -> list[FieldError]:
    """field.ErrorList.ToAggregate drops errors whose message repeats an earlier one."""
    seen: set[str] = set()
    out: list[FieldError] = []
    for e in errs:
        msg = str(e)
        if msg not in seen:
            seen.add(msg)
            out.append(e)
    return out


def validate_create(rt: ResourceType, obj: Obj, *, loopback_endpoints: bool = False) -> list[FieldError]:
    """The field errors kube-apiserver reports when creating obj (already defaulted), [] when valid.
    ``loopback_endpoints`` lets Endpoints carry 127.0.0.0/8 addresses (process-runtime clusters)."""
    if loopback_endpoints and (rt.group, rt.kind) == ("", "Endpoints"):
        return _dedupe(core.validate_endpoints(obj, allow_loopback=True))
    if rt.custom:
        return _dedupe(other.validate_custom_resource(obj, rt.namespaced))
    fn = _CREATE.get((rt.group, rt.kind))
    if fn is None:
        return _dedupe(validate_object_meta(obj, rt.namespaced, names.name_is_dns_subdomain))
    return _dedupe(fn(obj))


def validate_update(rt: ResourceType, new: Obj, old: Obj, *, loopback_endpoints: bool = False) -> list[FieldError]:
    """The field errors for replacing old with new (both defaulted), including immutability rules."""
    if loopback_endpoints and (rt.group, rt.kind) == ("", "Endpoints"):
        return _dedupe(validate_object_meta_update(new, old) + core.validate_endpoints(new, allow_loopback=True))
    if rt.custom:
        return _dedupe(other.validate_custom_resource_update(new, old))
    fn = _UPDATE.get((rt.group, rt.kind))
    if fn is None:
        return _dedupe(validate_object_meta_update(new, old))
    return _dedupe(fn(new, old))


__all__ = ["validate_create", "validate_update", "names"]
