"""Schemas of the built-in kinds, derived from the official Python client's generated models.

kube-apiserver knows each kind's shape from its Go structs; the same facts reach us through the client's
pydantic models (generated from the Kubernetes OpenAPI document): every field's wire name, type, required-ness
and description. From them this module derives:

* ``unknown_fields`` -- what ``fieldValidation=Strict`` reports (mirrors sigs.k8s.io/json strict decoding:
  ``spec.template.spec.containers[0].imagePullPolice``, map keys joined with ``.``) and ``strict_error``;
* ``type_errors`` / ``decode_error`` -- JSON values of the wrong type, worded like encoding/json's
  ``UnmarshalTypeError`` as the API server returns them;
* ``component_schemas`` -- OpenAPI v3 component schemas named as upstream (``io.k8s.api.core.v1.Pod``), used
  by ``kubelab.apiserver.openapi`` for ``/openapi/v3`` and thus by ``kubectl explain``.

Simplified: the client does not say which strings are ``resource.Quantity`` or ``MicroTime``, nor whether an
integer is int32 or int64; small tables below supply those facts for the built-in kinds. Enum values, defaults
and list/patch extensions are not emitted. Per-class lookup tables are built lazily, once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from kubelab.api.errors import ApiError, FieldError, json_kind
from kubelab.api.resources import BUILTIN, ResourceType

# ------------------------------------------------------------------------------------------------------------
# Type nodes

MODEL, LIST, MAP = "model", "list", "map"
STRING, INTEGER, BOOLEAN, NUMBER, BYTES = "string", "integer", "boolean", "number", "bytes"
TIME, MICROTIME, QUANTITY, INTSTR, FREE = "time", "microtime", "quantity", "intstr", "free"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INTSTR_REF = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
TIME_REF = META + "Time"
MICROTIME_REF = META + "MicroTime"
FIELDSV1_REF = META + "FieldsV1"
RAWEXT_REF = "io.k8s.apimachinery.pkg.runtime.RawExtension"
PATCH_REF = META + "Patch"


@dataclass(frozen=True, slots=True)
class TypeNode:
    """A field's type: a model, a list or map of something, or a leaf (primitive or named free-form type)."""

    kind: str
    model: str = ""  # MODEL: client class name
    elem: TypeNode | None = None  # LIST / MAP element
    ref: str = ""  # leaf with a named component (Time, Quantity, IntOrString, RawExtension, ...)
    fmt: str = ""  # INTEGER: int32 / int64

    @property
    def deep(self) -> bool:
        """Whether a strict-decoding walk has anything to check inside a value of this type."""
        if self.kind == MODEL:
            return True
        if self.elem is not None:
            return self.elem.deep
        return False


@dataclass(frozen=True, slots=True)
class ModelField:
    wire: str  # JSON name, e.g. imagePullPolicy
    attr: str  # client attribute name, e.g. image_pull_policy
    type: TypeNode
    required: bool
    description: str


