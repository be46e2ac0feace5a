"""What the admission plugins share: the Forbidden error they answer with, reads of the store by group/plural,
and the "is this object valid anyway?" check that keeps the validating plugins after object validation.

Mirrors k8s.io/apiserver/pkg/admission (NewForbidden, which names the object by its name or, before names are
generated, its generateName) and the order kube-apiserver runs things in: mutating admission, then the
registry's own validation, then validating admission. kubelab's registry calls every hook before its own
validation, so a validating plugin first asks ``invalid(...)`` and stands aside when validation is about to
reject the object anyway (a 422 wins over a 403, as upstream).
"""

from __future__ import annotations

from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.api.validation import validate_create, validate_update
from kubelab.apiserver.context import ServerContext

Obj = dict[str, Any]


def forbidden(rt: ResourceType, obj: Obj | None, reason: str) -> ApiError:
    """admission.NewForbidden: ``pods "web" is forbidden: <reason>`` (403, reason Forbidden)."""
    meta = (obj or {}).get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or "Unknown"
    qualified = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return ApiError(403, "Forbidden", f'{qualified} "{name}" is forbidden: {reason}',
                    {"name": name, "group": rt.group, "kind": rt.plural})


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate's text: one message alone, several as ``[a, b]``."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def resource(ctx: ServerContext, group: str, plural: str) -> ResourceType | None:
    """The preferred served version of group/plural."""
    best = None
    for rt in ctx.resources.all():
        if rt.plural == plural and rt.group == group:
            if rt.preferred:
                return rt
            best = best or rt
    return best


def list_objects(ctx: ServerContext, group: str, plural: str, namespace: str | None) -> list[Obj]:
    """Every stored object of group/plural in ``namespace`` (all namespaces for None), in key order."""
    rt = resource(ctx, group, plural)
    if rt is None:
        return []
    kvs, _ = ctx.store.range(rt.prefix(namespace))
    return [kv.value for kv in kvs]


def has_objects(ctx: ServerContext, group: str, plural: str, namespace: str | None) -> bool:
    """Cheap: are there any? (every write passes through the plugins, so they leave early when not)."""
    rt = resource(ctx, group, plural)
    return rt is not None and ctx.store.count(rt.prefix(namespace)) > 0


def invalid(rt: ResourceType, new: Obj, old: Obj | None) -> bool:
    """Would the registry's validation reject this write? (then a validating plugin stays silent)"""
    try:
        errs = validate_create(rt, new) if old is None else validate_update(rt, new, old)
    except Exception:  # validation trouble is the registry's to report
        return True
    return bool(errs)


def namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")
