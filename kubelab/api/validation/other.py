"""Validation of the remaining groups: RBAC, policy (PodDisruptionBudget), storage (StorageClass), scheduling
(PriorityClass), coordination (Lease), networking (Ingress, IngressClass, NetworkPolicy), discovery
(EndpointSlice), autoscaling (HorizontalPodAutoscaler), apiextensions (CustomResourceDefinition) and the
metadata of custom resources.

Mirrors pkg/apis/rbac/validation, pkg/apis/policy/validation, pkg/apis/storage/validation,
pkg/apis/scheduling/validation, pkg/apis/coordination/validation, pkg/apis/networking/validation,
pkg/apis/discovery/validation, pkg/apis/autoscaling/validation and
staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation
(ValidateCustomResourceDefinition, ...SpecUpdate, ...Names, ...StoredVersions) plus the structural-schema root
checks.

Simplified: CRD OpenAPI schemas are only checked at the root (present, type object) and CEL rules are not
compiled; custom resources get metadata validation only (schema validation belongs to whoever decodes them);
NetworkPolicy peers and EndpointSlice endpoints get the basic shape checks.
"""

from __future__ import annotations

from typing import Any

from kubelab.api.errors import FieldError
from kubelab.api.validation import names as n
from kubelab.api.validation.apps import is_not_more_than_100_percent, validate_positive_int_or_percent
from kubelab.api.validation.core import SUPPORTED_PORT_PROTOCOLS
from kubelab.api.validation.meta import (
    FIELD_IMMUTABLE,
    Obj,
    child,
    d,
    dd,
    duplicate,
    forbidden,
    immutable,
    index,
    invalid,
    ll,
    not_supported,
    required,
    s,
    semantic_equal,
    too_long,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

RBAC_GROUP = "rbac.authorization.k8s.io"

# ------------------------------------------------------------------------------------------------------------
# RBAC
# ------------------------------------------------------------------------------------------------------------


def _validate_policy_rule(rule: Any, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not ll(rule, "verbs"):
        errs.append(required(child(path, "verbs"), "verbs must contain at least one value"))
    urls = ll(rule, "nonResourceURLs")
    if urls:
        if namespaced:
            errs.append(
                invalid(
                    child(path, "nonResourceURLs"), urls, "namespaced rules cannot apply to non-resource URLs"
                )
            )
        if ll(rule, "apiGroups") or ll(rule, "resources") or ll(rule, "resourceNames"):
            errs.append(
                invalid(
                    child(path, "nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return errs
    if not ll(rule, "apiGroups"):
        errs.append(required(child(path, "apiGroups"), "resource rules must supply at least one api group"))
    if not ll(rule, "resources"):
        errs.append(required(child(path, "resources"), "resource rules must supply at least one resource"))
    return errs


def validate_role(obj: Obj, namespaced: bool) -> list[FieldError]:
    errs = validate_object_meta(obj, namespaced, n.path_segment_name)
    for i, rule in enumerate(ll(obj, "rules")):
        errs.extend(_validate_policy_rule(rule, namespaced, f"rules[{i}]"))
    return errs


def validate_role_update(new: Obj, old: Obj, namespaced: bool) -> list[FieldError]:
    return validate_role(new, namespaced) + validate_object_meta_update(new, old)


def _validate_subject(subj: Any, namespaced: bool, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name, kind, group = s(subj, "name"), s(subj, "kind"), s(subj, "apiGroup")
    if not name:
        errs.append(required(child(path, "name")))
    if kind == "ServiceAccount":
        if name:
            errs.extend(invalid(child(path, "name"), name, m) for m in n.name_is_dns_subdomain(name, False))
        if group:
            errs.append(not_supported(child(path, "apiGroup"), group, ("",)))
        if not namespaced and not s(subj, "namespace"):
            errs.append(required(child(path, "namespace")))
    elif kind in ("User", "Group"):
        if not name:
            errs.append(invalid(child(path, "name"), name, f"{kind.lower()} name cannot be empty"))
        if group != RBAC_GROUP:
            errs.append(not_supported(child(path, "apiGroup"), group, (RBAC_GROUP,)))
    else:
        errs.append(not_supported(child(path, "kind"), kind, ("ServiceAccount", "User", "Group")))
    return errs


def validate_binding(obj: Obj, namespaced: bool) -> list[FieldError]:
    errs = validate_object_meta(obj, namespaced, n.path_segment_name)
    ref = dd(obj, "roleRef")
    if s(ref, "apiGroup") != RBAC_GROUP:
        errs.append(not_supported("roleRef.apiGroup", s(ref, "apiGroup"), (RBAC_GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if s(ref, "kind") not in kinds:
        errs.append(not_supported("roleRef.kind", s(ref, "kind"), kinds))
    if not s(ref, "name"):
        errs.append(required("roleRef.name"))
    else:
        errs.extend(
            invalid("roleRef.name", s(ref, "name"), m) for m in n.path_segment_name(s(ref, "name"), False)
        )
    for i, subj in enumerate(ll(obj, "subjects")):
        errs.extend(_validate_subject(subj, namespaced, f"subjects[{i}]"))
    return errs


def validate_binding_update(new: Obj, old: Obj, namespaced: bool) -> list[FieldError]:
    errs = validate_binding(new, namespaced) + validate_object_meta_update(new, old)
    if not semantic_equal(new.get("roleRef"), old.get("roleRef")):
        errs.append(invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))
    return errs


# ------------------------------------------------------------------------------------------------------------
# PodDisruptionBudget
# ------------------------------------------------------------------------------------------------------------


def validate_pdb(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_subdomain) + _validate_pdb_spec(dd(obj, "spec"))


def _validate_pdb_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for f in ("minAvailable", "maxUnavailable"):
        if spec.get(f) is not None:
            errs.extend(validate_positive_int_or_percent(spec[f], f"spec.{f}"))
            errs.extend(is_not_more_than_100_percent(spec[f], f"spec.{f}"))
    errs.extend(validate_label_selector(spec.get("selector"), "spec.selector"))
    uper = spec.get("unhealthyPodEvictionPolicy")
    if uper is not None and uper not in ("AlwaysAllow", "IfHealthyBudget"):
        errs.append(
            not_supported("spec.unhealthyPodEvictionPolicy", uper, ("AlwaysAllow", "IfHealthyBudget"))
        )
    return errs


def validate_pdb_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + _validate_pdb_spec(dd(new, "spec"))


# ------------------------------------------------------------------------------------------------------------
# StorageClass, PriorityClass, Lease
# ------------------------------------------------------------------------------------------------------------


def validate_storage_class(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, False, n.name_is_dns_subdomain)
    prov = s(obj, "provisioner")
    if not prov:
        errs.append(required("provisioner"))
    else:
        errs.extend(invalid("provisioner", prov, m) for m in n.is_qualified_name(prov.lower()))
    params = dd(obj, "parameters")
    if len(params) > 512:
        errs.append(too_long("parameters", 512))
    else:
        total = 0
        for k in sorted(params):
            if not k:
                errs.append(invalid("parameters", k, "field can not be empty."))
            total += len(k) + len(str(params[k]))
        if total > 256 * 1024:
            errs.append(too_long("parameters", 256 * 1024))
    rp = obj.get("reclaimPolicy")
    if rp is not None and rp not in ("Delete", "Retain"):
        errs.append(not_supported("reclaimPolicy", rp, ("Delete", "Retain")))
    vbm = obj.get("volumeBindingMode")
    if vbm is None:
        errs.append(required("volumeBindingMode"))
    elif vbm not in ("Immediate", "WaitForFirstConsumer"):
        errs.append(not_supported("volumeBindingMode", vbm, ("Immediate", "WaitForFirstConsumer")))
    return errs


def validate_storage_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    if not semantic_equal(new.get("parameters"), old.get("parameters")):
        errs.append(forbidden("parameters", "updates to parameters are forbidden."))
    if s(new, "provisioner") != s(old, "provisioner"):
        errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    errs.extend(immutable("volumeBindingMode", new.get("volumeBindingMode"), old.get("volumeBindingMode")))
    return errs


_SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def validate_priority_class(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, False, n.name_is_dns_subdomain)
    name = s(obj, "metadata", "name")
    raw = obj.get("value")
    value: int = raw if isinstance(raw, int) else 0
    if name.startswith("system-"):
        err = ""
        if name not in _SYSTEM_PRIORITY_CLASSES:
            err = f"{name} is not a known system priority class"
        elif value != _SYSTEM_PRIORITY_CLASSES[name]:
            err = f"value of {name} PriorityClass must be {_SYSTEM_PRIORITY_CLASSES[name]}"
        elif obj.get("globalDefault") is True:
            err = f"globalDefault of {name} PriorityClass must be false"
        if err:
            errs.append(
                forbidden(
                    "metadata.name",
                    "priority class names with 'system-' prefix are reserved for "
                    f"system use only. error: {err}",
                )
            )
    elif value > 1000000000:
        errs.append(forbidden("value", "maximum allowed value of a user defined priority is 1000000000"))
    pp = obj.get("preemptionPolicy")
    if pp is not None:
        if pp == "":
            errs.append(required("preemptionPolicy"))
        elif pp not in ("PreemptLowerPriority", "Never"):
            errs.append(not_supported("preemptionPolicy", pp, ("PreemptLowerPriority", "Never")))
    return errs


def validate_priority_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    if new.get("value") != old.get("value"):
        errs.append(forbidden("value", "may not be changed in an update."))
    return errs + immutable("preemptionPolicy", new.get("preemptionPolicy"), old.get("preemptionPolicy"))


def _validate_lease_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    lds = spec.get("leaseDurationSeconds")
    if isinstance(lds, int) and lds <= 0:
        errs.append(invalid("spec.leaseDurationSeconds", lds, "must be greater than 0"))
    lt = spec.get("leaseTransitions")
    if isinstance(lt, int) and lt < 0:
        errs.append(invalid("spec.leaseTransitions", lt, "must be greater than or equal to 0"))
    strat = spec.get("strategy")
    if strat is not None:
        if "/" not in str(strat):
            if strat != "OldestEmulationVersion":
                errs.append(not_supported("spec.strategy.strategy", strat, ("OldestEmulationVersion",)))
        else:
            errs.extend(invalid("spec.strategy.strategy", strat, m) for m in n.is_qualified_name(str(strat)))
    if s(spec, "preferredHolder") and not strat:
        errs.append(forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    return errs


def validate_lease(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_subdomain) + _validate_lease_spec(dd(obj, "spec"))


def validate_lease_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + _validate_lease_spec(dd(new, "spec"))


# ------------------------------------------------------------------------------------------------------------
# networking.k8s.io
# ------------------------------------------------------------------------------------------------------------

_WILDCARD_FMT = "\\*\\." + n.DNS1123_SUBDOMAIN_FMT
_WILDCARD_ERR = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character"
)


def _is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    import re

    errs: list[str] = []
    if len(value) > 253:
        errs.append(n.max_len_error(253))
    if not re.match("^" + _WILDCARD_FMT + "$", value):
        errs.append(n.regex_error(_WILDCARD_ERR, _WILDCARD_FMT, "*.example.com"))
    return errs


def _validate_host(host: str, path: str) -> list[FieldError]:
    if n.parse_ip(host) is not None:
        return [invalid(path, host, "must be a DNS name, not an IP address")]
    msgs = _is_wildcard_dns1123_subdomain(host) if "*" in host else n.is_dns1123_subdomain(host)
    return [invalid(path, host, m) for m in msgs]


def _validate_ingress_backend(b: Obj, path: str) -> list[FieldError]:
    has_res, has_svc = b.get("resource") is not None, b.get("service") is not None
    if has_res and has_svc:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if has_res:
        errs: list[FieldError] = []
        for f in ("kind", "name"):
            if not s(b, "resource", f):
                errs.append(required(child(path, "resource", f)))
        return errs
    if not has_svc:
        return [invalid(path, "", "resource or service backend is required")]
    errs = []
    name = s(b, "service", "name")
    if not name:
        errs.append(required(child(path, "service", "name")))
    else:
        errs.extend(
            invalid(child(path, "service", "name"), name, m) for m in n.name_is_dns1035_label(name, False)
        )
    pname = s(b, "service", "port", "name")
    pnum = d(b, "service", "port", "number") or 0
    if pname and pnum:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif pname:
        errs.extend(
            invalid(child(path, "service", "port", "name"), pname, m) for m in n.is_valid_port_name(pname)
        )
    elif pnum:
        errs.extend(
            invalid(child(path, "service", "port", "number"), pnum, m) for m in n.is_valid_port_num(int(pnum))
        )
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def validate_ingress(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    spec = dd(obj, "spec")
    rules = ll(spec, "rules")
    if not rules and spec.get("defaultBackend") is None:
        errs.append(
            invalid("spec", spec.get("rules"), "either `defaultBackend` or `rules` must be specified")
        )
    if isinstance(spec.get("defaultBackend"), dict):
        errs.extend(_validate_ingress_backend(spec["defaultBackend"], "spec.defaultBackend"))
    for i, rule in enumerate(rules):
        rp = f"spec.rules[{i}]"
        if s(rule, "host"):
            errs.extend(_validate_host(s(rule, "host"), child(rp, "host")))
        http = d(rule, "http")
        if isinstance(http, dict):
            paths = ll(http, "paths")
            if not paths:
                errs.append(required(child(rp, "http", "paths")))
            for j, p in enumerate(paths):
                pp = f"{rp}.http.paths[{j}]"
                pt = d(p, "pathType")
                path_s = s(p, "path")
                if pt is None:
                    errs.append(required(child(pp, "pathType"), "pathType must be specified"))
                    continue
                if pt in ("Exact", "Prefix"):
                    if not path_s.startswith("/"):
                        errs.append(invalid(child(pp, "path"), path_s, "must be an absolute path"))
                    for seq in ("//", "/./", "/../", "%2f", "%2F"):
                        if seq in path_s:
                            errs.append(invalid(child(pp, "path"), path_s, f"must not contain '{seq}'"))
                    for suf in ("/..", "/."):
                        if path_s.endswith(suf):
                            errs.append(invalid(child(pp, "path"), path_s, f"cannot end with '{suf}'"))
                elif pt == "ImplementationSpecific":
                    if path_s and not path_s.startswith("/"):
                        errs.append(invalid(child(pp, "path"), path_s, "must be an absolute path"))
                else:
                    errs.append(not_supported(child(pp, "pathType"), pt, _PATH_TYPES))
                errs.extend(_validate_ingress_backend(dd(p, "backend"), child(pp, "backend")))
    for i, tls in enumerate(ll(spec, "tls")):
        for j, host in enumerate(ll(tls, "hosts")):
            errs.extend(_validate_host(str(host), f"spec.tls[{i}].hosts[{j}]"))
    icn = spec.get("ingressClassName")
    if icn is not None:
        errs.extend(
            invalid("spec.ingressClassName", icn, m) for m in n.name_is_dns_subdomain(str(icn), False)
        )
        ann = s(obj, "metadata", "annotations", "kubernetes.io/ingress.class")
        if ann:
            errs.append(
                invalid(
                    "annotations.kubernetes.io/ingress.class",
                    ann,
                    "can not be set when the class field is also set",
                )
            )
    return errs


def validate_ingress_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_ingress(new)


def validate_ingress_class(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, False, n.name_is_dns_subdomain) + _validate_ingress_class_spec(obj)


def _validate_ingress_class_spec(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    ctrl = s(obj, "spec", "controller")
    if not ctrl:
        errs.append(required("spec.controller"))
    else:
        parts = ctrl.split("/", 1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            errs.append(
                invalid("spec.controller", ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")')
            )
        else:
            errs.extend(invalid("spec.controller", parts[0], m) for m in n.is_dns1123_subdomain(parts[0]))
        if len(ctrl) > 250:
            errs.append(too_long("spec.controller", 250))
    return errs


def validate_ingress_class_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old)
    if s(new, "spec", "controller") != s(old, "spec", "controller"):
        errs.append(invalid("spec.controller", s(new, "spec", "controller"), FIELD_IMMUTABLE))
    return errs + _validate_ingress_class_spec(new)


def _validate_np_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, p in enumerate(ports):
        pp = index(path, i)
        proto = d(p, "protocol")
        if proto is not None and proto not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(not_supported(child(pp, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
        port = d(p, "port")
        if isinstance(port, int) and not isinstance(port, bool):
            errs.extend(invalid(child(pp, "port"), port, m) for m in n.is_valid_port_num(port))
        elif isinstance(port, str):
            errs.extend(invalid(child(pp, "port"), port, m) for m in n.is_valid_port_name(port))
        end = d(p, "endPort")
        if end is not None:
            if not isinstance(port, int):
                errs.append(required(child(pp, "port"), "must specify port when endPort is set"))
            elif isinstance(end, int) and end < port:
                errs.append(invalid(child(pp, "endPort"), end, "must be greater than or equal to `port`"))
    return errs


def _validate_np_peers(peers: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, peer in enumerate(peers):
        pp = index(path, i)
        count = 0
        if isinstance(d(peer, "podSelector"), dict):
            count += 1
            errs.extend(validate_label_selector(d(peer, "podSelector"), child(pp, "podSelector")))
        if isinstance(d(peer, "namespaceSelector"), dict):
            count += 1
            errs.extend(validate_label_selector(d(peer, "namespaceSelector"), child(pp, "namespaceSelector")))
        if isinstance(d(peer, "ipBlock"), dict):
            count += 1
            cidr = s(peer, "ipBlock", "cidr")
            if not cidr:
                errs.append(required(child(pp, "ipBlock", "cidr")))
            else:
                errs.extend(invalid(child(pp, "ipBlock", "cidr"), cidr, m) for m in n.is_valid_cidr(cidr))
        if count == 0:
            errs.append(required(pp, "must specify a peer"))
        elif count > 1 and isinstance(d(peer, "ipBlock"), dict):
            errs.append(forbidden(pp, "may not specify both ipBlock and another peer"))
    return errs


def validate_network_policy(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    spec = dd(obj, "spec")
    errs.extend(validate_label_selector(spec.get("podSelector"), "spec.podSelector"))
    for i, rule in enumerate(ll(spec, "ingress")):
        errs.extend(_validate_np_ports(ll(rule, "ports"), f"spec.ingress[{i}].ports"))
        errs.extend(_validate_np_peers(ll(rule, "from"), f"spec.ingress[{i}].from"))
    for i, rule in enumerate(ll(spec, "egress")):
        errs.extend(_validate_np_ports(ll(rule, "ports"), f"spec.egress[{i}].ports"))
        errs.extend(_validate_np_peers(ll(rule, "to"), f"spec.egress[{i}].to"))
    types = ll(spec, "policyTypes")
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            errs.append(not_supported(f"spec.policyTypes[{i}]", t, ("Ingress", "Egress")))
    if len(types) > 2:
        errs.append(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"))
    return errs


def validate_network_policy_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_network_policy(new)


# ------------------------------------------------------------------------------------------------------------
# EndpointSlice
# ------------------------------------------------------------------------------------------------------------


def validate_endpoint_slice(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    at = s(obj, "addressType")
    if not at:
        errs.append(required("addressType"))
    elif at not in ("FQDN", "IPv4", "IPv6"):
        errs.append(not_supported("addressType", at, ("FQDN", "IPv4", "IPv6")))
    for i, ep in enumerate(ll(obj, "endpoints")):
        ep_path = f"endpoints[{i}]"
        addrs = ll(ep, "addresses")
        if not addrs:
            errs.append(required(child(ep_path, "addresses"), "must contain at least 1 address"))
        elif len(addrs) > 100:
            errs.append(invalid(child(ep_path, "addresses"), addrs, "may not have more than 100 addresses"))
        for j, a in enumerate(addrs):
            ap = index(child(ep_path, "addresses"), j)
            ip = n.parse_ip(str(a))
            if at == "IPv4" and (ip is None or ip.version != 4):
                errs.append(invalid(ap, a, "must be a valid IPv4 address"))
            elif at == "IPv6" and (ip is None or ip.version != 6):
                errs.append(invalid(ap, a, "must be a valid IPv6 address"))
            elif at == "FQDN":
                errs.extend(invalid(ap, a, m) for m in n.is_dns1123_subdomain(str(a)))
        if s(ep, "hostname"):
            errs.extend(
                invalid(child(ep_path, "hostname"), s(ep, "hostname"), m)
                for m in n.is_dns1123_label(s(ep, "hostname"))
            )
    names: set[str] = set()
    for i, p in enumerate(ll(obj, "ports")):
        pp = f"ports[{i}]"
        name = d(p, "name")
        if isinstance(name, str) and name:
            errs.extend(invalid(child(pp, "name"), name, m) for m in n.is_dns1123_label(name))
        key_name = name if isinstance(name, str) else ""
        if key_name in names:
            errs.append(duplicate(child(pp, "name"), name))
        names.add(key_name)
        proto = d(p, "protocol")
        if proto is not None and proto not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(not_supported(child(pp, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
        port = d(p, "port")
        if isinstance(port, int):
            errs.extend(invalid(child(pp, "port"), port, m) for m in n.is_valid_port_num(port))
    return errs


def validate_endpoint_slice_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + validate_endpoint_slice(new)
    return errs + immutable("addressType", s(new, "addressType"), s(old, "addressType"))


# ------------------------------------------------------------------------------------------------------------
# HorizontalPodAutoscaler
# ------------------------------------------------------------------------------------------------------------


def validate_hpa(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    spec = dd(obj, "spec")
    mn, mx = spec.get("minReplicas"), spec.get("maxReplicas", 0)
    if isinstance(mn, int) and mn < 1:
        errs.append(invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
    if not isinstance(mx, int) or mx < 1:
        errs.append(invalid("spec.maxReplicas", mx, "must be greater than 0"))
    if isinstance(mn, int) and isinstance(mx, int) and mx < mn:
        errs.append(invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
    ref = dd(spec, "scaleTargetRef")
    for f in ("kind", "name"):
        v = s(ref, f)
        if not v:
            errs.append(required(f"spec.scaleTargetRef.{f}"))
        else:
            errs.extend(invalid(f"spec.scaleTargetRef.{f}", v, m) for m in n.is_valid_path_segment_name(v))
    for i, m in enumerate(ll(spec, "metrics")):
        mt = s(m, "type")
        if mt not in ("ContainerResource", "External", "Object", "Pods", "Resource"):
            errs.append(
                not_supported(
                    f"spec.metrics[{i}].type",
                    mt,
                    ("ContainerResource", "External", "Object", "Pods", "Resource"),
                )
            )
    return errs


def validate_hpa_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old) + validate_hpa(new)


# ------------------------------------------------------------------------------------------------------------
# CustomResourceDefinition and custom resources
# ------------------------------------------------------------------------------------------------------------

_PROTECTED_GROUP_SUFFIXES = (".k8s.io", ".kubernetes.io")
_APPROVAL_ANNOTATION = "api-approved.kubernetes.io"


def _validate_crd_names(names_: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in ("plural", "singular"):
        v = s(names_, f)
        if v:
            msgs = n.is_dns1035_label(v)
            if msgs:
                errs.append(invalid(child(path, f), v, ",".join(msgs)))
    for f in ("kind", "listKind"):
        v = s(names_, f)
        if v:
            msgs = n.is_dns1035_label(v.lower())
            if msgs:
                errs.append(
                    invalid(
                        child(path, f),
                        v,
                        "may have mixed case, but should otherwise match: " + ",".join(msgs),
                    )
                )
    for i, sn in enumerate(ll(names_, "shortNames")):
        msgs = n.is_dns1035_label(str(sn))
        if msgs:
            errs.append(invalid(index(child(path, "shortNames"), i), sn, ",".join(msgs)))
    if s(names_, "kind") and s(names_, "kind") == s(names_, "listKind"):
        errs.append(
            invalid(child(path, "listKind"), s(names_, "listKind"), "kind and listKind may not be the same")
        )
    for i, cat in enumerate(ll(names_, "categories")):
        msgs = n.is_dns1035_label(str(cat))
        if msgs:
            errs.append(invalid(index(child(path, "categories"), i), cat, ",".join(msgs)))
    return errs


def _validate_crd_spec(crd: Obj) -> list[FieldError]:
    spec = dd(crd, "spec")
    errs: list[FieldError] = []
    group = s(spec, "group")
    if not group:
        errs.append(required("spec.group"))
    elif n.is_dns1123_subdomain(group):
        errs.append(invalid("spec.group", group, ",".join(n.is_dns1123_subdomain(group))))
    elif len(group.split(".")) < 2:
        errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = s(spec, "scope")
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(not_supported("spec.scope", scope, ("Cluster", "Namespaced")))
    versions = ll(spec, "versions")
    storage_count = 0
    seen: set[str] = set()
    unique = True
    for i, v in enumerate(versions):
        vp = f"spec.versions[{i}]"
        if d(v, "storage") is True:
            storage_count += 1
        name = s(v, "name")
        if name in seen:
            unique = False
        seen.add(name)
        msgs = n.is_dns1035_label(name)
        if msgs:
            errs.append(invalid(child(vp, "name"), name, ",".join(msgs)))
        schema = d(v, "schema", "openAPIV3Schema")
        sp = child(vp, "schema", "openAPIV3Schema")
        if not isinstance(schema, dict):
            errs.append(required(sp, "schemas are required"))
        else:
            t = schema.get("type")
            if not t:
                errs.append(required(child(sp, "type"), "must not be empty at the root"))
            elif t != "object":
                errs.append(invalid(child(sp, "type"), t, "must be object at the root"))
    if not unique:
        errs.append(invalid("spec.versions", versions, "must contain unique version names"))
    if storage_count != 1:
        errs.append(
            invalid(
                "spec.versions", versions or None, "must have exactly one version marked as storage version"
            )
        )
    names_ = dd(spec, "names")
    for f in ("plural", "singular", "kind", "listKind"):
        if not s(names_, f):
            errs.append(required(f"spec.names.{f}"))
    errs.extend(_validate_crd_names(names_, "spec.names"))
    conv = s(spec, "conversion", "strategy")
    if conv and conv not in ("None", "Webhook"):
        errs.append(not_supported("spec.conversion.strategy", conv, ("None", "Webhook")))
    return errs


def _validate_crd_approval(crd: Obj) -> list[FieldError]:
    group = s(crd, "spec", "group")
    if not (group.endswith(_PROTECTED_GROUP_SUFFIXES) or group in ("k8s.io", "kubernetes.io")):
        return []
    if not s(crd, "metadata", "annotations", _APPROVAL_ANNOTATION):
        return [
            required(
                f"metadata.annotations[{_APPROVAL_ANNOTATION}]",
                f'protected groups must have approval annotation "{_APPROVAL_ANNOTATION}", see '
                "https://github.com/kubernetes/enhancements/pull/1111",
            )
        ]
    return []


def _crd_name_fn(crd: Obj) -> n.NameFn:
    required_name = s(crd, "spec", "names", "plural") + "." + s(crd, "spec", "group")

    def fn(name: str, prefix: bool) -> list[str]:
        ret = n.name_is_dns_subdomain(name, prefix)
        if name != required_name:
            ret.append('must be spec.names.plural+"."+spec.group')
        return ret

    return fn


def validate_crd(crd: Obj) -> list[FieldError]:
    errs = validate_object_meta(crd, False, _crd_name_fn(crd), kube_finalizers=False)
    errs.extend(_validate_crd_spec(crd))
    errs.extend(_validate_crd_names(dd(crd, "status", "acceptedNames"), "status.acceptedNames"))
    errs.extend(_validate_crd_approval(crd))
    return errs


def validate_crd_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old, kube_finalizers=False)
    errs.extend(_validate_crd_spec(new))
    ns, os_ = dd(new, "spec"), dd(old, "spec")
    errs.extend(immutable("spec.scope", s(ns, "scope"), s(os_, "scope")))
    errs.extend(immutable("spec.names.kind", s(ns, "names", "kind"), s(os_, "names", "kind")))
    errs.extend(immutable("spec.group", s(ns, "group"), s(os_, "group")))
    errs.extend(immutable("spec.names.plural", s(ns, "names", "plural"), s(os_, "names", "plural")))
    errs.extend(_validate_crd_names(dd(new, "status", "acceptedNames"), "status.acceptedNames"))
    served = {s(v, "name") for v in ll(ns, "versions")}
    for i, sv in enumerate(ll(new, "status", "storedVersions")):
        if sv not in served:
            errs.append(invalid(f"status.storedVersions[{i}]", sv, "must appear in spec.versions"))
    return errs


def validate_custom_resource(obj: Obj, namespaced: bool) -> list[FieldError]:
    return validate_object_meta(obj, namespaced, n.name_is_dns_subdomain, kube_finalizers=False)


def validate_custom_resource_update(new: Obj, old: Obj) -> list[FieldError]:
    return validate_object_meta_update(new, old, kube_finalizers=False)
