"""field.Error builders and ObjectMeta / label / selector validation, with upstream's exact texts.

Mirrors k8s.io/apimachinery/pkg/util/validation/field (Required, Invalid, NotSupported, Forbidden, Duplicate,
NotFound, TooLong and how ErrorBody renders a bad value), k8s.io/apimachinery/pkg/api/validation/objectmeta.go
(ValidateObjectMeta, ValidateObjectMetaUpdate, annotations size, owner references, finalizers),
k8s.io/apimachinery/pkg/apis/meta/v1/validation (ValidateLabels, ValidateLabelSelector) and the core wrapper
in pkg/apis/core/validation/validation.go (validateKubeFinalizerName).

Bad values render as apimachinery does since 1.34 (kubernetes PR #132314): strings quoted, numbers and
booleans plain, maps/lists/structs as compact JSON. Simplified: structs render from our JSON dicts (camelCase
keys), where upstream marshals its internal Go structs; resourceVersion on update is not checked (the API
server fills it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kubelab.api.errors import FieldError
from kubelab.api.validation import names as n

Obj = dict[str, Any]

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
ANNOTATIONS_MAX = 256 * 1024


class Rendered:
    """A bad value already rendered the way field.Error.ErrorBody prints it (FieldError shows str(value))."""

    def __init__(self, text: str, raw: Any = None) -> None:
        self.text = text
        self.raw = raw

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Rendered({self.text!r})"


def _go_order(value: Any) -> Any:
    """Key order closer to json.Marshal of the Go value: maps of strings (labels, selectors, data) come out
    sorted as Go sorts map keys; an embedded ObjectMeta comes first as it does in Go structs."""
    if isinstance(value, dict):
        if value and all(isinstance(v, str) for v in value.values()):
            return dict(sorted(value.items()))
        out = {k: _go_order(v) for k, v in value.items()}
        if "metadata" in out:
            out = {"metadata": out.pop("metadata"), **out}
        return out
    if isinstance(value, list):
        return [_go_order(v) for v in value]
    return value


def jv(value: Any, sort_keys: bool = False) -> Any:
    """The bad value as ErrorBody shows it: str/int pass through (FieldError formats them), rest as JSON."""
    if (
        value is None
        or isinstance(value, (str, Rendered))
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    if isinstance(value, float):
        return Rendered(json.dumps(value), value)
    return Rendered(
        json.dumps(
            _go_order(value), separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False, default=str
        ),
        value,
    )


def go_string_slice(values: Iterable[str]) -> str:
    """fmt's %#v of a []string, used by a few messages that format the list themselves."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def go_time(value: Any) -> Any:
    """metav1.Time is a fmt.Stringer: '2024-05-01 10:00:00 +0000 UTC'."""
    if not isinstance(value, str):
        return jv(value)
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return Rendered(t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"), value)


# ---- paths -------------------------------------------------------------------------------------------------


def child(path: str, *names: str) -> str:
    for name in names:
        path = f"{path}.{name}" if path else name
    return path


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


# ---- error builders ----------------------------------------------------------------------------------------


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "Required value", detail, None, "FieldValueRequired")


def invalid(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(path, "Invalid value", detail, jv(value), "FieldValueInvalid")


def invalid_rendered(path: str, text: str, detail: str = "") -> FieldError:
    return FieldError(path, "Invalid value", detail, Rendered(text), "FieldValueInvalid")


def not_supported(path: str, value: Any, valid: Iterable[str]) -> FieldError:
    vals = list(valid)
    detail = "supported values: " + ", ".join(json.dumps(v) for v in vals) if vals else ""
    return FieldError(path, "Unsupported value", detail, jv(value), "FieldValueNotSupported")


def forbidden(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "Forbidden", detail, None, "FieldValueForbidden")


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, "Duplicate value", "", jv(value), "FieldValueDuplicate")


def not_found(path: str, value: Any) -> FieldError:
    """field.NotFound renders its value; shared FieldError does that for few types, so it is the detail."""
    shown = json.dumps(value) if isinstance(value, str) else str(jv(value))
    return FieldError(path, "Not found", shown, jv(value), "FieldValueNotFound")


def too_long(path: str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(
        path, "Too long", f"may not be more than {max_length} {unit}", None, "FieldValueTooLong"
    )


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    return FieldError(
        path, "Too many", f"{actual}: must have at most {maximum} items", None, "FieldValueTooMany"
    )


def immutable(path: str, new: Any, old: Any, render: Any = None) -> list[FieldError]:
    """ValidateImmutableField: Invalid(path, newVal, "field is immutable") when the values differ."""
    if semantic_equal(new, old):
        return []
    return [invalid(path, new if render is None else render, FIELD_IMMUTABLE)]


def normalized(value: Any) -> Any:
    """Drop null/empty values recursively: Semantic.DeepEqual treats nil and empty slices/maps as equal, and
    an absent JSON field decodes to the zero value."""
    if isinstance(value, dict):
        out = {k: normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    na, nb = normalized(a), normalized(b)
    if na in (None, {}, [], "") and nb in (None, {}, [], ""):
        return True
    return bool(na == nb)


def nonnegative(path: str, value: Any) -> list[FieldError]:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, IS_NEGATIVE)]
    return []