# Facts the generated models lose (their OpenAPI "format"/named types become plain str/int/datetime).
_QUANTITY_FIELDS = {
    ("V1ResourceRequirements", "limits"), ("V1ResourceRequirements", "requests"),
    ("V1VolumeResourceRequirements", "limits"), ("V1VolumeResourceRequirements", "requests"),
    ("V1ResourceQuotaSpec", "hard"), ("V1ResourceQuotaStatus", "hard"), ("V1ResourceQuotaStatus", "used"),
    ("V1LimitRangeItem", "max"), ("V1LimitRangeItem", "min"), ("V1LimitRangeItem", "default"),
    ("V1LimitRangeItem", "defaultRequest"), ("V1LimitRangeItem", "maxLimitRequestRatio"),
    ("V1NodeStatus", "capacity"), ("V1NodeStatus", "allocatable"), ("V1PersistentVolumeSpec", "capacity"),
    ("V1PersistentVolumeClaimStatus", "capacity"), ("V1PersistentVolumeClaimStatus", "allocatedResources"),
    ("V1ContainerStatus", "allocatedResources"), ("V1PodSpec", "overhead"), ("V1Overhead", "podFixed"),
    ("V1EmptyDirVolumeSource", "sizeLimit"), ("V1ResourceFieldSelector", "divisor"),
    ("V2MetricTarget", "averageValue"), ("V2MetricTarget", "value"),
    ("V2MetricValueStatus", "averageValue"), ("V2MetricValueStatus", "value"),
    ("V1CSIStorageCapacity", "capacity"), ("V1CSIStorageCapacity", "maximumVolumeSize"),
    ("V1CapacityRequirements", "requests"),
}
_MICROTIME_FIELDS = {
    ("CoreV1Event", "eventTime"), ("EventsV1Event", "eventTime"), ("CoreV1EventSeries", "lastObservedTime"),
    ("EventsV1EventSeries", "lastObservedTime"), ("V1LeaseSpec", "acquireTime"), ("V1LeaseSpec", "renewTime"),
}
# Free-form ("object") fields that upstream gives a named type.
_OBJECT_REFS = {
    ("V1ManagedFieldsEntry", "fieldsV1"): FIELDSV1_REF,
    ("V1ControllerRevision", "data"): RAWEXT_REF,
    ("V1WatchEvent", "object"): RAWEXT_REF,
    ("V1JSONSchemaProps", "default"): APIEXT + "JSON",
    ("V1JSONSchemaProps", "example"): APIEXT + "JSON",
    ("V1JSONSchemaProps", "enum"): APIEXT + "JSON",
    ("V1JSONSchemaProps", "items"): APIEXT + "JSONSchemaPropsOrArray",
    ("V1JSONSchemaProps", "additionalProperties"): APIEXT + "JSONSchemaPropsOrBool",
    ("V1JSONSchemaProps", "additionalItems"): APIEXT + "JSONSchemaPropsOrBool",
    ("V1JSONSchemaProps", "dependencies"): APIEXT + "JSONSchemaPropsOrStringArray",
    ("V1CustomResourceSubresources", "status"): APIEXT + "CustomResourceSubresourceStatus",
}
# Integer fields that are int64 in the Go types (everything else is int32).
_INT64_FIELDS = {
    "generation", "observedGeneration", "deletionGracePeriodSeconds", "activeDeadlineSeconds",
    "terminationGracePeriodSeconds", "runAsUser", "runAsGroup", "fsGroup", "supplementalGroups", "seconds",
    "startingDeadlineSeconds", "expirationSeconds", "gracePeriodSeconds", "tolerationSeconds",
    "remainingItemCount", "revision",
}

_LEAVES: dict[str, TypeNode] = {
    "str": TypeNode(STRING),
    "bool": TypeNode(BOOLEAN),
    "float": TypeNode(NUMBER),
    "bytes": TypeNode(BYTES),
    "datetime": TypeNode(TIME, ref=TIME_REF),
    "object": TypeNode(FREE),
}
_INT32, _INT64 = TypeNode(INTEGER, fmt="int32"), TypeNode(INTEGER, fmt="int64")


def _parse(spec: str, owner: str, wire: str, int_or_string: bool) -> TypeNode:
    """A node from the client's openapi_types string ("List[V1Container]", "Dict[str, str]", "int", ...)."""
    if spec.startswith("List[") and spec.endswith("]"):
        return TypeNode(LIST, elem=_parse(spec[5:-1], owner, wire, False))
    if spec.startswith("Dict[str, ") and spec.endswith("]"):
        return TypeNode(MAP, elem=_parse(spec[10:-1], owner, wire, False))
    if spec == "int":
        return _INT64 if wire in _INT64_FIELDS else _INT32
    if spec == "str" and (owner, wire) in _QUANTITY_FIELDS:
        return TypeNode(QUANTITY, ref=QUANTITY_REF)
    if spec == "datetime" and (owner, wire) in _MICROTIME_FIELDS:
        return TypeNode(MICROTIME, ref=MICROTIME_REF)
    if spec == "object":
        named = _OBJECT_REFS.get((owner, wire))
        if named:
            return TypeNode(FREE, ref=named)
        if int_or_string:
            return TypeNode(INTSTR, ref=INTSTR_REF)
        return _LEAVES["object"]
    leaf = _LEAVES.get(spec)
    if leaf is not None:
        return leaf
    return TypeNode(MODEL, model=spec)


def _base_types(annotation: Any) -> set[Any]:
    """The plain types a (possibly Optional/Union/Annotated) annotation admits."""
    out: set[Any] = set()
    stack = [annotation]
    while stack:
        a = stack.pop()
        origin = get_origin(a)
        if origin is Union or origin is UnionType:
            stack.extend(get_args(a))
        elif origin is Annotated:
            stack.append(get_args(a)[0])
        else:
            out.add(origin if origin is not None else a)
    return out


# ------------------------------------------------------------------------------------------------------------
# Reading the generated models
#
# Importing a generated pydantic model costs ~5 ms (class construction); the built-in kinds reach ~400 of
# them, and importing the client package alone takes ~0.5 s. The facts we need sit in plain literals of each
# generated module (openapi_types, attribute_map, the ``name: Annotation = Field(..., description="...")``
# lines and the class docstring), so they are read from the source text instead; importing the class remains
# the fallback if a module does not look as expected (a test checks both agree for every model).


@dataclass(frozen=True, slots=True)
class _RawField:
    attr: str
    wire: str
    spec: str  # openapi_types entry
    required: bool
    description: str
    int_or_string: bool


