"""Validation of core/v1 kinds: Pod (and every embedded PodSpec), Service, ConfigMap, Secret, Namespace, Node,
PersistentVolume(Claim), Endpoints, ServiceAccount, LimitRange, ResourceQuota, PodTemplate, Event.

Mirrors pkg/apis/core/validation/validation.go (ValidatePodCreate, ValidatePodSpec, validateContainers,
ValidateVolumes, ValidateEnv, validateContainerPorts, validateResourceRequirements, ValidateTolerations,
ValidatePodUpdate, ValidateService, ValidateServiceClusterIPsRelatedFields,
validateUpgradeDowngradeClusterIPs, ValidateConfigMap(Update), ValidateSecret(Update), ValidateNamespace,
ValidateNode(Update), ValidatePersistentVolume(Claim)(Update), ValidateEndpoints, ...), walking our JSON dicts
instead of internal Go structs and emitting the same field paths and detail texts, in the same order.

Simplified: the exotic volume plugins are only counted (their inner fields are not checked), AppArmor/seccomp
annotations, Windows options, resource claims, sysctls and pod-level resources are not validated, the "pod
updates may not change fields" diff is a compact field list rather than go-cmp's rendering, and Go's random
map order is replaced by sorted keys.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from kubelab.api.errors import FieldError
from kubelab.api.validation import names as n
from kubelab.api.validation.meta import (
    FIELD_IMMUTABLE,
    IS_NEGATIVE,
    Obj,
    Rendered,
    child,
    d,
    dd,
    duplicate,
    forbidden,
    immutable,
    index,
    invalid,
    jv,
    key,
    ll,
    nonnegative,
    normalized,
    not_found,
    not_supported,
    required,
    s,
    semantic_equal,
    too_long,
    validate_annotations,
    validate_label_name,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelab.api.validation.quantity import parse_quantity

MAX_INT32 = 2**31 - 1
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
MAX_SECRET_SIZE = 1024 * 1024

SUPPORTED_PORT_PROTOCOLS = ("SCTP", "TCP", "UDP")  # sets.List order (sorted)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


# ------------------------------------------------------------------------------------------------------------
# volumes
# ------------------------------------------------------------------------------------------------------------

# validateVolumeSource checks the sources in this order; the second name is the path it reports
# "more than 1" on.
_VOLUME_SOURCES = (
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
)

_HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)


def _validate_path_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def _validate_local_descending_path(target: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if target.startswith("/"):
        errs.append(invalid(path, target, "must be a relative path"))
    return errs + _validate_path_no_backsteps(target, path)


def _validate_local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = _validate_local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid(path, target, "must not start with '..'"))
    return errs


def _validate_mode(mode: Any, path: str) -> list[FieldError]:
    m = _int(mode)
    if m is not None and (m > 0o777 or m < 0):
        return [invalid(path, m, FILE_MODE_ERROR)]
    return []


def _validate_key_to_path(kp: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not s(kp, "key"):
        errs.append(required(child(path, "key")))
    if not s(kp, "path"):
        errs.append(required(child(path, "path")))
    errs.extend(_validate_local_non_reserved_path(s(kp, "path"), child(path, "path")))
    errs.extend(_validate_mode(d(kp, "mode"), child(path, "mode")))
    return errs


def _validate_volume_source(vol: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    for field_name, forbid_name in _VOLUME_SOURCES:
        src = vol.get(field_name)
        if src is None:
            continue
        if count > 0:
            errs.append(forbidden(child(path, forbid_name), "may not specify more than 1 volume type"))
            continue
        count += 1
        p = child(path, field_name)
        if field_name == "emptyDir":
            q = parse_quantity(d(src, "sizeLimit"))
            if q is not None and q.value < 0:
                errs.append(
                    forbidden(child(p, "sizeLimit"), "SizeLimit field must be a valid resource quantity")
                )
        elif field_name == "hostPath":
            if not s(src, "path"):
                errs.append(required(child(p, "path")))
            else:
                errs.extend(_validate_path_no_backsteps(s(src, "path"), child(p, "path")))
                t = d(src, "type")
                if t is not None and t not in _HOST_PATH_TYPES:
                    errs.append(not_supported(child(p, "type"), t, _HOST_PATH_TYPES))
        elif field_name == "secret":
            if not s(src, "secretName"):
                errs.append(required(child(p, "secretName")))
            errs.extend(_validate_mode(d(src, "defaultMode"), child(p, "defaultMode")))
            for i, kp in enumerate(ll(src, "items")):
                errs.extend(_validate_key_to_path(kp, index(child(p, "items"), i)))
        elif field_name == "configMap":
            if not s(src, "name"):
                errs.append(required(child(p, "name")))
            errs.extend(_validate_mode(d(src, "defaultMode"), child(p, "defaultMode")))
            for i, kp in enumerate(ll(src, "items")):
                errs.extend(_validate_key_to_path(kp, index(child(p, "items"), i)))
        elif field_name == "persistentVolumeClaim":
            if not s(src, "claimName"):
                errs.append(required(child(p, "claimName")))
        elif field_name == "nfs":
            if not s(src, "server"):
                errs.append(required(child(p, "server")))
            if not s(src, "path"):
                errs.append(required(child(p, "path")))
            if not s(src, "path").startswith("/"):
                errs.append(invalid(child(p, "path"), s(src, "path"), "must be an absolute path"))
        elif field_name == "downwardAPI":
            errs.extend(_validate_mode(d(src, "defaultMode"), child(p, "defaultMode")))
            for item in ll(src, "items"):
                errs.extend(_validate_downward_api_file(item, p))
        elif field_name == "projected":
            errs.extend(_validate_mode(d(src, "defaultMode"), child(p, "defaultMode")))
        elif field_name == "csi":
            if not s(src, "driver"):
                errs.append(required(child(p, "driver")))
        elif field_name == "ephemeral":
            if d(src, "volumeClaimTemplate") is None:
                errs.append(required(child(p, "volumeClaimTemplate")))
    if count == 0:
        errs.append(required(path, "must specify a volume type"))
    return errs


_VOLUME_DOWNWARD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
)


def _validate_downward_api_file(item: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not s(item, "path"):
        errs.append(required(child(path, "path")))
    errs.extend(_validate_local_non_reserved_path(s(item, "path"), child(path, "path")))
    if d(item, "fieldRef") is not None:
        errs.extend(
            _validate_object_field_selector(
                dd(item, "fieldRef"), _VOLUME_DOWNWARD_PATHS, child(path, "fieldRef")
            )
        )
        if d(item, "resourceFieldRef") is not None:
            errs.append(
                invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously")
            )
    elif d(item, "resourceFieldRef") is None:
        errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
    errs.extend(_validate_mode(d(item, "mode"), child(path, "mode")))
    return errs


def validate_volumes(volumes: list[Any], path: str) -> tuple[dict[str, Obj], list[FieldError]]:
    """ValidateVolumes: returns the good volumes by name (only those without errors count for mounts)."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    good: dict[str, Obj] = {}
    for i, vol in enumerate(volumes):
        vol = vol if isinstance(vol, dict) else {}
        ip = index(path, i)
        name_path = child(ip, "name")
        el = _validate_volume_source(vol, ip)
        name = s(vol, "name")
        if not name:
            el.append(required(name_path))
        else:
            el.extend(invalid(name_path, name, m) for m in n.is_dns1123_label(name))
        if name in seen:
            el.append(duplicate(name_path, name))
        if not el:
            seen.add(name)
            good[name] = vol
        else:
            errs.extend(el)
    return good, errs


# ------------------------------------------------------------------------------------------------------------
# containers
# ------------------------------------------------------------------------------------------------------------