# ---- small accessors ---------------------------------------------------------------------------------------


def d(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]... or None when any step is missing or not a dict."""
    cur = obj
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def dd(obj: Any, *keys: str) -> Obj:
    v = d(obj, *keys)
    return v if isinstance(v, dict) else {}


def ll(obj: Any, *keys: str) -> list[Any]:
    v = d(obj, *keys)
    return v if isinstance(v, list) else []


def s(obj: Any, *keys: str) -> str:
    v = d(obj, *keys)
    return v if isinstance(v, str) else ""


# ---- labels, annotations, selectors -----------------------------------------------------------------------


def validate_label_name(name: str, path: str) -> list[FieldError]:
    return [invalid(path, name, msg) for msg in n.is_qualified_name(name)]


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(labels, dict):
        return errs
    for k in sorted(labels):
        v = labels[k]
        errs.extend(validate_label_name(k, path))
        for msg in n.is_valid_label_value(v if isinstance(v, str) else str(v)):
            errs.append(invalid(path, v, msg))
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(annotations, dict):
        return errs
    total = 0
    for k in sorted(annotations):
        for msg in n.is_qualified_name(k.lower()):
            errs.append(invalid(path, k, msg))
        v = annotations[k]
        total += len(k.encode()) + len(str(v).encode())
    if total > ANNOTATIONS_MAX:
        errs.append(too_long(path, ANNOTATIONS_MAX))
    return errs


_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(sel: Any, path: str) -> list[FieldError]:
    """metav1validation.ValidateLabelSelector (AllowInvalidLabelValueInSelector=false)."""
    errs: list[FieldError] = []
    if not isinstance(sel, dict):
        return errs
    errs.extend(validate_labels(sel.get("matchLabels"), child(path, "matchLabels")))
    for i, expr in enumerate(ll(sel, "matchExpressions")):
        p = index(child(path, "matchExpressions"), i)
        op = s(expr, "operator")
        values = ll(expr, "values")
        if op in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        child(p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(invalid(child(p, "operator"), op, "not a valid selector operator"))
        errs.extend(validate_label_name(s(expr, "key"), child(p, "key")))
        for j, v in enumerate(values):
            for msg in n.is_valid_label_value(str(v)):
                errs.append(invalid(index(child(p, "values"), j), v, msg))
    return errs


def selector_matches(sel: Any, labels: Any) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels); a nil selector matches nothing, {} everything."""
    if not isinstance(sel, dict):
        return False
    lbls = labels if isinstance(labels, dict) else {}
    for k, v in dd(sel, "matchLabels").items():
        if lbls.get(k) != v:
            return False
    for expr in ll(sel, "matchExpressions"):
        k = s(expr, "key")
        op = s(expr, "operator")
        vals = [str(x) for x in ll(expr, "values")]
        if op == "In" and (k not in lbls or lbls[k] not in vals):
            return False
        if op == "NotIn" and k in lbls and lbls[k] in vals:
            return False
        if op == "Exists" and k not in lbls:
            return False
        if op == "DoesNotExist" and k in lbls:
            return False
    return True


def selector_is_empty(sel: Any) -> bool:
    return not dd(sel, "matchLabels") and not ll(sel, "matchExpressions")


# ---- ObjectMeta --------------------------------------------------------------------------------------------

STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def _validate_finalizers(meta: Obj, path: str, kube: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    fins = [f for f in ll(meta, "finalizers") if isinstance(f, str)]
    for f in fins:
        for msg in n.is_qualified_name(f):
            errs.append(invalid(path, f, msg))
    if "orphan" in fins and "foregroundDeletion" in fins:
        errs.append(
            invalid(
                path,
                Rendered(json.dumps(fins, separators=(",", ":"))),
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    if kube:
        for i, f in enumerate(fins):
            if "/" not in f and f not in STANDARD_FINALIZERS:
                errs.append(
                    invalid(
                        index(path, i),
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    )
                )
    return errs


def _validate_owner_references(refs: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs if isinstance(refs, list) else []:
        api_version = s(ref, "apiVersion")
        version = api_version.rpartition("/")[2]
        if not version:
            errs.append(invalid(child(path, "apiVersion"), api_version, "version must not be empty"))
        if not s(ref, "kind"):
            errs.append(invalid(child(path, "kind"), s(ref, "kind"), "must not be empty"))
        if not s(ref, "name"):
            errs.append(invalid(child(path, "name"), s(ref, "name"), "must not be empty"))
        if not s(ref, "uid"):
            errs.append(invalid(child(path, "uid"), s(ref, "uid"), "must not be empty"))
        if api_version == "v1" and s(ref, "kind") == "Event":
            errs.append(invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True if isinstance(ref, dict) else False:
            cur = f"{s(ref, 'kind')}/{s(ref, 'name')}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        refs,
                        "Only one reference can have Controller set to true. Found "
                        f'"true" in references for {first_controller} and {cur}',
                    )
                )
            else:
                first_controller = cur
    return errs


def validate_object_meta(
    obj: Obj, namespaced: bool, name_fn: n.NameFn, kube_finalizers: bool = True, path: str = "metadata"
) -> list[FieldError]:
    """ValidateObjectMeta: generateName, name, namespace, generation, labels, annotations, owners,
    finalizers."""
    meta = dd(obj, "metadata")
    errs: list[FieldError] = []
    gen = s(meta, "generateName")
    name = s(meta, "name")
    if gen:
        for msg in name_fn(gen, True):
            errs.append(invalid(child(path, "generateName"), gen, msg))
    if not name:
        errs.append(required(child(path, "name"), "name or generateName is required"))
    else:
        for msg in name_fn(name, False):
            errs.append(invalid(child(path, "name"), name, msg))
    errs.extend(_validate_meta_common(meta, namespaced, path, kube_finalizers))
    return errs


def _validate_meta_common(meta: Obj, namespaced: bool, path: str, kube_finalizers: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    ns = s(meta, "namespace")
    if namespaced:
        if not ns:
            errs.append(required(child(path, "namespace")))
        else:
            for msg in n.name_is_dns_label(ns, False):
                errs.append(invalid(child(path, "namespace"), ns, msg))
    elif ns:
        errs.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    errs.extend(nonnegative(child(path, "generation"), meta.get("generation")))
    errs.extend(validate_labels(meta.get("labels"), child(path, "labels")))
    errs.extend(validate_annotations(meta.get("annotations"), child(path, "annotations")))
    errs.extend(_validate_owner_references(meta.get("ownerReferences"), child(path, "ownerReferences")))
    errs.extend(_validate_finalizers(meta, child(path, "finalizers"), kube_finalizers))
    return errs


def validate_object_meta_update(
    new: Obj, old: Obj, kube_finalizers: bool = True, path: str = "metadata"
) -> list[FieldError]:
    """ValidateObjectMetaUpdate: identity fields immutable, generation not decremented, no new finalizers
    while deleting, then labels/annotations/owners/finalizers of the new object."""
    nm, om = dd(new, "metadata"), dd(old, "metadata")
    errs: list[FieldError] = []
    if om.get("deletionTimestamp"):
        extra = sorted(set(ll(nm, "finalizers")) - set(ll(om, "finalizers")))
        if extra:
            errs.append(
                forbidden(
                    child(path, "finalizers"),
                    "no new finalizers can be added if the object is being "
                    f"deleted, found new finalizers {go_string_slice(extra)}",
                )
            )
    ng, og = nm.get("generation") or 0, om.get("generation") or 0
    if isinstance(ng, int) and isinstance(og, int) and ng < og:
        errs.append(invalid(child(path, "generation"), ng, "must not be decremented"))
    for f in ("name", "namespace", "uid"):
        errs.extend(immutable(child(path, f), nm.get(f) or "", om.get(f) or ""))
    for f in ("creationTimestamp", "deletionTimestamp"):
        if (nm.get(f) or None) != (om.get(f) or None):
            errs.append(invalid(child(path, f), go_time(nm.get(f)), FIELD_IMMUTABLE))
    errs.extend(
        immutable(
            child(path, "deletionGracePeriodSeconds"),
            nm.get("deletionGracePeriodSeconds"),
            om.get("deletionGracePeriodSeconds"),
        )
    )
    errs.extend(validate_labels(nm.get("labels"), child(path, "labels")))
    errs.extend(validate_annotations(nm.get("annotations"), child(path, "annotations")))
    errs.extend(_validate_owner_references(nm.get("ownerReferences"), child(path, "ownerReferences")))
    errs.extend(_validate_finalizers(nm, child(path, "finalizers"), kube_finalizers))
    return errs


def validate_template_meta(meta: Any, path: str) -> list[FieldError]:
    """The labels/annotations checks ValidatePodTemplateSpec runs on an embedded template's metadata."""
    errs = validate_labels(d(meta, "labels"), child(path, "labels"))
    errs.extend(validate_annotations(d(meta, "annotations"), child(path, "annotations")))
    return errs