_FIELD_LINE = re.compile(r"^    (\w+): (.+?)(?: = (.*))?$")
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
_BLOCK_ENTRY = re.compile(r'"([^"\\]+)": "([^"\\]*)"')
_INTSTR_ANN = re.compile(r"^(?:Optional\[)?(?:StrictInt \| StrictStr|Union\[StrictInt, StrictStr\])\]?$")


@cache
def _models_dir() -> Path | None:
    """kubernetes/client/models, found without importing the client (its import costs ~0.5 s)."""
    spec = find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "client" / "models"


@cache
def _exports() -> dict[str, str]:
    """Class name -> module file stem, from the lazy-export table of kubernetes/client/models/__init__.py."""
    d = _models_dir()
    try:
        text = (d / "__init__.py").read_text(encoding="utf-8") if d else ""
    except OSError:
        text = ""
    return dict(re.findall(r'^ {8}"(\w+)": "\.(\w+)",?$', text, re.M))


def _models() -> ModuleType:
    return import_module("kubernetes.client.models")


def _module_file(name: str) -> Path | None:
    stem = _exports().get(name)
    d = _models_dir()
    return d / (stem + ".py") if stem and d else None


def _facts_from_source(name: str) -> tuple[str, list[_RawField]] | None:
    path = _module_file(name)
    if path is None:
        return None
    try:
        src = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head = f"\nclass {name}(BaseModel):\n"
    start = src.find(head)
    if start < 0:
        return None
    body = src[start + len(head):]
    doc = ""
    stripped = body.lstrip()
    if stripped.startswith('"""'):
        end = stripped.find('"""', 3)
        doc = stripped[3:end]
        if "\\" in doc:
            try:
                doc = ast.literal_eval(stripped[:end + 3])
            except (ValueError, SyntaxError):
                pass
    try:
        types = _literal_block(body, "openapi_types")
        wires = _literal_block(body, "attribute_map")
    except ValueError:
        return None
    lines: dict[str, tuple[str, str]] = {}
    cut = body.find("    openapi_types:")
    doc_end = body.find('""" # noqa', 0, cut)
    for line in body[doc_end + 1 if doc_end >= 0 else 0:cut].splitlines():
        m = _FIELD_LINE.match(line)
        if m:
            lines[m.group(1)] = (m.group(2), m.group(3) or "")
    fields = []
    for attr, spec in types.items():
        # keyword-like names ("_exec", "_not") are declared as var_exec / var_not
        found = lines.get(attr) or lines.get("var" + attr) or lines.get("var_" + attr)
        if found is None:
            return None
        ann, value = found
        desc = _description(value)
        required = not value or (value.startswith("Field(") and "default=" not in value)
        intstr = bool(_INTSTR_ANN.match(ann))
        fields.append(_RawField(attr, wires.get(attr, attr), spec, required, desc, intstr))
    return doc, fields


def _literal_block(body: str, name: str) -> dict[str, str]:
    """The ``name: ClassVar[Dict[str, str]] = {...}`` literal of a generated class ("key": "value" lines)."""
    start = body.index(f"    {name}: ClassVar[Dict[str, str]] = {{")
    close_at = body.index("\n    }", start)
    return dict(_BLOCK_ENTRY.findall(body, start, close_at))


def _description(value: str) -> str:
    at = value.find('description="')
    if at < 0:
        return ""
    m = _STRING_LITERAL.match(value, at + 12)
    if m is None:
        return ""
    text = m.group(0)
    if "\\" not in text:
        return text[1:-1]
    try:
        out = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text[1:-1]
    return out if isinstance(out, str) else ""


def _facts_from_class(name: str) -> tuple[str, list[_RawField]] | None:
    try:
        cls = getattr(_models(), name, None)
    except ImportError:
        return None
    if not isinstance(cls, type) or not hasattr(cls, "openapi_types"):
        return None
    wires: dict[str, str] = getattr(cls, "attribute_map", {})
    model_fields: dict[str, Any] = getattr(cls, "model_fields", {})
    fields = []
    for attr, spec in cls.openapi_types.items():
        mf = model_fields.get(attr) or model_fields.get("var" + attr) or model_fields.get("var_" + attr)
        intstr = False
        if mf is not None:
            types = _base_types(mf.annotation)
            types.discard(type(None))
            intstr = types == {int, str}
        fields.append(_RawField(
            attr, wires.get(attr, attr), spec, bool(mf is not None and mf.is_required()),
            (mf.description or "") if mf is not None else "", intstr,
        ))
    return cls.__doc__ or "", fields


# ------------------------------------------------------------------------------------------------------------
# Per-class tables

_VERSIONED = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:(?:alpha|beta)\d+)?)([A-Z]\w*)$")


