"""Validation of apps/v1 kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.

Mirrors pkg/apis/apps/validation/validation.go (ValidateDeployment(Spec/Update), ValidateReplicaSet(Spec),
ValidateStatefulSet(Spec/Update), ValidateDaemonSet(Spec/Update), ValidatePodTemplateSpecForReplicaSet,
ValidatePositiveIntOrPercent, IsNotMoreThan100Percent, ValidateRollingUpdateDeployment,
ValidateRollingUpdateDaemonSet) and the selector-immutability check the apps/v1 registry strategies add in
ValidateUpdate (pkg/registry/apps/*/strategy.go).

Simplified: StatefulSet templates get the same pod-spec validation as the others (upstream skips volume checks
there), templateGeneration (a pre-apps/v1 DaemonSet field) is not checked.
"""

from __future__ import annotations

from typing import Any

from kubelab.api.errors import FieldError
from kubelab.api.validation import names as n
from kubelab.api.validation.core import validate_pod_template_spec
from kubelab.api.validation.meta import (
    Obj,
    child,
    d,
    dd,
    forbidden,
    immutable,
    invalid,
    nonnegative,
    not_supported,
    required,
    s,
    selector_is_empty,
    selector_matches,
    semantic_equal,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)


def validate_positive_int_or_percent(v: Any, path: str) -> list[FieldError]:
    if isinstance(v, str):
        return [invalid(path, v, m) for m in n.is_valid_percent(v)]
    if isinstance(v, int) and not isinstance(v, bool):
        return nonnegative(path, v)
    return [invalid(path, v, "must be an integer or percentage (e.g '5%%')")]


def _percent(v: Any) -> int | None:
    if isinstance(v, str) and not n.is_valid_percent(v):
        return int(v[:-1])
    return None


def int_or_percent_value(v: Any) -> int:
    p = _percent(v)
    if p is not None:
        return p
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def is_not_more_than_100_percent(v: Any, path: str) -> list[FieldError]:
    p = _percent(v)
    if p is None or p <= 100:
        return []
    return [invalid(path, v, "must not be greater than 100%")]


def _validate_selector(spec: Obj, kind: str) -> list[FieldError]:
    errs: list[FieldError] = []
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(validate_label_selector(sel, "spec.selector"))
        if selector_is_empty(sel):
            errs.append(invalid("spec.selector", sel, f"empty selector is invalid for {kind}"))
    return errs


def _template_for_always_restart(spec: Obj, kind: str, check_spec: bool = True) -> list[FieldError]:
    """ValidatePodTemplateSpecForReplicaSet (and the StatefulSet / DaemonSet equivalents)."""
    errs: list[FieldError] = []
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return [required("spec.template")]
    sel = spec.get("selector")
    labels = d(tmpl, "metadata", "labels")
    if isinstance(sel, dict) and not selector_is_empty(sel) and not selector_matches(sel, labels):
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                labels if isinstance(labels, dict) else None,
                "`selector` does not match template `labels`",
            )
        )
    if check_spec:
        errs.extend(validate_pod_template_spec(tmpl, "spec.template"))
    else:
        errs.extend(validate_labels(labels, "spec.template.labels"))
    rp = s(tmpl, "spec", "restartPolicy")
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
    if d(tmpl, "spec", "activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {kind} is not Supported",
            )
        )
    return errs


# ---- Deployment --------------------------------------------------------------------------------------------