def _validate_container_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        ip = index(path, i)
        name = s(port, "name")
        if name:
            msgs = n.is_valid_port_name(name)
            if msgs:
                errs.extend(invalid(child(ip, "name"), name, m) for m in msgs)
            elif name in names:
                errs.append(duplicate(child(ip, "name"), name))
            else:
                names.add(name)
        cp = _int(d(port, "containerPort")) or 0
        if cp == 0:
            errs.append(required(child(ip, "containerPort")))
        else:
            errs.extend(invalid(child(ip, "containerPort"), cp, m) for m in n.is_valid_port_num(cp))
        hp = _int(d(port, "hostPort")) or 0
        if hp != 0:
            errs.extend(invalid(child(ip, "hostPort"), hp, m) for m in n.is_valid_port_num(hp))
        proto = s(port, "protocol")
        if not proto:
            errs.append(required(child(ip, "protocol")))
        elif proto not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(not_supported(child(ip, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
    return errs


_ENV_DOWNWARD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
_RESOURCE_FIELD_PATHS = (
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
)


def _validate_object_field_selector(fs: Obj, valid: tuple[str, ...], path: str) -> list[FieldError]:
    if not s(fs, "apiVersion"):
        return [required(child(path, "apiVersion"))]
    fp = s(fs, "fieldPath")
    if not fp:
        return [required(child(path, "fieldPath"))]
    if s(fs, "apiVersion") != "v1":
        return [
            invalid(
                child(path, "fieldPath"),
                fp,
                f"error converting fieldPath: unsupported pod version: {s(fs, 'apiVersion')}",
            )
        ]
    if "[" in fp and fp.endswith("]"):
        base, _, sub = fp[:-1].partition("[")
        sub = sub.strip("'\"")
        if base == "metadata.annotations":
            return validate_label_name(sub.lower(), path)
        if base == "metadata.labels":
            return validate_label_name(sub, path)
        return [invalid(path, base, "does not support subscript")]
    if fp not in valid:
        return [not_supported(child(path, "fieldPath"), fp, valid)]
    return []


def _validate_key_selector(sel: Obj, path: str) -> list[FieldError]:
    errs = [
        invalid(child(path, "name"), s(sel, "name"), m)
        for m in n.name_is_dns_subdomain(s(sel, "name"), False)
    ]
    k = s(sel, "key")
    if not k:
        errs.append(required(child(path, "key")))
    else:
        errs.extend(invalid(child(path, "key"), k, m) for m in n.is_config_map_key(k))
    return errs


def _validate_env(env: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(env):
        ip = index(path, i)
        name = s(ev, "name")
        if not name:
            errs.append(required(child(ip, "name")))
        else:
            errs.extend(invalid(child(ip, "name"), name, m) for m in n.is_relaxed_env_var_name(name))
        vf = d(ev, "valueFrom")
        if not isinstance(vf, dict):
            continue
        vp = child(ip, "valueFrom")
        count = 0
        if vf.get("fieldRef") is not None:
            count += 1
            errs.extend(
                _validate_object_field_selector(
                    dd(vf, "fieldRef"), _ENV_DOWNWARD_PATHS, child(vp, "fieldRef")
                )
            )
        if vf.get("resourceFieldRef") is not None:
            count += 1
            res = s(vf, "resourceFieldRef", "resource")
            rp = child(vp, "resourceFieldRef")
            if not res:
                errs.append(required(child(rp, "resource")))
            elif res not in _RESOURCE_FIELD_PATHS and not res.startswith(
                ("requests.hugepages-", "limits.hugepages-")
            ):
                errs.append(not_supported(child(rp, "resource"), res, _RESOURCE_FIELD_PATHS))
        if vf.get("configMapKeyRef") is not None:
            count += 1
            errs.extend(_validate_key_selector(dd(vf, "configMapKeyRef"), child(vp, "configMapKeyRef")))
        if vf.get("secretKeyRef") is not None:
            count += 1
            errs.extend(_validate_key_selector(dd(vf, "secretKeyRef"), child(vp, "secretKeyRef")))
        if count == 0:
            errs.append(
                invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                    "or `secretKeyRef`",
                )
            )
        elif s(ev, "value"):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif count > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _validate_env_from(env_from: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(env_from):
        ip = index(path, i)
        prefix = s(ev, "prefix")
        if prefix:
            errs.extend(invalid(child(ip, "prefix"), prefix, m) for m in n.is_relaxed_env_var_name(prefix))
        count = 0
        for src in ("configMapRef", "secretRef"):
            if d(ev, src) is None:
                continue
            count += 1
            name = s(ev, src, "name")
            np = child(ip, src, "name")
            if not name:
                errs.append(required(np))
            else:
                errs.extend(invalid(np, name, m) for m in n.name_is_dns_subdomain(name, True))
        if count == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _validate_volume_mounts(mounts: list[Any], volumes: dict[str, Obj], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    mount_points: set[str] = set()
    for i, mnt in enumerate(mounts):
        ip = index(path, i)
        name = s(mnt, "name")
        if not name:
            errs.append(required(child(ip, "name")))
        if name not in volumes:
            errs.append(not_found(child(ip, "name"), name))
        mp = s(mnt, "mountPath")
        if not mp:
            errs.append(required(child(ip, "mountPath")))
        if mp in mount_points:
            errs.append(invalid(child(ip, "mountPath"), mp, "must be unique"))
        mount_points.add(mp)
        # upstream reports these two on the list path, not the item path
        if s(mnt, "subPath"):
            errs.extend(_validate_local_descending_path(s(mnt, "subPath"), child(path, "subPath")))
        if s(mnt, "subPathExpr"):
            if s(mnt, "subPath"):
                errs.append(
                    invalid(
                        child(ip, "subPathExpr"),
                        s(mnt, "subPathExpr"),
                        "subPathExpr and subPath are mutually exclusive",
                    )
                )
            errs.extend(_validate_local_descending_path(s(mnt, "subPathExpr"), child(path, "subPathExpr")))
        prop = d(mnt, "mountPropagation")
        if prop is not None and prop not in ("Bidirectional", "HostToContainer", "None"):
            errs.append(
                not_supported(
                    child(path, "mountPropagation"), prop, ("Bidirectional", "HostToContainer", "None")
                )
            )
    return errs


_STANDARD_RESOURCES = {
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
    "storage",
    "requests.storage",
}


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not _is_hugepages(name)


def _validate_container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, m) for m in n.is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name:
        if (
            name not in _STANDARD_RESOURCES
            and not _is_hugepages(name)
            and not name.startswith("requests.hugepages-")
        ):
            errs.append(invalid(path, name, "must be a standard resource type or fully qualified"))
        if name not in ("cpu", "memory", "ephemeral-storage") and not _is_hugepages(name):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and name.startswith("requests."):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def validate_resource_requirements(res: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    limits = dd(res, "limits")
    requests = dd(res, "requests")
    lim_cpu_mem = req_cpu_mem = lim_huge = req_huge = False
    for name in sorted(limits):
        fp = key(lim_path, name)
        errs.extend(_validate_container_resource_name(name, fp))
        q = parse_quantity(limits[name])
        if q is not None and q.value < 0:
            errs.append(invalid(fp, str(q), IS_NEGATIVE))
        lim_huge = lim_huge or _is_hugepages(name)
        lim_cpu_mem = lim_cpu_mem or name in ("cpu", "memory")
    for name in sorted(requests):
        fp = key(req_path, name)
        errs.extend(_validate_container_resource_name(name, fp))
        q = parse_quantity(requests[name])
        if q is not None and q.value < 0:
            errs.append(invalid(fp, str(q), IS_NEGATIVE))
        lq = parse_quantity(limits.get(name)) if name in limits else None
        if name in limits:
            if q is not None and lq is not None:
                if q.value != lq.value and not _overcommit_allowed(name):
                    errs.append(invalid(req_path, str(q), f"must be equal to {name} limit of {lq}"))
                elif q.value > lq.value:
                    errs.append(
                        invalid(req_path, str(q), f"must be less than or equal to {name} limit of {lq}")
                    )
        elif not _overcommit_allowed(name):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
        req_huge = req_huge or _is_hugepages(name)
        req_cpu_mem = req_cpu_mem or name in ("cpu", "memory")
    if not lim_cpu_mem and not req_cpu_mem and (req_huge or lim_huge):
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


def _validate_port_num_or_name(port: Any, path: str) -> list[FieldError]:
    if isinstance(port, bool):
        return [invalid(path, jv(port), "must be an integer or a string")]
    if isinstance(port, int):
        return [invalid(path, port, m) for m in n.is_valid_port_num(port)]
    if isinstance(port, str):
        return [invalid(path, port, m) for m in n.is_valid_port_name(port)]
    return [invalid(path, 0, m) for m in n.is_valid_port_num(0)]


def _validate_handler(h: Obj, grace: int | None, path: str, probe: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    count = 0
    kinds = ("exec", "httpGet", "tcpSocket", "grpc") if probe else ("exec", "httpGet", "tcpSocket", "sleep")
    for kind in kinds:
        v = h.get(kind)
        if v is None:
            continue
        if count > 0:
            errs.append(forbidden(child(path, kind), "may not specify more than 1 handler type"))
            continue
        count += 1
        p = child(path, kind)
        if kind == "exec":
            if not ll(v, "command"):
                errs.append(required(child(p, "command")))
        elif kind == "httpGet":
            if not s(v, "path"):
                errs.append(required(child(p, "path")))
            errs.extend(_validate_port_num_or_name(d(v, "port"), child(p, "port")))
            scheme = s(v, "scheme")
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(child(p, "scheme"), scheme, ("HTTP", "HTTPS")))
            for hdr in ll(v, "httpHeaders"):
                errs.extend(
                    invalid(child(p, "httpHeaders"), s(hdr, "name"), m)
                    for m in n.is_http_header_name(s(hdr, "name"))
                )
        elif kind == "tcpSocket":
            errs.extend(_validate_port_num_or_name(d(v, "port"), child(p, "port")))
        elif kind == "grpc":
            errs.extend(_validate_port_num_or_name(_int(d(v, "port")) or 0, child(p, "port")))
        elif kind == "sleep":
            secs = _int(d(v, "seconds")) or 0
            if grace is not None and (secs < 0 or secs > grace):
                errs.append(
                    invalid(
                        p, secs, f"must be non-negative and less than terminationGracePeriodSeconds ({grace})"
                    )
                )
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _validate_probe(probe: Any, grace: int | None, path: str, kind: str) -> list[FieldError]:
    if not isinstance(probe, dict):
        return []
    errs = _validate_handler(probe, grace, path, True)
    for f in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs.extend(nonnegative(child(path, f), probe.get(f)))
    tgps = _int(probe.get("terminationGracePeriodSeconds"))
    if tgps is not None and tgps <= 0:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0"))
    if kind in ("liveness", "startup") and probe.get("successThreshold", 1) != 1:
        errs.append(invalid(child(path, "successThreshold"), probe.get("successThreshold"), "must be 1"))
    if kind == "readiness" and tgps is not None:
        errs.append(
            invalid(child(path, "terminationGracePeriodSeconds"), tgps, "must not be set for readinessProbes")
        )
    return errs


def _validate_lifecycle(lc: Any, grace: int | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for hook in ("postStart", "preStop"):
        h = d(lc, hook)
        if isinstance(h, dict):
            errs.extend(_validate_handler(h, grace, child(path, hook), False))
    return errs


def _validate_security_context(sc: Any, path: str, host_users: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(sc, dict):
        return errs
    for f in ("runAsUser", "runAsGroup"):
        v = _int(sc.get(f))
        if v is not None:
            errs.extend(invalid(child(path, f), v, m) for m in n.is_valid_user_id(v))
    pm = sc.get("procMount")
    if pm is not None:
        if pm not in ("Default", "Unmasked"):
            errs.append(not_supported(child(path, "procMount"), pm, ("Default", "Unmasked")))
        if host_users and pm == "Unmasked":
            errs.append(invalid(child(path, "procMount"), pm, "`hostUsers` must be false to use `Unmasked`"))
    errs.extend(_validate_seccomp(sc.get("seccompProfile"), child(path, "seccompProfile")))
    if sc.get("allowPrivilegeEscalation") is False:
        if sc.get("privileged") is True:
            errs.append(
                invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
            )
        if "CAP_SYS_ADMIN" in ll(sc, "capabilities", "add"):
            errs.append(
                invalid(
                    path,
                    sc,
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                )
            )
    return errs


def _validate_seccomp(sp: Any, path: str) -> list[FieldError]:
    if not isinstance(sp, dict):
        return []
    errs: list[FieldError] = []
    t = s(sp, "type")
    if not t:
        errs.append(required(child(path, "type"), "type is required when seccompProfile is set"))
    elif t not in ("Localhost", "RuntimeDefault", "Unconfined"):
        errs.append(not_supported(child(path, "type"), t, ("Localhost", "RuntimeDefault", "Unconfined")))
    if t == "Localhost":
        if sp.get("localhostProfile") is None:
            errs.append(
                required(child(path, "localhostProfile"), "must be set when seccomp type is Localhost")
            )
        else:
            errs.extend(
                _validate_local_descending_path(s(sp, "localhostProfile"), child(path, "localhostProfile"))
            )
    elif sp.get("localhostProfile") is not None:
        errs.append(
            invalid(child(path, "localhostProfile"), sp, "can only be set when seccomp type is Localhost")
        )
    return errs


def _validate_container_common(
    c: Obj, volumes: dict[str, Obj], path: str, host_users: bool
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = s(c, "name")
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs.extend(invalid(child(path, "name"), name, m) for m in n.is_dns1123_label(name))
    if not s(c, "image"):
        errs.append(required(child(path, "image")))
    tmp = s(c, "terminationMessagePolicy")
    if not tmp:
        errs.append(required(child(path, "terminationMessagePolicy")))
    elif tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(
            not_supported(child(path, "terminationMessagePolicy"), tmp, ("File", "FallbackToLogsOnError"))
        )
    errs.extend(_validate_container_ports(ll(c, "ports"), child(path, "ports")))
    errs.extend(_validate_env(ll(c, "env"), child(path, "env")))
    errs.extend(_validate_env_from(ll(c, "envFrom"), child(path, "envFrom")))
    errs.extend(_validate_volume_mounts(ll(c, "volumeMounts"), volumes, child(path, "volumeMounts")))
    ipp = s(c, "imagePullPolicy")
    if not ipp:
        errs.append(required(child(path, "imagePullPolicy")))
    elif ipp not in ("Always", "IfNotPresent", "Never"):
        errs.append(not_supported(child(path, "imagePullPolicy"), ipp, ("Always", "IfNotPresent", "Never")))
    errs.extend(validate_resource_requirements(c.get("resources"), child(path, "resources")))
    errs.extend(
        _validate_security_context(c.get("securityContext"), child(path, "securityContext"), host_users)
    )
    return errs


def _host_port_conflicts(containers: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for ci, c in enumerate(containers):
        for pi, port in enumerate(ll(c, "ports")):
            hp = _int(d(port, "hostPort")) or 0
            if hp == 0:
                continue
            k = f"{s(port, 'protocol')}/{s(port, 'hostIP')}/{hp}"
            if k in seen:
                errs.append(duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), k))
            seen.add(k)
    return errs


def _validate_containers(
    containers: list[Any], volumes: dict[str, Obj], grace: int | None, path: str, host_users: bool
) -> list[FieldError]:
    if not containers:
        return [required(path)]
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, c in enumerate(containers):
        c = c if isinstance(c, dict) else {}
        p = index(path, i)
        errs.extend(_validate_container_common(c, volumes, p, host_users))
        name = s(c, "name")
        if name in names:
            errs.append(duplicate(child(p, "name"), name))
        else:
            names.add(name)
        if c.get("lifecycle") is not None:
            errs.extend(_validate_lifecycle(c.get("lifecycle"), grace, child(p, "lifecycle")))
        errs.extend(_validate_probe(c.get("livenessProbe"), grace, child(p, "livenessProbe"), "liveness"))
        errs.extend(_validate_probe(c.get("readinessProbe"), grace, child(p, "readinessProbe"), "readiness"))
        errs.extend(_validate_probe(c.get("startupProbe"), grace, child(p, "startupProbe"), "startup"))
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(child(p, "restartPolicy"), "may not be set for non-init containers"))
    errs.extend(_host_port_conflicts(containers, path))
    return errs


def _validate_init_containers(
    inits: list[Any],
    regular: list[Any],
    volumes: dict[str, Obj],
    grace: int | None,
    path: str,
    host_users: bool,
) -> list[FieldError]:
    errs: list[FieldError] = []
    names = {s(c, "name") for c in regular}
    for i, c in enumerate(inits):
        c = c if isinstance(c, dict) else {}
        p = index(path, i)
        errs.extend(_validate_container_common(c, volumes, p, host_users))
        rp = c.get("restartPolicy")
        always = rp == "Always"
        if rp is not None and rp != "Always":
            errs.append(not_supported(child(p, "restartPolicy"), rp, ("Always",)))
        name = s(c, "name")
        if name in names:
            errs.append(duplicate(child(p, "name"), name))
        elif name:
            names.add(name)
        errs.extend(_host_port_conflicts([c], path))
        if always:
            if c.get("lifecycle") is not None:
                errs.extend(_validate_lifecycle(c.get("lifecycle"), grace, child(p, "lifecycle")))
            errs.extend(_validate_probe(c.get("livenessProbe"), grace, child(p, "livenessProbe"), "liveness"))
            errs.extend(
                _validate_probe(c.get("readinessProbe"), grace, child(p, "readinessProbe"), "readiness")
            )
            errs.extend(_validate_probe(c.get("startupProbe"), grace, child(p, "startupProbe"), "startup"))
        else:
            for f in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(f) is not None:
                    errs.append(
                        forbidden(
                            child(p, f), "may not be set for init containers without restartPolicy=Always"
                        )
                    )
    return errs


# ------------------------------------------------------------------------------------------------------------
# pod spec
# ------------------------------------------------------------------------------------------------------------

_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def validate_tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(tolerations):
        t = t if isinstance(t, dict) else {}
        ip = index(path, i)
        k = s(t, "key")
        if k:
            errs.extend(validate_label_name(k, child(ip, "key")))
        op = s(t, "operator")
        if not k and op != "Exists":
            errs.append(
                invalid(
                    child(ip, "operator"),
                    op,
                    "operator must be Exists when `key` is empty, which means "
                    '"match all values and all keys"',
                )
            )
        if t.get("tolerationSeconds") is not None and s(t, "effect") != "NoExecute":
            errs.append(
                invalid(
                    child(ip, "effect"),
                    s(t, "effect"),
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if op in ("Equal", ""):
            msgs = n.is_valid_label_value(s(t, "value"))
            if msgs:
                errs.append(invalid(child(ip, "operator"), s(t, "value"), ";".join(msgs)))
        elif op == "Exists":
            if s(t, "value"):
                errs.append(
                    invalid(
                        child(ip, "operator"),
                        s(t, "value"),
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            errs.append(not_supported(child(ip, "operator"), op, ("Equal", "Exists")))
        eff = s(t, "effect")
        if eff and eff not in _TAINT_EFFECTS:
            errs.append(not_supported(child(ip, "effect"), eff, _TAINT_EFFECTS))
    return errs


def _validate_node_selector_term(term: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for j, rq in enumerate(ll(term, "matchExpressions")):
        p = index(child(path, "matchExpressions"), j)
        op = s(rq, "operator")
        vals = ll(rq, "values")
        if op in ("In", "NotIn"):
            if not vals:
                errs.append(
                    required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                errs.append(
                    forbidden(
                        child(p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        elif op in ("Gt", "Lt"):
            if len(vals) != 1:
                errs.append(
                    required(
                        child(p, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"
                    )
                )
        else:
            errs.append(invalid(child(p, "operator"), op, "not a valid selector operator"))
        errs.extend(validate_label_name(s(rq, "key"), child(p, "key")))
    return errs


def _validate_affinity(aff: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(aff, dict):
        return errs
    na = dd(aff, "nodeAffinity")
    req = d(na, "requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(req, dict):
        rp = child(
            path, "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"
        )
        terms = ll(req, "nodeSelectorTerms")
        if not terms:
            errs.append(required(rp, "must have at least one node selector term"))
        for i, term in enumerate(terms):
            errs.extend(_validate_node_selector_term(term, index(rp, i)))
    for i, pref in enumerate(ll(na, "preferredDuringSchedulingIgnoredDuringExecution")):
        pp = index(child(path, "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution"), i)
        w = _int(d(pref, "weight")) or 0
        if w <= 0 or w > 100:
            errs.append(invalid(child(pp, "weight"), w, "must be in the range 1-100"))
        errs.extend(_validate_node_selector_term(d(pref, "preference"), child(pp, "preference")))
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = dd(aff, kind)
        for i, term in enumerate(ll(pa, "requiredDuringSchedulingIgnoredDuringExecution")):
            errs.extend(
                _validate_pod_affinity_term(
                    term, index(child(path, kind, "requiredDuringSchedulingIgnoredDuringExecution"), i)
                )
            )
        for i, wt in enumerate(ll(pa, "preferredDuringSchedulingIgnoredDuringExecution")):
            wp = index(child(path, kind, "preferredDuringSchedulingIgnoredDuringExecution"), i)
            w = _int(d(wt, "weight")) or 0
            if w <= 0 or w > 100:
                errs.append(invalid(child(wp, "weight"), w, "must be in the range 1-100"))
            errs.extend(_validate_pod_affinity_term(d(wt, "podAffinityTerm"), child(wp, "podAffinityTerm")))
    return errs


def _validate_pod_affinity_term(term: Any, path: str) -> list[FieldError]:
    errs = validate_label_selector(d(term, "labelSelector"), child(path, "labelSelector"))
    for ns in ll(term, "namespaces"):
        errs.extend(invalid(child(path, "namespace"), ns, m) for m in n.name_is_dns_label(str(ns), False))
    tk = s(term, "topologyKey")
    if not tk:
        errs.append(required(child(path, "topologyKey"), "can not be empty"))
    errs.extend(validate_label_name(tk, child(path, "topologyKey")))
    return errs


def _validate_topology_spread(constraints: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, c in enumerate(constraints):
        p = index(path, i)
        ms = _int(d(c, "maxSkew")) or 0
        if ms <= 0:
            errs.append(invalid(child(p, "maxSkew"), ms, "must be greater than zero"))
        if not s(c, "topologyKey"):
            errs.append(required(child(p, "topologyKey"), "can not be empty"))
        wu = s(c, "whenUnsatisfiable")
        if wu not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(not_supported(child(p, "whenUnsatisfiable"), wu, ("DoNotSchedule", "ScheduleAnyway")))
        for other in constraints[i + 1 :]:
            if s(other, "topologyKey") == s(c, "topologyKey") and s(other, "whenUnsatisfiable") == wu:
                errs.append(
                    duplicate(
                        child(p, "{topologyKey, whenUnsatisfiable}"), f"{{{s(c, 'topologyKey')}, {wu}}}"
                    )
                )
                break
        errs.extend(validate_label_selector(d(c, "labelSelector"), child(p, "labelSelector")))
    return errs


def validate_pod_spec(spec: Obj, path: str, is_pod: bool) -> list[FieldError]:
    """ValidatePodSpec (plus validatePodHostNetworkDeps with ResourceIsPod for pods)."""
    errs: list[FieldError] = []
    grace_v = spec.get("terminationGracePeriodSeconds")
    if grace_v is None:
        errs.append(required(child(path, "terminationGracePeriodSeconds")))
    grace = _int(grace_v)
    sc = dd(spec, "securityContext")
    host_users = sc.get("hostUsers") is not False
    volumes, verrs = validate_volumes(ll(spec, "volumes"), child(path, "volumes"))
    errs.extend(verrs)
    containers = ll(spec, "containers")
    errs.extend(_validate_containers(containers, volumes, grace, child(path, "containers"), host_users))
    errs.extend(
        _validate_init_containers(
            ll(spec, "initContainers"), containers, volumes, grace, child(path, "initContainers"), host_users
        )
    )
    if spec.get("hostNetwork") is True:
        for i, c in enumerate(containers):
            for j, port in enumerate(ll(c, "ports")):
                hp, cp = _int(d(port, "hostPort")) or 0, _int(d(port, "containerPort")) or 0
                if (is_pod or hp != 0) and hp != cp:
                    errs.append(
                        invalid(
                            child(index(child(index(child(path, "containers"), i), "ports"), j), "hostPort"),
                            hp,
                            "must match `containerPort` when `hostNetwork` is true",
                        )
                    )
    rp = s(spec, "restartPolicy")
    if not rp:
        errs.append(required(child(path, "restartPolicy")))
    elif rp not in ("Always", "OnFailure", "Never"):
        errs.append(not_supported(child(path, "restartPolicy"), rp, ("Always", "OnFailure", "Never")))
    dp = s(spec, "dnsPolicy")
    dns_values = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
    if not dp:
        errs.append(required(child(path, "dnsPolicy")))
    elif dp not in dns_values:
        errs.append(not_supported(child(path, "dnsPolicy"), dp, dns_values))
    errs.extend(validate_labels(spec.get("nodeSelector"), child(path, "nodeSelector")))
    scp = child(path, "securityContext")
    for f in ("fsGroup", "runAsUser", "runAsGroup"):
        v = _int(sc.get(f))
        if v is not None:
            errs.extend(invalid(child(scp, f), v, m) for m in n.is_valid_user_id(v))
    for g, gid in enumerate(ll(sc, "supplementalGroups")):
        if _int(gid) is not None:
            errs.extend(
                invalid(index(child(scp, "supplementalGroups"), g), gid, m) for m in n.is_valid_group_id(gid)
            )
    if sc.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        errs.append(
            invalid(
                child(scp, "shareProcessNamespace"),
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    fgcp = sc.get("fsGroupChangePolicy")
    if fgcp is not None and fgcp not in ("Always", "OnRootMismatch"):
        errs.append(not_supported(child(scp, "fsGroupChangePolicy"), fgcp, ("Always", "OnRootMismatch")))
    errs.extend(_validate_seccomp(sc.get("seccompProfile"), child(scp, "seccompProfile")))
    for i, ps in enumerate(ll(spec, "imagePullSecrets")):
        if isinstance(ps, dict) and set(ps) - {"name"}:
            errs.append(invalid(index(child(path, "imagePullSecrets"), i), ps, "only name may be set"))
    errs.extend(_validate_affinity(spec.get("affinity"), child(path, "affinity")))
    dns_config = spec.get("dnsConfig")
    if dp == "None":
        if not isinstance(dns_config, dict):
            errs.append(
                required(child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None")
            )
        elif not ll(dns_config, "nameservers"):
            errs.append(
                required(
                    child(path, "dnsConfig", "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            )
    if isinstance(dns_config, dict):
        for i, ns in enumerate(ll(dns_config, "nameservers")):
            errs.extend(
                invalid(index(child(path, "dnsConfig", "nameservers"), i), ns, m)
                for m in n.is_valid_ip(str(ns))
            )
    for i, rg in enumerate(ll(spec, "readinessGates")):
        errs.extend(
            validate_label_name(
                s(rg, "conditionType"), child(index(child(path, "readinessGates"), i), "conditionType")
            )
        )
    seen_gates: set[str] = set()
    for i, sg in enumerate(ll(spec, "schedulingGates")):
        gp = index(child(path, "schedulingGates"), i)
        errs.extend(validate_label_name(s(sg, "name"), gp))
        if s(sg, "name") in seen_gates:
            errs.append(duplicate(gp, s(sg, "name")))
        seen_gates.add(s(sg, "name"))
    errs.extend(
        _validate_topology_spread(
            ll(spec, "topologySpreadConstraints"), child(path, "topologySpreadConstraints")
        )
    )
    if s(spec, "serviceAccountName"):
        errs.extend(
            invalid(child(path, "serviceAccountName"), s(spec, "serviceAccountName"), m)
            for m in n.name_is_dns_subdomain(s(spec, "serviceAccountName"), False)
        )
    if s(spec, "nodeName"):
        errs.extend(
            invalid(child(path, "nodeName"), s(spec, "nodeName"), m)
            for m in n.name_is_dns_subdomain(s(spec, "nodeName"), False)
        )
    ads = _int(spec.get("activeDeadlineSeconds"))
    if ads is not None and (ads < 1 or ads > MAX_INT32):
        errs.append(invalid(child(path, "activeDeadlineSeconds"), ads, n.inclusive_range_error(1, MAX_INT32)))
    for f in ("hostname", "subdomain"):
        if s(spec, f):
            errs.extend(invalid(child(path, f), s(spec, f), m) for m in n.is_dns1123_label(s(spec, f)))
    if ll(spec, "tolerations"):
        errs.extend(validate_tolerations(ll(spec, "tolerations"), child(path, "tolerations")))
    for i, ha in enumerate(ll(spec, "hostAliases")):
        hap = index(child(path, "hostAliases"), i)
        errs.extend(invalid(child(hap, "ip"), s(ha, "ip"), m) for m in n.is_valid_ip(s(ha, "ip")))
        for j, hn in enumerate(ll(ha, "hostnames")):
            errs.extend(
                invalid(index(child(hap, "hostnames"), j), hn, m) for m in n.is_dns1123_subdomain(str(hn))
            )
    if s(spec, "priorityClassName"):
        errs.extend(
            invalid(child(path, "priorityClassName"), s(spec, "priorityClassName"), m)
            for m in n.name_is_dns_subdomain(s(spec, "priorityClassName"), False)
        )
    if spec.get("runtimeClassName") is not None:
        errs.extend(
            invalid(child(path, "runtimeClassName"), s(spec, "runtimeClassName"), m)
            for m in n.name_is_dns_subdomain(s(spec, "runtimeClassName"), False)
        )
    pp = spec.get("preemptionPolicy")
    if pp is not None:
        if pp == "":
            errs.append(required(child(path, "preemptionPolicy")))
        elif pp not in ("PreemptLowerPriority", "Never"):
            errs.append(not_supported(child(path, "preemptionPolicy"), pp, ("PreemptLowerPriority", "Never")))
    os_ = spec.get("os")
    if isinstance(os_, dict):
        if not s(os_, "name"):
            errs.append(required(child(path, "os", "name"), "cannot be empty"))
        elif s(os_, "name") not in ("linux", "windows"):
            errs.append(not_supported(child(path, "os"), s(os_, "name"), ("linux", "windows")))
    return errs


def validate_pod_template_spec(tmpl: Any, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: template labels/annotations and the pod spec (not the pod-only checks)."""
    tmpl = tmpl if isinstance(tmpl, dict) else {}
    meta = dd(tmpl, "metadata")
    errs = validate_labels(meta.get("labels"), child(path, "labels"))
    errs.extend(validate_annotations(meta.get("annotations"), child(path, "annotations")))
    spec = dd(tmpl, "spec")
    errs.extend(validate_pod_spec(spec, child(path, "spec"), False))
    if ll(spec, "ephemeralContainers"):
        errs.append(
            forbidden(
                child(path, "spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"
            )
        )
    return errs


def _pod_metadata_and_spec(pod: Obj) -> list[FieldError]:
    errs = validate_object_meta(pod, True, n.name_is_dns_subdomain)
    spec = dd(pod, "spec")
    errs.extend(validate_pod_spec(spec, "spec", True))
    if not s(spec, "serviceAccountName"):
        for vi, vol in enumerate(ll(spec, "volumes")):
            for si, src in enumerate(ll(vol, "projected", "sources")):
                if d(src, "serviceAccountToken") is not None:
                    errs.append(
                        forbidden(
                            f"spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken",
                            "must not be specified when serviceAccountName is not set",
                        )
                    )
    for group in ("containers", "initContainers"):
        for i, c in enumerate(ll(spec, group)):
            img = s(c, "image")
            if len(img) != len(img.strip()):
                errs.append(
                    invalid(f"spec.{group}[{i}].image", img, "must not have leading or trailing whitespace")
                )
    return errs


def validate_pod_create(pod: Obj) -> list[FieldError]:
    errs = _pod_metadata_and_spec(pod)
    spec = dd(pod, "spec")
    if ll(spec, "ephemeralContainers"):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if s(spec, "nodeName") and ll(spec, "schedulingGates"):
        errs.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errs


UPDATABLE_POD_SPEC_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(UPDATABLE_POD_SPEC_FIELDS)

_GO_NAMES = {
    "dnsPolicy": "DNSPolicy",
    "dnsConfig": "DNSConfig",
    "os": "OS",
    "hostIPC": "HostIPC",
    "hostPID": "HostPID",
}


def _go_name(field: str) -> str:
    return _GO_NAMES.get(field, field[:1].upper() + field[1:])


def spec_diff(old: Obj, new: Obj, type_name: str = "core.PodSpec") -> str:
    """A compact stand-in for go-cmp's cmp.Diff(old, new): the changed top-level fields, '-' old, '+' new."""
    on, nn = normalized(old) or {}, normalized(new) or {}
    lines = [f"  {type_name}{{"]
    same = 0
    for f in sorted(set(on) | set(nn), key=lambda x: _go_name(x)):
        if on.get(f) == nn.get(f):
            same += 1
            continue
        for sign, side in (("-", on), ("+", nn)):
            if f in side:
                lines.append(
                    f"{sign} \t{_go_name(f)}: {json.dumps(side[f], separators=(',', ':'), sort_keys=True)},"
                )
    if same:
        lines.append(f"  \t... // {same} identical fields")
    lines.append("  }")
    return "\n".join(lines)


def _toleration_eq_ignoring_seconds(old: Any, new: Any) -> bool:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    o = dict(old)
    o.pop("tolerationSeconds", None)
    nn = dict(new)
    nn.pop("tolerationSeconds", None)
    return normalized(o) == normalized(nn)


def validate_pod_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(_pod_metadata_and_spec(new))
    ns, os_ = dd(new, "spec"), dd(old, "spec")
    for group in ("containers", "initContainers"):
        nc, oc = ll(ns, group), ll(os_, group)
        if len(nc) != len(oc):
            errs.append(forbidden(f"spec.{group}", "pod updates may not add or remove containers"))
            return errs
        for i, c in enumerate(nc):
            img = s(c, "image")
            if not img:
                errs.append(required(f"spec.{group}[{i}].image"))
            if len(img.strip()) != len(img):
                errs.append(
                    invalid(f"spec.{group}[{i}].image", img, "must not have leading or trailing whitespace")
                )
    nads, oads = _int(ns.get("activeDeadlineSeconds")), _int(os_.get("activeDeadlineSeconds"))
    if ns.get("activeDeadlineSeconds") is not None and nads is not None:
        if nads < 0 or nads > MAX_INT32:
            errs.append(invalid("spec.activeDeadlineSeconds", nads, n.inclusive_range_error(0, MAX_INT32)))
            return errs
        if oads is not None and oads < nads:
            errs.append(
                invalid("spec.activeDeadlineSeconds", nads, "must be less than or equal to previous value")
            )
            return errs
    elif oads is not None:
        errs.append(
            invalid(
                "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
            )
        )
    new_tols = ll(ns, "tolerations")
    for ot in ll(os_, "tolerations"):
        if not any(_toleration_eq_ignoring_seconds(ot, nt) for nt in new_tols):
            errs.append(
                forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            )
            break
    else:
        errs.extend(validate_tolerations(new_tols, "spec.tolerations"))
    old_gates = {s(g, "name") for g in ll(os_, "schedulingGates")}
    for i, g in enumerate(ll(ns, "schedulingGates")):
        if s(g, "name") not in old_gates:
            errs.append(
                forbidden(
                    f"spec.schedulingGates[{i}].name",
                    f"only deletion is allowed, but found new scheduling gate '{s(g, 'name')}'",
                )
            )
    if semantic_equal(ns, os_):
        return errs
    munged = json.loads(json.dumps(ns))
    for group in ("containers", "initContainers"):
        for i, c in enumerate(munged.get(group) or []):
            if isinstance(c, dict):
                c["image"] = s(ll(os_, group)[i], "image")
    munged.pop("activeDeadlineSeconds", None)
    if os_.get("activeDeadlineSeconds") is not None:
        munged["activeDeadlineSeconds"] = os_["activeDeadlineSeconds"]
    for f in ("schedulingGates", "tolerations"):
        munged.pop(f, None)
        if f in os_:
            munged[f] = os_[f]
    ogp = _int(os_.get("terminationGracePeriodSeconds"))
    if ogp is not None and ogp < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = ogp
    if old_gates:
        for f in ("nodeSelector", "affinity"):
            munged.pop(f, None)
            if f in os_:
                munged[f] = os_[f]
    if not semantic_equal(munged, os_):
        errs.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + spec_diff(os_, munged)))
    return errs


def validate_pod_template(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    return errs + validate_pod_template_spec(obj.get("template"), "template")


def validate_pod_template_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_pod_template_spec(new.get("template"), "template")


# ------------------------------------------------------------------------------------------------------------
# Service
# ------------------------------------------------------------------------------------------------------------

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def is_headless(svc: Obj) -> bool:
    ips = ll(svc, "spec", "clusterIPs")
    return len(ips) == 1 and ips[0] == "None"


def externally_accessible(svc: Obj) -> bool:
    t = s(svc, "spec", "type")
    return t in ("LoadBalancer", "NodePort") or (t == "ClusterIP" and bool(ll(svc, "spec", "externalIPs")))


def needs_health_check(svc: Obj) -> bool:
    return s(svc, "spec", "type") == "LoadBalancer" and s(svc, "spec", "externalTrafficPolicy") == "Local"


def _go_service_port(port: Obj) -> str:
    """A core.ServicePort{Protocol, Port} key as the duplicate-ports check renders it (Go field names)."""
    return json.dumps(
        {
            "Name": "",
            "Protocol": s(port, "protocol"),
            "AppProtocol": None,
            "Port": _int(port.get("port")) or 0,
            "TargetPort": 0,
            "NodePort": 0,
        },
        separators=(",", ":"),
    )


def validate_service_cluster_ips_related(svc: Obj) -> list[FieldError]:
    """ValidateServiceClusterIPsRelatedFields: clusterIP/clusterIPs sync, families, policy, IP syntax."""
    spec = dd(svc, "spec")
    if s(spec, "type") == "ExternalName":
        return []
    errs: list[FieldError] = []
    cip = s(spec, "clusterIP")
    cips = [str(x) for x in ll(spec, "clusterIPs")]
    if cip:
        if not cips:
            errs.append(required("spec.clusterIPs"))
        elif cips[0] != cip:
            errs.append(invalid("spec.clusterIPs", cips, "first value must match `clusterIP`"))
    elif cips:
        errs.append(invalid("spec.clusterIPs", cips, "must be empty when `clusterIP` is not specified"))
    seen: set[str] = set()
    for i, fam in enumerate(ll(spec, "ipFamilies")):
        if fam not in ("IPv4", "IPv6"):
            errs.append(not_supported(f"spec.ipFamilies[{i}]", fam, ("IPv4", "IPv6")))
        if str(fam) in seen:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", fam))
        seen.add(str(fam))
    pol = spec.get("ipFamilyPolicy")
    policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
    if pol is not None and pol not in policies:
        errs.append(not_supported("spec.ipFamilyPolicy", pol, policies))
    bad_ips = False
    for i, ip in enumerate(cips):
        if i == 0 and ip == "None":
            if len(cips) > 1:
                bad_ips = True
                errs.append(invalid("spec.clusterIPs", cips, "'None' must be the first and only value"))
            continue
        msgs = n.is_valid_ip(ip)
        if msgs:
            bad_ips = True
            errs.extend(invalid(f"spec.clusterIPs[{i}]", ip, m) for m in msgs)
    if len(cips) > 2:
        errs.append(invalid("spec.clusterIPs", cips, "may only hold up to 2 values"))
    if bad_ips:
        return errs
    if len(cips) > 1:
        versions = {getattr(n.parse_ip(ip), "version", 0) for ip in cips}
        if len(cips) != 2 or versions != {4, 6}:
            errs.append(
                invalid("spec.clusterIPs", cips, "may specify no more than one IP for each IP family")
            )
    fams = ll(spec, "ipFamilies")
    if not is_headless(svc) and cips and fams:
        for i, ip in enumerate(cips):
            if i > len(fams) - 1:
                break
            v = getattr(n.parse_ip(ip), "version", 4)
            if fams[i] == "IPv4" and v == 6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if fams[i] == "IPv6" and v != 6:
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def validate_service(svc: Obj) -> list[FieldError]:
    errs = validate_object_meta(svc, True, n.name_is_dns1035_label)
    spec = dd(svc, "spec")
    stype = s(spec, "type")
    ports = ll(spec, "ports")
    headless = is_headless(svc)
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))
    if stype == "LoadBalancer" and headless:
        errs.append(
            invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer services")
        )
    elif stype == "NodePort" and headless:
        errs.append(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for NodePort services"))
    elif stype == "ExternalName":
        if ll(spec, "clusterIPs"):
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if ll(spec, "ipFamilies"):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = s(spec, "externalName").removesuffix(".")
        if cname:
            errs.extend(invalid("spec.externalName", cname, m) for m in n.is_dns1123_subdomain(cname))
        else:
            errs.append(required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        port = port if isinstance(port, dict) else {}
        pp = f"spec.ports[{i}]"
        pname = s(port, "name")
        if len(ports) > 1 and not pname:
            errs.append(required(child(pp, "name")))
        elif pname:
            errs.extend(invalid(child(pp, "name"), pname, m) for m in n.is_dns1123_label(pname))
            if pname in names:
                errs.append(duplicate(child(pp, "name"), pname))
            else:
                names.add(pname)
        pnum = _int(port.get("port")) or 0
        errs.extend(invalid(child(pp, "port"), pnum, m) for m in n.is_valid_port_num(pnum))
        proto = s(port, "protocol")
        if not proto:
            errs.append(required(child(pp, "protocol")))
        elif proto not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(not_supported(child(pp, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
        errs.extend(_validate_port_num_or_name(port.get("targetPort", 0), child(pp, "targetPort")))
        if port.get("appProtocol") is not None:
            errs.extend(validate_label_name(s(port, "appProtocol"), child(pp, "appProtocol")))
    if spec.get("selector") is not None:
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    sa = s(spec, "sessionAffinity")
    if not sa:
        errs.append(required("spec.sessionAffinity"))
    elif sa not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", sa, ("ClientIP", "None")))
    if sa == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        cp = "spec.sessionAffinityConfig"
        if not isinstance(cfg, dict):
            errs.append(required(cp, "when session affinity type is ClientIP"))
        elif not isinstance(cfg.get("clientIP"), dict):
            errs.append(required(child(cp, "clientIP"), "when session affinity type is ClientIP"))
        elif cfg["clientIP"].get("timeoutSeconds") is None:
            errs.append(
                required(child(cp, "clientIP", "timeoutSeconds"), "when session affinity type is ClientIP")
            )
        else:
            t = cfg["clientIP"]["timeoutSeconds"]
            if not isinstance(t, int) or t <= 0 or t > 86400:
                errs.append(
                    invalid(
                        child(cp, "clientIP", "timeoutSeconds"),
                        t,
                        "must be greater than 0 and less than 86400",
                    )
                )
    elif sa == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    errs.extend(validate_service_cluster_ips_related(svc))
    for i, ip in enumerate(ll(spec, "externalIPs")):
        msgs = n.is_valid_ip(str(ip))
        if msgs:
            errs.extend(invalid(f"spec.externalIPs[{i}]", ip, m) for m in msgs)
        else:
            errs.extend(_validate_non_special_ip(str(ip), f"spec.externalIPs[{i}]"))
    if not stype:
        errs.append(required("spec.type"))
    elif stype not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, SERVICE_TYPES))
    if stype == "ClusterIP":
        for i, port in enumerate(ports):
            if _int(d(port, "nodePort")):
                errs.append(
                    forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                )
    seen_np: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        np_ = _int(d(port, "nodePort")) or 0
        if np_ == 0:
            continue
        k = (s(port, "protocol"), np_)
        if k in seen_np:
            errs.append(duplicate(f"spec.ports[{i}].nodePort", np_))
        seen_np.add(k)
    seen_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        k = (s(port, "protocol"), _int(d(port, "port")) or 0)
        if k in seen_ports:
            errs.append(
                FieldError(
                    f"spec.ports[{i}]",
                    "Duplicate value",
                    "",
                    Rendered(_go_service_port(port)),
                    "FieldValueDuplicate",
                )
            )
        seen_ports.add(k)
    ranges = ll(spec, "loadBalancerSourceRanges")
    if ranges:
        if stype != "LoadBalancer":
            errs.append(
                forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
            )
        for i, r in enumerate(ranges):
            errs.extend(
                invalid(f"spec.LoadBalancerSourceRanges[{i}]", str(r).strip(), m)
                for m in n.is_valid_cidr(str(r).strip())
            )
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != "LoadBalancer":
        errs.append(
            forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'")
        )
    if stype == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    if spec.get("loadBalancerClass") is not None and stype != "LoadBalancer":
        errs.append(
            forbidden("spec.loadBalancerClass", "may only be used when service type is 'LoadBalancer'")
        )
    etp = s(spec, "externalTrafficPolicy")
    if not externally_accessible(svc):
        if etp:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"
                )
            )
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ("Cluster", "Local")))
    hc = _int(spec.get("healthCheckNodePort")) or 0
    if not needs_health_check(svc):
        if hc != 0:
            errs.append(
                invalid(
                    "spec.healthCheckNodePort",
                    hc,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                )
            )
    elif hc == 0:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs.extend(invalid("spec.healthCheckNodePort", hc, m) for m in n.is_valid_port_num(hc))
    itp = spec.get("internalTrafficPolicy")
    if itp is None:
        if stype in ("NodePort", "LoadBalancer", "ClusterIP"):
            errs.append(required("spec.internalTrafficPolicy"))
    elif itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ("Cluster", "Local")))
    td = spec.get("trafficDistribution")
    if td is not None and td not in ("PreferClose", "PreferSameZone", "PreferSameNode"):
        errs.append(
            not_supported("spec.trafficDistribution", td, ("PreferClose", "PreferSameNode", "PreferSameZone"))
        )
    return errs


def _validate_non_special_ip(ip: str, path: str, allow_loopback: bool = False) -> list[FieldError]:
    addr = n.parse_ip(ip)
    if addr is None:
        return [invalid(path, ip, "must be a valid IP address")]
    errs: list[FieldError] = []
    if addr.is_unspecified:
        errs.append(invalid(path, ip, f"may not be unspecified ({ip})"))
    if addr.is_loopback and not allow_loopback:
        errs.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if addr.is_link_local:
        errs.append(invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    return errs


def validate_service_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    ntype, otype = s(new, "spec", "type"), s(old, "spec", "type")
    if ntype != "ExternalName" and otype != "ExternalName":
        nh, oh = is_headless(new), is_headless(old)
        new_ips, old_ips = ll(new, "spec", "clusterIPs"), ll(old, "spec", "clusterIPs")
        if not (nh and oh):
            if len(old_ips) == len(new_ips):
                for i, ip in enumerate(old_ips):
                    if ip != new_ips[i]:
                        errs.append(invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set"))
            elif len(old_ips) > len(new_ips):
                if not new_ips:
                    errs.append(invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset"))
                elif old_ips and new_ips[0] != old_ips[0]:
                    errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
                if len(new_ips) == 1 and new.get("spec", {}).get("ipFamilyPolicy") != "SingleStack":
                    errs.append(
                        invalid(
                            "spec.ipFamilyPolicy",
                            d(new, "spec", "ipFamilyPolicy"),
                            "must be set to 'SingleStack' when releasing the secondary clusterIP",
                        )
                    )
            elif old_ips and new_ips[0] != old_ips[0]:
                errs.append(invalid("spec.clusterIPs[0]", new_ips, "may not change once set"))
        if nh == oh and not nh:
            nf, of = ll(new, "spec", "ipFamilies"), ll(old, "spec", "ipFamilies")
            if len(nf) == len(of):
                for i, fam in enumerate(of):
                    if fam != nf[i]:
                        errs.append(invalid("spec.ipFamilies[0]", nf, "may not change once set"))
    if needs_health_check(old) and needs_health_check(new):
        if d(new, "spec", "healthCheckNodePort") != d(old, "spec", "healthCheckNodePort"):
            errs.append(forbidden("spec.healthCheckNodePort", FIELD_IMMUTABLE))
    return errs + validate_service(new)


# ------------------------------------------------------------------------------------------------------------
# ConfigMap, Secret, ServiceAccount
# ------------------------------------------------------------------------------------------------------------


def validate_config_map(cm: Obj) -> list[FieldError]:
    errs = validate_object_meta(cm, True, n.name_is_dns_subdomain)
    total = 0
    data, binary = dd(cm, "data"), dd(cm, "binaryData")
    for k in sorted(data):
        errs.extend(invalid(f"data[{k}]", k, m) for m in n.is_config_map_key(k))
        if k in binary:
            errs.append(invalid(f"data[{k}]", k, "duplicate of key present in binaryData"))
        total += len(str(data[k]).encode())
    for k in sorted(binary):
        errs.extend(invalid(f"binaryData[{k}]", k, m) for m in n.is_config_map_key(k))
        total += _b64_len(binary[k])
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("[]", MAX_SECRET_SIZE))
    return errs


def _immutable_data_checks(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for f in fields:
            if (new.get(f) or None) != (old.get(f) or None):
                errs.append(forbidden(f, "field is immutable when `immutable` is set"))
    return errs


def validate_config_map_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(_immutable_data_checks(new, old, ("data", "binaryData")))
    return errs + validate_config_map(new)


def _b64_len(v: Any) -> int:
    if not isinstance(v, str):
        return 0
    try:
        return len(base64.b64decode(v, validate=False))
    except (ValueError, TypeError):
        return len(v)


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(sec: Obj) -> list[FieldError]:
    errs = validate_object_meta(sec, True, n.name_is_dns_subdomain)
    data = dd(sec, "data")
    total = 0
    for k in sorted(data):
        errs.extend(invalid(f"data[{k}]", k, m) for m in n.is_config_map_key(k))
        total += _b64_len(data[k])
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", MAX_SECRET_SIZE))
    t = s(sec, "type")
    if t == "kubernetes.io/service-account-token":
        if not s(sec, "metadata", "annotations", "kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif t == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.append(required("data[username]"))
            errs.append(required("data[password]"))
    elif t in _SECRET_REQUIRED_KEYS:
        for k in _SECRET_REQUIRED_KEYS[t]:
            if k not in data or (t == "kubernetes.io/ssh-auth" and not data.get(k)):
                errs.append(required(f"data[{k}]"))
                if t != "kubernetes.io/tls":
                    break
        if t in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
            k = _SECRET_REQUIRED_KEYS[t][0]
            if k in data:
                try:
                    json.loads(base64.b64decode(str(data[k])))
                except (ValueError, TypeError) as e:
                    errs.append(invalid(f"data[{k}]", "<secret contents redacted>", str(e)))
    return errs


def validate_secret_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    errs.extend(immutable("type", s(new, "type"), s(old, "type")))
    errs.extend(_immutable_data_checks(new, old, ("data",)))
    return errs + validate_secret(new)


def validate_service_account(sa: Obj) -> list[FieldError]:
    return validate_object_meta(sa, True, n.name_is_dns_subdomain)


# ------------------------------------------------------------------------------------------------------------
# Namespace, Node
# ------------------------------------------------------------------------------------------------------------


def validate_namespace(ns: Obj) -> list[FieldError]:
    errs = validate_object_meta(ns, False, n.name_is_dns_label)
    for f in ll(ns, "spec", "finalizers"):
        f = str(f)
        errs.extend(invalid("spec.finalizers", f, m) for m in n.is_qualified_name(f))
        if "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            errs.append(
                invalid(
                    "spec.finalizers",
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
    return errs


def validate_namespace_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old)


def _validate_taints(taints: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(taints):
        ip = index(path, i)
        errs.extend(validate_label_name(s(t, "key"), child(ip, "key")))
        msgs = n.is_valid_label_value(s(t, "value"))
        if msgs:
            errs.append(invalid(child(ip, "value"), s(t, "value"), ";".join(msgs)))
        eff = s(t, "effect")
        if not eff:
            errs.append(required(child(ip, "effect")))
        elif eff not in _TAINT_EFFECTS:
            errs.append(not_supported(child(ip, "effect"), eff, _TAINT_EFFECTS))
        k = (eff, s(t, "key"))
        if k in seen:
            errs.append(
                FieldError(
                    ip,
                    "Duplicate value",
                    "taints must be unique by key and effect pair",
                    jv(t),
                    "FieldValueDuplicate",
                )
            )
            continue
        seen.add(k)
    return errs


def validate_node(node: Obj) -> list[FieldError]:
    errs = validate_object_meta(node, False, n.name_is_dns_subdomain)
    if ll(node, "spec", "taints"):
        errs.extend(_validate_taints(ll(node, "spec", "taints"), "metadata.taints"))
    for group in ("capacity", "allocatable"):
        for k, v in sorted(dd(node, "status", group).items()):
            q = parse_quantity(v)
            if q is not None and q.value < 0:
                errs.append(invalid(f"status.{group}.{k}", str(q), IS_NEGATIVE))
    for i, c in enumerate(ll(node, "spec", "podCIDRs")):
        errs.extend(invalid(f"spec.podCIDRs[{i}]", c, m) for m in n.is_valid_cidr(str(c)))
    return errs


def validate_node_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    old_cidrs, new_cidrs = ll(old, "spec", "podCIDRs"), ll(new, "spec", "podCIDRs")
    if old_cidrs and old_cidrs != new_cidrs:
        errs.append(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'))
    opid = s(old, "spec", "providerID")
    if opid and opid != s(new, "spec", "providerID"):
        errs.append(
            forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid')
        )
    if ll(new, "spec", "taints"):
        errs.extend(_validate_taints(ll(new, "spec", "taints"), "metadata.taints"))
    if s(new, "spec", "externalID") != s(old, "spec", "externalID"):
        errs.append(forbidden("spec.externalID", "may not be updated"))
    return errs


# ------------------------------------------------------------------------------------------------------------
# PersistentVolume(Claim)
# ------------------------------------------------------------------------------------------------------------

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def _validate_access_modes(modes: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    rwop = other = False
    for m in modes:
        if m not in ACCESS_MODES:
            errs.append(not_supported(path, m, ACCESS_MODES))
        if m == "ReadWriteOncePod":
            rwop = True
        elif m in ACCESS_MODES:
            other = True
    if rwop and other:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def validate_pvc_spec(spec: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    modes = ll(spec, "accessModes")
    if not modes:
        errs.append(required(child(path, "accessModes"), "at least 1 access mode is required"))
    if spec.get("selector") is not None:
        errs.extend(validate_label_selector(spec.get("selector"), child(path, "selector")))
    errs.extend(_validate_access_modes(modes, child(path, "accessModes")))
    sp = key(child(path, "resources"), "storage")
    storage = dd(spec, "resources", "requests").get("storage")
    if storage is None:
        errs.append(required(sp))
    else:
        q = parse_quantity(storage)
        if q is not None and q.value <= 0:
            errs.append(invalid(sp, str(q), "must be greater than zero"))
    scn = spec.get("storageClassName")
    if isinstance(scn, str) and scn:
        errs.extend(
            invalid(child(path, "storageClassName"), scn, m) for m in n.name_is_dns_subdomain(scn, False)
        )
    vm = spec.get("volumeMode")
    if vm is not None and vm not in ("Block", "Filesystem"):
        errs.append(not_supported(child(path, "volumeMode"), vm, ("Block", "Filesystem")))
    return errs


def validate_pvc(pvc: Obj) -> list[FieldError]:
    return validate_object_meta(pvc, True, n.name_is_dns_subdomain) + validate_pvc_spec(
        dd(pvc, "spec"), "spec"
    )


def validate_pvc_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + validate_pvc(new)
    ns, os_ = json.loads(json.dumps(dd(new, "spec"))), json.loads(json.dumps(dd(old, "spec")))
    if not s(os_, "volumeName"):
        os_["volumeName"] = ns.get("volumeName")
    if os_.get("storageClassName") is None and ns.get("storageClassName") is not None:
        os_["storageClassName"] = ns.get("storageClassName")
    bound = s(new, "status", "phase") == "Bound"
    if bound:
        for spec_ in (ns, os_):
            spec_.setdefault("resources", {}).setdefault("requests", {}).pop("storage", None)
            spec_.pop("volumeAttributesClassName", None)
    if not semantic_equal(ns, os_):
        errs.append(
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims\n"
                + spec_diff(os_, ns, "core.PersistentVolumeClaimSpec"),
            )
        )
    oq = parse_quantity(d(old, "spec", "resources", "requests", "storage"))
    nq = parse_quantity(d(new, "spec", "resources", "requests", "storage"))
    if oq is not None and nq is not None and nq.value < oq.value:
        cap = parse_quantity(d(old, "status", "capacity", "storage"))
        if cap is None or nq.value <= cap.value:
            errs.append(
                forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")
            )
    errs.extend(immutable("volumeMode", d(new, "spec", "volumeMode"), d(old, "spec", "volumeMode")))
    return errs


_PV_SOURCES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
)


def validate_pv(pv: Obj) -> list[FieldError]:
    errs = validate_object_meta(pv, False, n.name_is_dns_subdomain)
    spec = dd(pv, "spec")
    modes = ll(spec, "accessModes")
    if not modes:
        errs.append(required("spec.accessModes"))
    errs.extend(_validate_access_modes(modes, "spec.accessModes"))
    cap = dd(spec, "capacity")
    if not cap:
        errs.append(required("spec.capacity"))
    if "storage" not in cap or len(cap) > 1:
        errs.append(not_supported("spec.capacity", cap, ("storage",)))
    for k, v in sorted(cap.items()):
        q = parse_quantity(v)
        if q is not None and q.value <= 0:
            errs.append(invalid(f"spec.capacity[{k}]", str(q), "must be greater than zero"))
    rp = spec.get("persistentVolumeReclaimPolicy")
    if rp and rp not in ("Delete", "Recycle", "Retain"):
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", rp, ("Delete", "Recycle", "Retain")))
    count = 0
    for src in _PV_SOURCES:
        if spec.get(src) is None:
            continue
        if count > 0:
            errs.append(forbidden(f"spec.{src}", "may not specify more than 1 volume type"))
            continue
        count += 1
        if src in ("hostPath", "local") and not s(spec, src, "path"):
            errs.append(required(f"spec.{src}.path"))
        if src == "local" and spec.get("nodeAffinity") is None:
            errs.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    if count == 0:
        errs.append(required("spec", "must specify a volume type"))
    scn = s(spec, "storageClassName")
    if scn:
        errs.extend(invalid("spec.storageClassName", scn, m) for m in n.name_is_dns_subdomain(scn, False))
    vm = spec.get("volumeMode")
    if vm is not None and vm not in ("Block", "Filesystem"):
        errs.append(not_supported("spec.volumeMode", vm, ("Block", "Filesystem")))
    return errs


def validate_pv_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_pv(new)
    ns, os_ = dd(new, "spec"), dd(old, "spec")
    nsrc = {k: ns.get(k) for k in _PV_SOURCES if ns.get(k) is not None}
    osrc = {k: os_.get(k) for k in _PV_SOURCES if os_.get(k) is not None}
    if not semantic_equal(nsrc, osrc):
        errs.append(
            forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation\n"
                + spec_diff(osrc, nsrc, "core.PersistentVolumeSource"),
            )
        )
    errs.extend(immutable("volumeMode", ns.get("volumeMode"), os_.get("volumeMode")))
    return errs


# ------------------------------------------------------------------------------------------------------------
# Endpoints, LimitRange, ResourceQuota, Event
# ------------------------------------------------------------------------------------------------------------


def validate_endpoints(ep: Obj, allow_loopback: bool = False) -> list[FieldError]:
    """``allow_loopback``: a lab deviation for process-runtime clusters, whose pods live on 127.0.0.0/8."""
    errs = validate_object_meta(ep, True, n.name_is_dns_subdomain)
    for i, ss in enumerate(ll(ep, "subsets")):
        ip = f"subsets[{i}]"
        if not ll(ss, "addresses") and not ll(ss, "notReadyAddresses"):
            errs.append(required(ip, "must specify `addresses` or `notReadyAddresses`"))
        for group in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(ll(ss, group)):
                ap = f"{ip}.{group}[{j}]"
                errs.extend(invalid(child(ap, "ip"), s(addr, "ip"), m) for m in n.is_valid_ip(s(addr, "ip")))
                if s(addr, "hostname"):
                    errs.extend(
                        invalid(child(ap, "hostname"), s(addr, "hostname"), m)
                        for m in n.is_dns1123_label(s(addr, "hostname"))
                    )
                if d(addr, "nodeName") is not None:
                    errs.extend(
                        invalid(child(ap, "nodeName"), s(addr, "nodeName"), m)
                        for m in n.name_is_dns_subdomain(s(addr, "nodeName"), False)
                    )
                errs.extend(_validate_non_special_ip(s(addr, "ip"), child(ap, "ip"), allow_loopback))
        ports = ll(ss, "ports")
        for j, port in enumerate(ports):
            pp = f"{ip}.ports[{j}]"
            if len(ports) > 1 and not s(port, "name"):
                errs.append(required(child(pp, "name")))
            elif s(port, "name"):
                errs.extend(
                    invalid(child(pp, "name"), s(port, "name"), m)
                    for m in n.is_dns1123_label(s(port, "name"))
                )
            pn = _int(d(port, "port")) or 0
            errs.extend(invalid(child(pp, "port"), pn, m) for m in n.is_valid_port_num(pn))
            proto = s(port, "protocol")
            if not proto:
                errs.append(required(child(pp, "protocol")))
            elif proto not in SUPPORTED_PORT_PROTOCOLS:
                errs.append(not_supported(child(pp, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
    return errs


def validate_limit_range(lr: Obj) -> list[FieldError]:
    errs = validate_object_meta(lr, True, n.name_is_dns_subdomain)
    seen: set[str] = set()
    for i, item in enumerate(ll(lr, "spec", "limits")):
        ip = f"spec.limits[{i}]"
        t = s(item, "type")
        errs.extend(invalid(child(ip, "type"), t, m) for m in n.is_qualified_name(t))
        if t in seen:
            errs.append(duplicate(child(ip, "type"), t))
        seen.add(t)
        if t == "Pod":
            for f in ("default", "defaultRequest"):
                if dd(item, f):
                    errs.append(forbidden(child(ip, f), "may not be specified when `type` is 'Pod'"))
        mins, maxs = dd(item, "min"), dd(item, "max")
        for k in sorted(set(mins) & set(maxs)):
            mq, xq = parse_quantity(mins[k]), parse_quantity(maxs[k])
            if mq is not None and xq is not None and mq.value > xq.value:
                errs.append(
                    invalid(f"{ip}.min[{k}]", str(mq), f"min value {mq} is greater than max value {xq}")
                )
    return errs


def validate_resource_quota(rq: Obj) -> list[FieldError]:
    errs = validate_object_meta(rq, True, n.name_is_dns_subdomain)
    for k, v in sorted(dd(rq, "spec", "hard").items()):
        q = parse_quantity(v)
        if q is not None and q.value < 0:
            errs.append(invalid(f"spec.hard[{k}]", str(q), IS_NEGATIVE))
    return errs


def validate_event(ev: Obj) -> list[FieldError]:
    errs = validate_object_meta(ev, True, n.name_is_dns_subdomain)
    ins = s(ev, "involvedObject", "namespace")
    if ins and ins != s(ev, "metadata", "namespace"):
        errs.append(invalid("involvedObject.namespace", ins, "does not match event.namespace"))
    return errs