class ModelInfo:
    """Everything derived from one client model class; built once per class."""

    __slots__ = ("name", "doc", "fields", "walk", "version", "kind", "prefix")

    def __init__(self, name: str, doc: str, raw: list[_RawField]) -> None:
        self.name = name
        self.doc = _clean_doc(doc)
        m = _VERSIONED.match(name)
        self.prefix = (m.group(1) or "") if m else ""
        self.version = m.group(2).lower() if m else "v1"
        self.kind = m.group(3) if m else name
        self.fields: dict[str, ModelField] = {
            f.wire: ModelField(f.wire, f.attr, _parse(f.spec, name, f.wire, f.int_or_string), f.required,
                               f.description)
            for f in raw
        }
        # wire name -> node to descend into, or None when nothing inside can be unknown
        self.walk: dict[str, TypeNode | None] = {
            w: (f.type if f.type.deep else None) for w, f in self.fields.items()}


def _clean_doc(doc: str) -> str:
    doc = doc.split("\n    Attributes:", 1)[0]
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", doc.strip()) if p.strip())


_INFOS: dict[str, ModelInfo | None] = {}


def model_info(name: str) -> ModelInfo | None:
    """The cached tables for client class ``name`` (e.g. "V1PodSpec"), or None if there is no such model."""
    try:
        return _INFOS[name]
    except KeyError:
        pass
    exports = _exports()
    if exports and name not in exports:
        facts = None
    else:
        facts = _facts_from_source(name) or _facts_from_class(name)
    info = ModelInfo(name, *facts) if facts is not None else None
    _INFOS[name] = info
    return info


def _walk_table(name: str) -> dict[str, TypeNode | None]:
    info = _INFOS.get(name) or model_info(name)
    return info.walk if info is not None else {}


def model_for(group: str, version: str, kind: str) -> str | None:
    """The client class name of a kind, e.g. ("", "v1", "Event") -> "CoreV1Event"; None if there is none."""
    ver = version[:1].upper() + version[1:]
    label = group.split(".", 1)[0] if group else "core"
    for name in (f"{label[:1].upper()}{label[1:]}{ver}{kind}", f"{ver}{kind}"):
        if model_info(name) is not None:
            return name
    return None


# ------------------------------------------------------------------------------------------------------------
# Strict field validation

_MAX_STRICT = 100  # sigs.k8s.io/json stops collecting after this many


def _walk_obj(table: dict[str, TypeNode | None], obj: dict[str, Any], prefix: str, out: list[str]) -> None:
    for key, value in obj.items():
        if key in table:
            node = table[key]
            if node is not None and value is not None:
                _walk_value(node, value, prefix + key, out)
        else:
            out.append(prefix + key)


def _walk_value(node: TypeNode, value: Any, path: str, out: list[str]) -> None:
    kind = node.kind
    if kind == MODEL:
        if isinstance(value, dict):
            _walk_obj(_walk_table(node.model), value, path + ".", out)
    elif kind == LIST:
        if isinstance(value, list):
            elem = node.elem
            assert elem is not None
            for i, item in enumerate(value):
                if item is not None:
                    _walk_value(elem, item, f"{path}[{i}]", out)
    elif kind == MAP:
        if isinstance(value, dict):
            elem = node.elem
            assert elem is not None
            for key, item in value.items():
                if item is not None:
                    _walk_value(elem, item, f"{path}.{key}", out)


def _dedupe(paths: list[str]) -> list[str]:
    if len(paths) > 1:
        paths = list(dict.fromkeys(paths))
    return paths[:_MAX_STRICT]


def unknown_fields(rt: ResourceType, obj: dict[str, Any]) -> list[str]:
    """Paths of the fields in ``obj`` that ``rt``'s schema does not have, in document order.

    Free-form areas (labels, annotations, ConfigMap/Secret data, RawExtension, JSON, FieldsV1 ...) are not
    looked into. Custom resources return [] (see ``unknown_fields_structural``).
    """
    if rt.custom or not rt.model or not isinstance(obj, dict):
        return []
    out: list[str] = []
    _walk_obj(_walk_table(rt.model), obj, "", out)
    return _dedupe(out)


def unknown_fields_model(model: str, obj: dict[str, Any], prefix: str = "") -> list[str]:
    """Like ``unknown_fields`` for any client model class name (e.g. "V1DeleteOptions", "V1Scale")."""
    out: list[str] = []
    if isinstance(obj, dict):
        _walk_obj(_walk_table(model), obj, prefix, out)
    return _dedupe(out)


_ROOT_KNOWN = ("apiVersion", "kind", "metadata")


