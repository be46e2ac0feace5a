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




def model_exists(model: str) -> bool:
    from kubelab.api.schema import model_info

    return bool(model) and model_info(model) is not None


def _schema_of_node(node: Any, owner: str, wire: str) -> TypeSchema:
    """TypeSchema of a field typed by kubelab.api.schema's TypeNode (read from the client's generated source,
    without importing the pydantic models: ~1 s saved on a cluster's first write)."""
    from kubelab.api import schema as s

    if node.kind == s.LIST:
        return TypeSchema("list", elem=_schema_of_node(node.elem, "", ""), fact=LIST_FACTS.get((owner, wire)))
    if node.kind == s.MAP:
        return TypeSchema("map", elem=_schema_of_node(node.elem, "", ""))
    if node.kind == s.MODEL:
        return TypeSchema("struct", model=node.model, atomic=node.model in ATOMIC_STRUCTS)
    if node.kind == s.FREE:
        return ANY
    return SCALAR


def struct_fields(model: str) -> dict[str, TypeSchema]:
    """Wire name -> type of every field of client model ``model`` (cached)."""
    cached = _MODELS.cache.get(model)
    if cached is not None:
        return cached
    from kubelab.api.schema import model_info

    info = model_info(model)
    out: dict[str, TypeSchema] = {}
    if info is not None:
        for wire, f in info.fields.items():
            out[wire] = _schema_of_node(f.type, model, wire)
    _MODELS.cache[model] = out
    return out


@functools.lru_cache(maxsize=256)
def root_schema(model: str) -> TypeSchema:
    """The type of a whole object of client model ``model``; free JSON when there is no such model (custom resources)."""
    if not model_exists(model):
        return CUSTOM_ROOT
    return TypeSchema("struct", model=model, atomic=model in ATOMIC_STRUCTS)