def _validate_deployment_spec(spec: Obj) -> list[FieldError]:
    errs = nonnegative("spec.replicas", spec.get("replicas"))
    errs.extend(_validate_selector(spec, "deployment"))
    errs.extend(_template_for_always_restart(spec, "ReplicaSet"))
    strategy = dd(spec, "strategy")
    st = s(strategy, "type")
    if st == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            errs.append(
                forbidden(
                    "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
                )
            )
    elif st == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            errs.append(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"))
        else:
            p = "spec.strategy.rollingUpdate"
            mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
            errs.extend(validate_positive_int_or_percent(mu, child(p, "maxUnavailable")))
            errs.extend(validate_positive_int_or_percent(ms, child(p, "maxSurge")))
            if int_or_percent_value(mu) == 0 and int_or_percent_value(ms) == 0:
                errs.append(invalid(child(p, "maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"))
            errs.extend(is_not_more_than_100_percent(mu, child(p, "maxUnavailable")))
    else:
        errs.append(not_supported("spec.strategy", strategy, ("Recreate", "RollingUpdate")))
    errs.extend(nonnegative("spec.minReadySeconds", spec.get("minReadySeconds")))
    errs.extend(nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit")))
    pds = spec.get("progressDeadlineSeconds")
    if pds is not None:
        errs.extend(nonnegative("spec.progressDeadlineSeconds", pds))
        if isinstance(pds, int) and pds <= (spec.get("minReadySeconds") or 0):
            errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs


def validate_deployment(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_subdomain) + _validate_deployment_spec(
        dd(obj, "spec")
    )


def validate_deployment_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _validate_deployment_spec(dd(new, "spec"))
    return errs + immutable("spec.selector", d(new, "spec", "selector"), d(old, "spec", "selector"))


# ---- ReplicaSet --------------------------------------------------------------------------------------------


def _validate_replica_set_spec(spec: Obj) -> list[FieldError]:
    errs = nonnegative("spec.replicas", spec.get("replicas"))
    errs.extend(nonnegative("spec.minReadySeconds", spec.get("minReadySeconds")))
    errs.extend(_validate_selector(spec, "deployment"))
    errs.extend(_template_for_always_restart(spec, "ReplicaSet"))
    return errs


def validate_replica_set(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_subdomain) + _validate_replica_set_spec(
        dd(obj, "spec")
    )


def validate_replica_set_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _validate_replica_set_spec(dd(new, "spec"))
    return errs + immutable("spec.selector", d(new, "spec", "selector"), d(old, "spec", "selector"))


# ---- StatefulSet -------------------------------------------------------------------------------------------


def _with_claim_volumes(tmpl: Obj, spec: Obj) -> Obj:
    """The template as the controller will run it: each volumeClaimTemplate becomes a volume of the pod, so
    volumeMounts may name the claim templates (the standard StatefulSet example does)."""
    claims = [c.get("metadata", {}).get("name") for c in spec.get("volumeClaimTemplates") or []
              if isinstance(c, dict)]
    pod_spec = tmpl.get("spec")
    if not claims or not isinstance(pod_spec, dict):
        return tmpl
    have = {v.get("name") for v in pod_spec.get("volumes") or [] if isinstance(v, dict)}
    extra = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in claims if n and n not in have]
    return {**tmpl, "spec": {**pod_spec, "volumes": list(pod_spec.get("volumes") or []) + extra}}


def _validate_statefulset_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    pmp = s(spec, "podManagementPolicy")
    if not pmp:
        errs.append(required("spec.podManagementPolicy"))
    elif pmp not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    us = dd(spec, "updateStrategy")
    ut = s(us, "type")
    if not ut:
        errs.append(required("spec.updateStrategy"))
    elif ut == "OnDelete":
        if us.get("rollingUpdate") is not None:
            errs.append(
                invalid(
                    "spec.updateStrategy.rollingUpdate",
                    us.get("rollingUpdate"),
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            )
    elif ut == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if isinstance(ru, dict):
            p = "spec.updateStrategy.rollingUpdate"
            errs.extend(nonnegative(child(p, "partition"), ru.get("partition")))
            mu = ru.get("maxUnavailable")
            if mu is not None:
                errs.extend(validate_positive_int_or_percent(mu, child(p, "maxUnavailable")))
                if int_or_percent_value(mu) == 0:
                    errs.append(invalid(child(p, "maxUnavailable"), mu, "cannot be 0"))
                errs.extend(is_not_more_than_100_percent(mu, child(p, "maxUnavailable")))
    else:
        errs.append(invalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'"))
    pol = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(pol, dict):
        for f in ("whenDeleted", "whenScaled"):
            v = s(pol, f)
            if v not in ("Retain", "Delete"):
                errs.append(
                    not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{f}", v, ("Retain", "Delete"))
                )
    errs.extend(nonnegative("spec.replicas", spec.get("replicas")))
    errs.extend(nonnegative("spec.minReadySeconds", spec.get("minReadySeconds")))
    if isinstance(spec.get("ordinals"), dict):
        errs.extend(nonnegative("spec.ordinals.start", d(spec, "ordinals", "start")))
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs.extend(validate_label_selector(sel, "spec.selector"))
        if selector_is_empty(sel):
            errs.append(invalid("spec.selector", sel, "empty selector is invalid for statefulset"))
    tmpl = dd(spec, "template")
    labels = d(tmpl, "metadata", "labels")
    if isinstance(sel, dict) and not selector_is_empty(sel) and not selector_matches(sel, labels):
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                labels if isinstance(labels, dict) else None,
                "`selector` does not match template `labels`",
            )
        )
    errs.extend(validate_pod_template_spec(_with_claim_volumes(tmpl, spec), "spec.template"))
    rp = s(tmpl, "spec", "restartPolicy")
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
    if d(tmpl, "spec", "activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in StatefulSet is not Supported",
            )
        )
    return errs


def validate_statefulset(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_label) + _validate_statefulset_spec(dd(obj, "spec"))


STATEFULSET_SPEC_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
    "forbidden"
)