def unknown_fields_structural(schema: dict[str, Any] | None, obj: Any, *, root: bool = True) -> list[str]:
    """Unknown fields of a custom resource against its CRD's structural ``openAPIV3Schema``.

    Follows ``properties`` / ``items`` / ``additionalProperties``; stops at
    ``x-kubernetes-preserve-unknown-fields`` (for fields not listed in ``properties``) and
    ``x-kubernetes-int-or-string``. At the root (and at
    ``x-kubernetes-embedded-resource`` objects) apiVersion/kind/metadata are always known; metadata is checked
    against ObjectMeta. Whether the caller prunes or rejects these paths is its choice.
    """
    out: list[str] = []
    if schema is None:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    _structural(schema, obj, "", out, root)
    return _dedupe(out)


def _structural(schema: dict[str, Any], value: Any, path: str, out: list[str], embedded: bool) -> None:
    if value is None or not isinstance(schema, dict) or schema.get("x-kubernetes-int-or-string"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = embedded or bool(schema.get("x-kubernetes-embedded-resource"))
        prefix = path + "." if path else ""
        for key, item in value.items():
            sub = props.get(key) if isinstance(props, dict) else None
            if embedded and key in _ROOT_KNOWN:
                if key == "metadata" and isinstance(item, dict):
                    _walk_obj(_walk_table("V1ObjectMeta"), item, prefix + "metadata.", out)
                elif sub is not None and key != "metadata":
                    _structural(sub, item, prefix + key, out, False)
            elif sub is not None:
                _structural(sub, item, prefix + key, out, False)
            elif isinstance(addl, dict):
                _structural(addl, item, prefix + key, out, False)
            elif addl is True or preserve:
                continue
            else:
                out.append(prefix + key)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _structural(items, item, f"{path}[{i}]", out, False)


def strict_messages(paths: Iterable[str]) -> list[str]:
    """One ``unknown field "<path>"`` per path: the wording of strict errors and of Warn-mode warnings."""
    return [f'unknown field "{p}"' for p in paths]


def strict_error(paths: Iterable[str]) -> ApiError:
    """The 400 answered under fieldValidation=Strict: ``strict decoding error: unknown field "a.b", ...``."""
    return ApiError(400, "BadRequest", "strict decoding error: " + ", ".join(strict_messages(paths)))


# ------------------------------------------------------------------------------------------------------------
# JSON type errors (encoding/json UnmarshalTypeError wording)




def _go_type(node: TypeNode) -> str:
    kind = node.kind
    if kind == MODEL:
        info = model_info(node.model)
        return f"{info.version}.{info.kind}" if info else node.model
    if kind == LIST:
        assert node.elem is not None
        return "[]" + _go_type(node.elem)
    if kind == MAP:
        assert node.elem is not None
        return "map[string]" + _go_type(node.elem)
    return {
        STRING: "string", BOOLEAN: "bool", NUMBER: "float64", BYTES: "[]uint8", INTEGER: node.fmt or "int32",
        TIME: "string", MICROTIME: "string", INTSTR: "int32",
    }.get(kind, "interface {}")


_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _mismatch(node: TypeNode, value: Any) -> str | None:
    """The JSON value description when ``value`` cannot be decoded into ``node``, else None."""
    kind = node.kind
    if kind in (MODEL, MAP):
        return None if isinstance(value, dict) else json_kind(value)
    if kind == LIST:
        return None if isinstance(value, list) else json_kind(value)
    if kind in (STRING, TIME, MICROTIME, BYTES):
        return None if isinstance(value, str) else json_kind(value)
    if kind == BOOLEAN:
        return None if isinstance(value, bool) else json_kind(value)
    if kind == NUMBER:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else json_kind(value)
    if kind in (INTEGER, INTSTR):
        if kind == INTSTR and isinstance(value, str):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return json_kind(value)
        lo, hi = _INT_RANGE.get(node.fmt or "int32", _INT_RANGE["int32"])
        if isinstance(value, float) or not lo <= value <= hi:
            return f"number {value}"
        return None
    return None


def _types_obj(info: ModelInfo, obj: dict[str, Any], path: str, gopath: str, out: list[FieldError]) -> None:
    for key, value in obj.items():
        field = info.fields.get(key)
        if field is None or value is None:
            continue
        _types_value(field.type, value, path + key, gopath + key, info.kind, out)


def _types_value(
    node: TypeNode, value: Any, path: str, gopath: str, struct: str, out: list[FieldError],
) -> None:
    bad = _mismatch(node, value)
    if bad is not None:
        msg = f"json: cannot unmarshal {bad} into Go struct field {struct}.{gopath} of type {_go_type(node)}"
        out.append(FieldError(path, "Invalid value", msg, value))
        return
    if node.kind == MODEL:
        info = model_info(node.model)
        if info is not None:
            _types_obj(info, value, path + ".", gopath + ".", out)
    elif node.kind == LIST and node.elem is not None:
        for i, item in enumerate(value):
            if item is not None:
                _types_value(node.elem, item, f"{path}[{i}]", gopath, struct, out)
    elif node.kind == MAP and node.elem is not None:
        for key, item in value.items():
            if item is not None:
                _types_value(node.elem, item, f"{path}.{key}", gopath, struct, out)


def type_errors(rt: ResourceType, obj: dict[str, Any]) -> list[FieldError]:
    """Values of the wrong JSON type; each error's detail is the encoding/json message for it.

    ``path`` uses the strict-decoding form (``spec.containers[0].ports[0].containerPort``); the detail names
    the Go struct and the index-free field path as the API server does. Only the first one is reported by
    the API server (see ``decode_error``).
    """
    if rt.custom or not rt.model or not isinstance(obj, dict):
        return []
    info = model_info(rt.model)
    if info is None:
        return []
    out: list[FieldError] = []
    _types_obj(info, obj, "", "", out)
    return out


def decode_error(rt: ResourceType, obj: dict[str, Any]) -> ApiError | None:
    """400 for the first type error: ``<Kind> in version "<v>" cannot be handled as a <Kind>: json: ...``."""
    errs = type_errors(rt, obj)
    if not errs:
        return None
    return ApiError(
        400, "BadRequest",
        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {errs[0].detail}',
    )


# ------------------------------------------------------------------------------------------------------------
# OpenAPI v3 component schemas

# Types of k8s.io/apimachinery/pkg/apis/meta/v1 (the client names them like core types).
_META_TYPES = {
    "V1ObjectMeta", "V1ListMeta", "V1LabelSelector", "V1LabelSelectorRequirement", "V1OwnerReference",
    "V1ManagedFieldsEntry", "V1Condition", "V1Status", "V1StatusDetails", "V1StatusCause", "V1DeleteOptions",
    "V1Preconditions", "V1WatchEvent", "V1APIResource", "V1APIResourceList", "V1APIGroup", "V1APIGroupList",
    "V1APIVersions", "V1GroupVersionForDiscovery", "V1ServerAddressByClientCIDR",
    "V1FieldSelectorRequirement",
}
# Types first reached from another group's kind: core types used by StorageClass, and the scheduling.k8s.io
# v1alpha3 workload types that batch/v1 JobSpec embeds.
_GROUP_OVERRIDES = {"V1TopologySelectorTerm": "", "V1TopologySelectorLabelRequirement": ""}
_GROUP_OVERRIDE_PREFIXES = (
    ("V1alpha3Workload", "scheduling.k8s.io"), ("V1alpha3TopologyConstraint", "scheduling.k8s.io"),
)
_PREFIX_PACKAGES = {
    "Core": "io.k8s.api.core",
    "Apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "Apiregistration": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}


def package_for_group(group: str) -> str:
    """Upstream OpenAPI name prefix for an API group: "" -> io.k8s.api.core, "apps" -> io.k8s.api.apps, ..."""
    if not group:
        return "io.k8s.api.core"
    if group == "apiextensions.k8s.io":
        return _PREFIX_PACKAGES["Apiextensions"]
    if group == "apiregistration.k8s.io":
        return _PREFIX_PACKAGES["Apiregistration"]
    return "io.k8s.api." + group.split(".", 1)[0]


def reversed_group(group: str) -> str:
    """Custom resource component prefix: "example.com" -> "com.example", as kube-apiserver names them."""
    return ".".join(reversed(group.split(".")))


def _builtin_roots() -> list[tuple[str, str]]:
    """(class name, group) for each built-in kind, its list, and the kinds its subresources speak."""
    roots: list[tuple[str, str]] = []
    for rt in BUILTIN:
        roots.append((rt.model, rt.group))
        roots.append((rt.model + "List", rt.group))
        for sub in rt.subresources:
            g, v = (sub.group, sub.version) if sub.group else (rt.group, rt.version)
            name = model_for(g, v, sub.kind)
            if name:
                roots.append((name, g))
    return roots


class _Naming:
    """Upstream component names for client classes and the GVKs of top-level kinds; computed once."""

    def __init__(self) -> None:
        self.group_of: dict[str, str] = {}
        self.gvks: dict[str, list[dict[str, str]]] = {}
        queue: list[tuple[str, str]] = []
        for name, group in _builtin_roots():
            if model_info(name) is not None and name not in self.group_of:
                self.group_of[name] = group
                queue.append((name, group))
        while queue:
            name, group = queue.pop(0)
            info = model_info(name)
            if info is None:
                continue
            for f in info.fields.values():
                for child in _models_in(f.type):
                    if child not in self.group_of and model_info(child) is not None:
                        self.group_of[child] = group
                        queue.append((child, group))
        gvs: list[tuple[str, str]] = []
        for rt in BUILTIN:
            for name, kind in ((rt.model, rt.kind), (rt.model + "List", rt.list_kind)):
                self._add_gvk(name, rt.group, rt.version, kind)
            for sub in rt.subresources:
                g, v = (sub.group, sub.version) if sub.group else (rt.group, rt.version)
                name = model_for(g, v, sub.kind) or ""
                self._add_gvk(name, g, v, sub.kind)
            if (rt.group, rt.version) not in gvs:
                gvs.append((rt.group, rt.version))
        self._add_gvk("V1Status", "", "v1", "Status")
        for g, v in gvs:
            self._add_gvk("V1DeleteOptions", g, v, "DeleteOptions")
            self._add_gvk("V1WatchEvent", g, v, "WatchEvent")

    def _add_gvk(self, name: str, group: str, version: str, kind: str) -> None:
        if model_info(name) is None:
            return
        gvk = {"group": group, "kind": kind, "version": version}
        lst = self.gvks.setdefault(name, [])
        if gvk not in lst:
            lst.append(gvk)

    def component(self, name: str) -> str:
        info = model_info(name)
        if info is None:
            return name
        if name in _META_TYPES:
            return META + info.kind
        if info.prefix:
            pkg = _PREFIX_PACKAGES.get(info.prefix, "io.k8s.api." + info.prefix.lower())
        else:
            group = _GROUP_OVERRIDES.get(name, self.group_of.get(name, ""))
            for start, g in _GROUP_OVERRIDE_PREFIXES:
                if name.startswith(start):
                    group = g
            pkg = package_for_group(group)
        return f"{pkg}.{info.version}.{info.kind}"


def _models_in(node: TypeNode) -> Iterable[str]:
    while node.elem is not None:
        node = node.elem
    if node.kind == MODEL:
        yield node.model


_NAMING: _Naming | None = None


def _naming() -> _Naming:
    global _NAMING
    if _NAMING is None:
        _NAMING = _Naming()
    return _NAMING


def component_name(model: str) -> str:
    """Upstream component name of client class ``model``: "V1Pod" -> "io.k8s.api.core.v1.Pod"."""
    return _naming().component(model)


def gvks_of(model: str) -> list[dict[str, str]]:
    """x-kubernetes-group-version-kind entries for a client class ([] for nested types)."""
    return list(_naming().gvks.get(model, ()))


# Named leaf types (upstream has them as components of their own).
SPECIAL_SCHEMAS: dict[str, dict[str, Any]] = {
    QUANTITY_REF: {
        "description": "Quantity is a fixed-point representation of a number, written as a string such as "
                       "\"100m\", \"1.5Gi\" or \"2\" (serialised as a string; numbers are accepted on "
                       "input).",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
    INTSTR_REF: {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "format": "int-or-string",
        "x-kubernetes-int-or-string": True,
    },
    TIME_REF: {
        "description": "Time is a wrapper around time.Time, serialised as an RFC 3339 date-time string.",
        "type": "string", "format": "date-time",
    },
    MICROTIME_REF: {
        "description": "MicroTime is a version of Time with microsecond precision.",
        "type": "string", "format": "date-time",
    },
    FIELDSV1_REF: {
        "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.",
        "type": "object",
    },
    RAWEXT_REF: {
        "description": "RawExtension holds an embedded object of any kind, passed through as it is.",
        "type": "object",
    },
    PATCH_REF: {
        "description": "Patch gives a concrete name and type to the Kubernetes PATCH request body.",
        "type": "object",
    },
    APIEXT + "JSON": {
        "description": "JSON represents any valid JSON value: bool, number, string, array, object or null.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    APIEXT + "JSONSchemaPropsOrArray": {
        "description": "JSONSchemaPropsOrArray represents a value that can either be a JSONSchemaProps or an "
                       "array of JSONSchemaProps. Mainly here for serialization purposes.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    APIEXT + "JSONSchemaPropsOrBool": {
        "description": "JSONSchemaPropsOrBool represents JSONSchemaProps or a boolean value. Defaults to "
                       "true for the boolean property.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    APIEXT + "JSONSchemaPropsOrStringArray": {
        "description": "JSONSchemaPropsOrStringArray represents a JSONSchemaProps or a string array.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    APIEXT + "CustomResourceSubresourceStatus": {
        "description": "CustomResourceSubresourceStatus enables the status subresource: .status is then "
                       "changed only through /status, and .metadata.generation increments on spec changes.",
        "type": "object",
    },
}


def ref(component: str) -> dict[str, str]:
    return {"$ref": "#/components/schemas/" + component}


def _node_schema(node: TypeNode, refs: set[str]) -> dict[str, Any]:
    """Schema of a value of type ``node`` (no description); records referenced component names in ``refs``."""
    kind = node.kind
    if kind == MODEL:
        name = component_name(node.model)
        refs.add(node.model)
        return {"allOf": [ref(name)], "default": {}}
    if kind == LIST:
        assert node.elem is not None
        return {"type": "array", "items": _node_schema(node.elem, refs)}
    if kind == MAP:
        assert node.elem is not None
        return {"type": "object", "additionalProperties": _node_schema(node.elem, refs)}
    if node.ref:
        refs.add(node.ref)
        return {"allOf": [ref(node.ref)]}
    if kind == INTEGER:
        return {"type": "integer", "format": node.fmt or "int32"}
    if kind == NUMBER:
        return {"type": "number", "format": "double"}
    if kind == BYTES:
        return {"type": "string", "format": "byte"}
    if kind == FREE:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {"type": kind}  # string, boolean


def _field_schema(field: ModelField, refs: set[str]) -> dict[str, Any]:
    node = field.type
    if node.kind == MODEL and not field.description:
        # The client has no field description: show the type's, once (kubectl explain prints both for allOf).
        info = model_info(node.model)
        refs.add(node.model)
        out: dict[str, Any] = ref(component_name(node.model))
        if info is not None and info.doc:
            out["description"] = info.doc
        return out
    s = _node_schema(node, refs)
    if field.description:
        s["description"] = field.description
    return s


_SCHEMAS: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}

# patchStrategy tags that are not a plain "merge" (upstream types.go); kubectl adds $retainKeys for these
_RETAIN_KEYS = {("V1PodSpec", "volumes"): "merge,retainKeys", ("V1DeploymentSpec", "strategy"): "retainKeys"}


def _patch_extensions(model: str) -> dict[str, dict[str, Any]]:
    """x-kubernetes-patch-strategy/-merge-key and list-type extensions of the fields of ``model``.

    kubectl computes apply patches from these (without them every list looks atomic and a re-apply would resend
    whole lists), and server-side apply's list semantics follow the list-type markers.
    """
    from kubelab.api.patch.facts import LIST_FACTS

    out: dict[str, dict[str, Any]] = {}
    for (m, wire), fact in LIST_FACTS.items():
        if m != model:
            continue
        ext: dict[str, Any] = {}
        if fact.strategy:
            ext["x-kubernetes-patch-strategy"] = _RETAIN_KEYS.get((m, wire), fact.strategy)
            if fact.merge_key:
                ext["x-kubernetes-patch-merge-key"] = fact.merge_key
        list_type = fact.list_type or ("map" if fact.merge_key else "set" if fact.strategy else "atomic")
        ext["x-kubernetes-list-type"] = list_type
        if list_type == "map":
            ext["x-kubernetes-list-map-keys"] = list(fact.list_keys or (fact.merge_key,))
        out[wire] = ext
    for (m, wire), strategy in _RETAIN_KEYS.items():
        if m == model and wire not in out:
            out[wire] = {"x-kubernetes-patch-strategy": strategy}
    return out


def model_schema(model: str) -> tuple[dict[str, Any], frozenset[str]]:
    """(component schema, referenced class/component names) of client class ``model``; cached: read only."""
    hit = _SCHEMAS.get(model)
    if hit is not None:
        return hit
    info = model_info(model)
    if info is None:
        raise KeyError(model)
    refs: set[str] = set()
    props = {w: _field_schema(f, refs) for w, f in info.fields.items()}
    for w, ext in _patch_extensions(model).items():
        if w in props:
            props[w] = {**props[w], **ext}
    schema: dict[str, Any] = {"description": info.doc, "type": "object", "properties": props}
    required = [w for w, f in info.fields.items() if f.required]
    if required:
        schema["required"] = required
    gvks = gvks_of(model)
    if gvks:
        schema["x-kubernetes-group-version-kind"] = gvks
    hit = (schema, frozenset(refs))
    _SCHEMAS[model] = hit
    return hit


def component_schemas(roots: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Component schemas (by upstream name) of every model reachable from ``roots`` (client class names or
    special component names); all built-in kinds when ``roots`` is None. Schemas are shared: do not mutate."""
    if roots is None:
        roots = [name for name, _ in _builtin_roots()]
        roots += ["V1Status", "V1DeleteOptions", "V1WatchEvent", PATCH_REF]
    out: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    stack = [r for r in roots]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in SPECIAL_SCHEMAS:
            out[name] = SPECIAL_SCHEMAS[name]
            continue
        if model_info(name) is None:
            continue
        schema, refs = model_schema(name)
        out[component_name(name)] = schema
        stack.extend(refs)
    return dict(sorted(out.items()))
