"""Request and response encodings, as kube-apiserver negotiates them.

Request bodies arrive as JSON, YAML or Kubernetes protobuf (the typed ``kubectl create`` generators send
protobuf); responses are always JSON, in one of the shapes a client asks for with its Accept header: the plain
object, a ``Table`` (kubectl's printing), or ``PartialObjectMetadata`` (metadata-only informers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from kubelab.api.errors import ApiError, bad_request, json_kind, unsupported_media_type

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
PARTIAL_CT = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
PARTIAL_LIST_CT = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"

MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's default request size limit (3 MiB)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _yaml_loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a create/update body into a JSON-like dict; errors shaped like the real server's."""
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct in ("", JSON, "application/merge-patch+json"):
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}") from None
    elif ct in (YAML, "application/x-yaml", "text/yaml"):
        try:
            obj = yaml.load(body, Loader=_yaml_loader())  # noqa: S506 - safe loader
        except yaml.YAMLError as e:
            raise bad_request(f"error converting YAML to JSON: {_yaml_problem(e)}") from None
    elif ct == PROTOBUF:
        from kubelab.api.protobuf import decode_object

        obj = decode_object(body)
    else:
        raise unsupported_media_type(content_type)
    if not isinstance(obj, dict):
        raise bad_request(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{json_kind(obj)} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; "
            "Kind string \"json:\\\"kind,omitempty\\\"\" }"
        )
    return obj


def _yaml_problem(e: yaml.YAMLError) -> str:
    """Shape a PyYAML error like the Go yaml library's: 'yaml: line 3: did not find expected node content'."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"




@dataclass(frozen=True)
class Accept:
    """What shape the client wants the response in."""

    table: bool = False
    partial: bool = False  # PartialObjectMetadata(List)
    include_object: str = "Metadata"

    @staticmethod
    def parse(header: str | None, include_object: str | None = None) -> Accept:
        if not header:
            return PLAIN
        table = partial = False
        json_ok = False
        for part in header.split(","):
            params = [p.strip() for p in part.split(";")]
            media = params[0].lower()
            kv = dict(p.split("=", 1) for p in params[1:] if "=" in p)
            if media in ("application/json", "*/*", "application/*"):
                as_ = kv.get("as")
                if as_ == "Table" and kv.get("g") == "meta.k8s.io":
                    table = True
                    break
                if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and kv.get("g") == "meta.k8s.io":
                    partial = True
                    break
                if as_ is None:
                    json_ok = True
                    break
            elif media in (YAML,):
                json_ok = True
                break
            elif media == PROTOBUF:
                continue  # we answer in JSON; clients always also accept it
        if not (table or partial or json_ok):
            if header.strip().lower().startswith(PROTOBUF):
                json_ok = True  # protobuf-only Accept: answer JSON (clients decode by Content-Type)
            else:
                raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: {JSON}, {YAML}, {PROTOBUF}")
        if table:
            return Accept(table=True, include_object=include_object or "Metadata")
        if partial:
            return Accept(partial=True)
        return PLAIN


PLAIN = Accept()


def partial_object(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}
