"""The four patch types of the Kubernetes API, as pure functions on JSON-like dicts, and field ownership.

Mirrors the apiserver's PATCH handler (k8s.io/apiserver/pkg/endpoints/handlers/patch.go) and FieldManager
(k8s.io/apimachinery/pkg/util/managedfields): the body is decoded according to its content type, applied to the
current object, and errors come back as the :class:`~kubelab.api.errors.ApiError` the real server would send.

Public API::

    new_obj = apply_patch(content_type, current, body, rt, field_manager=..., force=..., now_iso=...)
    new_obj = record_update(current, new, manager, api_version=..., now_iso=...)

``apply_patch`` never mutates ``current``. For ``application/apply-patch+yaml`` it returns the object with
``metadata.managedFields`` already updated (``current`` None: the object to create); do not call ``record_update``
after it. For the other types it also records the write as an ``Update`` by ``field_manager`` when one is given;
calling ``record_update`` again after defaulting (so defaulted fields are owned too, as on the real server) is safe:
it is idempotent for the same write.

See :mod:`.json_patch`, :mod:`.merge_patch`, :mod:`.strategic` and :mod:`.ssa` for what each mirrors and
simplifies.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from kubelab.api.errors import ApiError, json_kind
from kubelab.api.patch._common import bad_request, decode_json, unprocessable
from kubelab.api.patch.json_patch import json_patch, parse_json_patch
from kubelab.api.patch.merge_patch import merge_patch, parse_merge_patch
from kubelab.api.patch.schema import root_schema
from kubelab.api.patch.ssa import Scope, record_update_managed, server_side_apply
from kubelab.api.patch.strategic import strategic_merge
from kubelab.api.resources import BUILTIN, ResourceType

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH_YAML = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

BUILTIN_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH_YAML, APPLY_PATCH_CBOR)
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH_YAML, APPLY_PATCH_CBOR)

__all__ = [
    "APPLY_PATCH_CBOR",
    "APPLY_PATCH_YAML",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "apply_patch",
    "patch_types",
    "record_update",
]


def patch_types(rt: ResourceType) -> tuple[str, ...]:
    """The patch content types the server accepts for ``rt`` (what a 415 lists)."""
    return CUSTOM_PATCH_TYPES if rt.custom else BUILTIN_PATCH_TYPES


def _unsupported(rt: ResourceType) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(patch_types(rt)),
    )


def _scope(rt: ResourceType, subresource: str | None) -> Scope:
    return Scope(root_schema(rt.model), rt.group_version, subresource or "", ignore_status=rt.has_status)


def apply_patch(
    content_type: str,
    current: dict[str, Any] | None,
    body: bytes,
    rt: ResourceType,
    *,
    field_manager: str | None,
    force: bool,
    now_iso: str,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Apply a PATCH body of ``content_type`` to ``current`` (an object of resource type ``rt``).

    ``current`` is None only for server-side apply of an object that does not exist yet: the result is then the
    object to create. ``force`` only matters to server-side apply. Raises ApiError as kube-apiserver would.
    """
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype not in patch_types(rt):
        raise _unsupported(rt)
    if ctype in (APPLY_PATCH_YAML, APPLY_PATCH_CBOR):
        config = _decode_apply(body, ctype, rt)
        return server_side_apply(current, config, rt.kind, field_manager or "", force, _scope(rt, subresource),
                                 now_iso)
    if current is None:
        raise ApiError(404, "NotFound", f'{rt.plural} not found', {"group": rt.group, "kind": rt.plural})

    if ctype == JSON_PATCH:
        result = json_patch(current, parse_json_patch(body))
    elif ctype == MERGE_PATCH:
        result = merge_patch(current, parse_merge_patch(body))
    else:
        try:
            patch = decode_json(body)
        except ValueError as e:
            raise bad_request(str(e)) from None
        if not isinstance(patch, dict):
            raise bad_request(f"json: cannot unmarshal {json_kind(patch)} into Go value of type map[string]interface {{}}")
        result = strategic_merge(current, patch, root_schema(rt.model))
    if not isinstance(result, dict):
        raise unprocessable(
            f'patch: Invalid value: "{json.dumps(result)}": the patched document is not a JSON object'
        )
    if field_manager:
        result = record_update(current, result, field_manager, api_version=rt.group_version, now_iso=now_iso,
                               subresource=subresource, rt=rt)
    return result




class _ApplyLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it: timestamps stay strings."""


_ApplyLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _stringify_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else json.dumps(k) if isinstance(k, bool) or k is None else str(k)):
                _stringify_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_stringify_keys(x) for x in v]
    return v


def _decode_apply(body: bytes, ctype: str, rt: ResourceType) -> Any:
    if ctype == APPLY_PATCH_CBOR:
        try:
            import cbor2  # type: ignore[import-not-found]
        except ImportError:
            raise _unsupported(rt) from None
        try:
            return cbor2.loads(body)
        except Exception as e:  # noqa: BLE001 - any decoding failure is the client's
            raise bad_request(f"error decoding CBOR: {e}") from None
    text = body.decode("utf-8", errors="replace")
    try:
        config = json.loads(text)
    except ValueError:
        try:
            config = yaml.load(text, Loader=_ApplyLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as e:
            raise bad_request(f"error decoding YAML: {e}") from None
    config = _stringify_keys(config)
    if config is not None and not isinstance(config, dict):
        raise bad_request(
            f"error decoding YAML: json: cannot unmarshal {json_kind(config)} into Go value of type "
            "map[string]interface {}"
        )
    return config or {}


def _rt_for(obj: dict[str, Any]) -> ResourceType | None:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    for rt in BUILTIN:
        if rt.group_version == api_version and rt.kind == kind:
            return rt
    return None


def record_update(
    current: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    operation: str = "Update",
    *,
    api_version: str,
    now_iso: str,
    subresource: str | None = None,
    rt: ResourceType | None = None,
) -> dict[str, Any]:
    """Return ``new`` with ``metadata.managedFields`` updated for a non-apply write by ``manager``.

    ``current`` is the stored object before the write (None for a create). The fields the write added or changed
    become ``manager``'s (an ``operation`` entry at ``api_version``); fields it removed leave every entry. The
    managed fields of ``new`` are the starting point when it carries any (a client may set them; ``[{}]`` clears
    them), else those of ``current``. ``rt`` gives the schema; when omitted it is looked up among the built-in
    types by ``new``'s apiVersion and kind (custom resources: schemaless, status tracked separately).
    """
    rt = rt or _rt_for(new)
    schema = root_schema(rt.model if rt else "")
    ignore_status = rt.has_status if rt else True
    scope = Scope(schema, api_version, subresource or "", ignore_status=ignore_status)
    return record_update_managed(current, new, manager, operation, scope, now_iso)
