"""CustomResourceDefinitions: serve a new resource type as soon as its CRD is stored.

Mirrors the apiextensions-apiserver in miniature: the CRD's names, scope and served versions become a
``ResourceType`` in the registry (so discovery, OpenAPI and the generic handlers pick it up), its status reports
NamesAccepted and Established at once, and deleting the CRD deletes every custom resource of it.

Simplified: no conversion webhooks (every served version shares one storage and the objects keep the apiVersion
they are read as), validation by the structural schema covers unknown fields only; CEL rules are not evaluated.
"""

from __future__ import annotations

from typing import Any

from kubelab.api.resources import ResourceType, Subresource, status_sub
from kubelab.apiserver.context import ServerContext
from kubelab.clock import rfc3339


def crd_status(crd: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stored = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
    prev = (old or {}).get("status") or {}
    stored_versions = list(prev.get("storedVersions") or [])
    for v in stored:
        if v not in stored_versions:
            stored_versions.append(v)
    ts = ((prev.get("conditions") or [{}])[0].get("lastTransitionTime")
          or (crd.get("metadata") or {}).get("creationTimestamp"))
    return {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": ts},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": ts},
        ],
        "storedVersions": stored_versions,
    }


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = next((v.get("name") for v in served if v.get("storage")), served[0].get("name") if served else "")
    for v in served:
        subs: list[Subresource] = []
        sr = v.get("subresources") or {}
        if "status" in sr:
            subs.append(status_sub(names.get("kind", "")))
        if "scale" in sr:
            subs.append(Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1"))
        out.append(ResourceType(
            group=spec.get("group", ""), version=v.get("name", ""), kind=names.get("kind", ""),
            plural=names.get("plural", ""), namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            subresources=tuple(subs), preferred=v.get("name") == storage, custom=True,
        ))
    return out


def schema_of(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            return ((v.get("schema") or {}).get("openAPIV3Schema")) or None
    return None


def printer_columns(crd: dict[str, Any], version: str) -> list[dict[str, Any]]:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            return list(v.get("additionalPrinterColumns") or [])
    return []


def register_crd(ctx: ServerContext, crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
    ctx.resources.remove_group_resource(group, plural)
    for rt in resource_types(crd):
        ctx.resources.add(rt)
        ctx.custom_schemas[(rt.group, rt.version, rt.plural)] = schema_of(crd, rt.version)
        cols = printer_columns(crd, rt.version)
        if cols:
            ctx.registry.custom_columns[(rt.group, rt.version, rt.plural)] = cols
        else:
            ctx.registry.custom_columns.pop((rt.group, rt.version, rt.plural), None)
        if ctx.openapi is not None and hasattr(ctx.openapi, "set_custom_schema"):
            ctx.openapi.set_custom_schema(rt.group, rt.version, rt.kind, schema_of(crd, rt.version))


def unregister_crd(ctx: ServerContext, crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
    storage = f"/registry/{group}/{plural}/"
    kvs, _ = ctx.store.range(storage)
    for kv in kvs:
        try:
            ctx.store.delete(kv.key)
        except Exception:  # already gone
            pass
    for cols_key in [k for k in ctx.registry.custom_columns if k[0] == group and k[2] == plural]:
        del ctx.registry.custom_columns[cols_key]
    for key in [k for k in ctx.custom_schemas if k[0] == group and k[2] == plural]:
        del ctx.custom_schemas[key]
        if ctx.openapi is not None:
            ctx.openapi.set_custom_schema(group, key[1], (spec.get("names") or {}).get("kind", ""), None)
    ctx.resources.remove_group_resource(group, plural)


__all__ = ["crd_status", "register_crd", "unregister_crd", "resource_types", "rfc3339"]
