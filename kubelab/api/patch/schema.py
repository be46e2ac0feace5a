"""Type information for patching: the shape of every built-in kind, with merge facts attached.

Mirrors what the API server gets from the Go structs (k8s.io/apimachinery/pkg/util/strategicpatch
``PatchMetaFromStruct``) and from the OpenAPI schema for server-side apply (structured-merge-diff): for each field
of each kind, whether it is a scalar, a struct, a map or a list, and for lists how their items are merged.

The shape comes from the official Python client's pydantic models (``V1PodSpec.model_fields``: wire name and
annotation), walked lazily from the resource's model class and cached. Only the *merge facts* are kept by hand in
:mod:`kubelab.api.patch.facts` (patch strategies and merge keys from the ``patchStrategy``/``patchMergeKey`` struct
tags, list types and map keys from ``+listType``/``+listMapKey``, atomic structs from ``+structType=atomic``).

Simplified: a field whose Python annotation is untyped (``Any``/``object``, e.g. RawExtension) is treated as free
JSON: its maps merge key by key and its lists are replaced, where the API server would refuse to look inside.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from kubelab.api.patch.facts import ATOMIC_STRUCTS, LIST_FACTS, ListFact

Kind = Literal["scalar", "struct", "map", "list", "any"]


@dataclass(frozen=True)
class TypeSchema:
    """One type: a scalar, a struct (a client model), a map from string to ``elem``, a list of ``elem``, or free JSON.

    For a list, ``fact`` says how its items merge; for a struct, ``model`` names the client model class.
    """

    kind: Kind
    model: str = ""
    elem: TypeSchema | None = None
    fact: ListFact | None = None
    atomic: bool = False  # a struct/map replaced as a whole by server-side apply
    object_root: bool = False  # free JSON that is a whole object: its "metadata" is still an ObjectMeta

    def field(self, name: str) -> TypeSchema:
        """The type of field ``name`` of a struct, of a map's values, or free JSON when unknown."""
        if self.kind == "struct":
            return struct_fields(self.model).get(name, ANY)
        if self.kind == "map" and self.elem is not None:
            return self.elem
        if self.object_root and name == "metadata":
            return OBJECT_META
        return ANY

    def declares(self, name: str) -> bool:
        """Is ``name`` a named field (of a struct, or of free JSON taken as an object) rather than a map key?"""
        if self.kind == "struct":
            return name in struct_fields(self.model)
        return self.kind == "any"

    def item(self) -> TypeSchema:
        """The type of a list's items (free JSON when unknown)."""
        if self.kind == "list" and self.elem is not None:
            return self.elem
        return ANY

    # --- list facts, with the defaults the API server uses ---------------------------------------------------
    @property
    def patch_strategy(self) -> str:
        """"merge" or "" (replace) for a list under strategic merge patch."""
        return self.fact.strategy if self.fact else ""

    @property
    def merge_key(self) -> str:
        return self.fact.merge_key if self.fact else ""

    @property
    def list_type(self) -> str:
        """Server-side apply's list type: "atomic", "set" or "map" (associative)."""
        if self.fact is None:
            return "atomic"
        if self.fact.list_type:
            return self.fact.list_type
        if self.fact.strategy == "merge":
            return "map" if self.fact.merge_key else "set"
        return "atomic"

    @property
    def list_keys(self) -> tuple[str, ...]:
        if self.fact is None:
            return ()
        if self.fact.list_keys:
            return self.fact.list_keys
        return (self.fact.merge_key,) if self.fact.merge_key else ()


ANY = TypeSchema("any")
SCALAR = TypeSchema("scalar")
OBJECT_META = TypeSchema("struct", model="V1ObjectMeta")
CUSTOM_ROOT = TypeSchema("any", object_root=True)  # a custom resource: free JSON with standard metadata


@dataclass
class _Models:
    module: Any = None
    cache: dict[str, dict[str, TypeSchema]] = field(default_factory=dict)


_MODELS = _Models()


def _models_module() -> Any:
    if _MODELS.module is None:
        import kubernetes.client.models as models  # heavy import: done once, on first use

        _MODELS.module = models
    return _MODELS.module


def model_exists(model: str) -> bool:
    return bool(model) and isinstance(getattr(_models_module(), model, None), type)


def _wire_name(name: str, info: Any) -> str:
    return info.serialization_alias or (info.alias if isinstance(info.alias, str) else None) or name


def _strip_optional(tp: Any) -> Any:
    """Peel Optional[...] and Annotated[...] off an annotation; a Union of scalars stays a Union."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin is typing.Union or origin is types.UnionType:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _schema_of(tp: Any, owner: str, wire: str) -> TypeSchema:
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        return TypeSchema("list", elem=_schema_of(arg, "", ""), fact=LIST_FACTS.get((owner, wire)))
    if origin is dict:
        args = typing.get_args(tp)
        val = args[1] if len(args) == 2 else Any
        elem = _schema_of(val, "", "")
        return TypeSchema("map", elem=elem)
    if origin is typing.Union or origin is types.UnionType:
        members = [_strip_optional(a) for a in typing.get_args(tp) if a is not type(None)]
        if all(_is_scalar_type(a) for a in members):
            return SCALAR
        return ANY  # e.g. JSONSchemaProps.items: a schema or a list of schemas
    if tp is Any or tp is object:
        return ANY
    if _is_scalar_type(tp):
        return SCALAR
    if isinstance(tp, type):
        name = tp.__name__
        if hasattr(tp, "model_fields"):
            return TypeSchema("struct", model=name, atomic=name in ATOMIC_STRUCTS)
    return ANY


def _is_scalar_type(tp: Any) -> bool:
    import datetime as _dt

    return isinstance(tp, type) and issubclass(tp, str | int | float | bool | bytes | _dt.datetime | _dt.date)


def struct_fields(model: str) -> dict[str, TypeSchema]:
    """Wire name -> type of every field of client model ``model`` (cached)."""
    cached = _MODELS.cache.get(model)
    if cached is not None:
        return cached
    cls = getattr(_models_module(), model, None)
    out: dict[str, TypeSchema] = {}
    if cls is not None and hasattr(cls, "model_fields"):
        for name, info in cls.model_fields.items():
            wire = _wire_name(name, info)
            out[wire] = _schema_of(info.annotation, model, wire)
    _MODELS.cache[model] = out
    return out


@functools.lru_cache(maxsize=256)
def root_schema(model: str) -> TypeSchema:
    """The type of a whole object of client model ``model``; free JSON when there is no such model (custom resources)."""
    if not model_exists(model):
        return CUSTOM_ROOT
    return TypeSchema("struct", model=model, atomic=model in ATOMIC_STRUCTS)