def validate_statefulset_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _validate_statefulset_spec(dd(new, "spec"))
    ns, os_ = dict(dd(new, "spec")), dd(old, "spec")
    for f in (
        "replicas",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "ordinals",
        "persistentVolumeClaimRetentionPolicy",
    ):
        ns.pop(f, None)
        if f in os_:
            ns[f] = os_[f]
    if not semantic_equal(ns, os_):
        errs.append(forbidden("spec", STATEFULSET_SPEC_FORBIDDEN))
    return errs


# ---- DaemonSet ---------------------------------------------------------------------------------------------


def _validate_daemonset_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    sel = spec.get("selector")
    errs.extend(validate_label_selector(sel, "spec.selector"))
    tmpl = dd(spec, "template")
    labels = d(tmpl, "metadata", "labels")
    if not selector_matches(sel, labels):
        errs.append(
            invalid(
                "spec.template.metadata.labels",
                labels if isinstance(labels, dict) else None,
                "`selector` does not match template `labels`",
            )
        )
    if isinstance(sel, dict) and selector_is_empty(sel):
        errs.append(invalid("spec.selector", sel, "empty selector is invalid for daemonset"))
    errs.extend(validate_pod_template_spec(tmpl, "spec.template"))
    rp = s(tmpl, "spec", "restartPolicy")
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
    if d(tmpl, "spec", "activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in DaemonSet is not Supported",
            )
        )
    errs.extend(nonnegative("spec.minReadySeconds", spec.get("minReadySeconds")))
    us = dd(spec, "updateStrategy")
    ut = s(us, "type")
    if ut == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if not isinstance(ru, dict):
            errs.append(required("spec.updateStrategy.rollingUpdate"))
        else:
            p = "spec.updateStrategy.rollingUpdate"
            mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
            errs.extend(validate_positive_int_or_percent(mu, child(p, "maxUnavailable")))
            errs.extend(validate_positive_int_or_percent(ms, child(p, "maxSurge")))
            errs.extend(is_not_more_than_100_percent(mu, child(p, "maxUnavailable")))
            errs.extend(is_not_more_than_100_percent(ms, child(p, "maxSurge")))
            has_u, has_s = int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0
            if has_u and has_s:
                errs.append(
                    invalid(child(p, "maxSurge"), ms, "may not be set when maxUnavailable is non-zero")
                )
            elif not has_u and not has_s:
                errs.append(required(child(p, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    elif ut != "OnDelete":
        errs.append(not_supported("spec.updateStrategy", us, ("RollingUpdate", "OnDelete")))
    errs.extend(nonnegative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit")))
    return errs


def validate_daemonset(obj: Obj) -> list[FieldError]:
    return validate_object_meta(obj, True, n.name_is_dns_subdomain) + _validate_daemonset_spec(
        dd(obj, "spec")
    )


def validate_daemonset_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + _validate_daemonset_spec(dd(new, "spec"))
    return errs + immutable("spec.selector", d(new, "spec", "selector"), d(old, "spec", "selector"))


# ---- ControllerRevision ------------------------------------------------------------------------------------


def validate_controller_revision(obj: Obj) -> list[FieldError]:
    errs = validate_object_meta(obj, True, n.name_is_dns_subdomain)
    if obj.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    return errs + nonnegative("revision", obj.get("revision"))


def validate_controller_revision_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_object_meta_update(new, old) + validate_controller_revision(new)
    return errs + immutable("data", new.get("data"), old.get("data"))
