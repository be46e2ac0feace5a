"""API errors as the Kubernetes API server reports them: a ``Status`` object with code, reason and message.

Mirrors k8s.io/apimachinery/pkg/api/errors. Raise ``ApiError`` anywhere below the HTTP layer; the API server turns
it into a JSON ``Status`` response with the same code.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            st["details"] = self.details
        return st


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(group, resource)} "{name}" not found',
        {"name": name, "group": group, "kind": resource},
    )


def already_exists(group: str, resource: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(group, resource)} "{name}" already exists',
        {"name": name, "group": group, "kind": resource},
    )


def conflict(group: str, resource: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(group, resource)} "{name}": {why}',
        {"name": name, "group": group, "kind": resource},
    )


STALE_RV = "the object has been modified; please apply your changes to the latest version and try again"


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str = "too old resource version") -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "{content_type}")')


def method_not_allowed(verb: str, resource: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({verb} {resource})")


def too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


class FieldError:
    """One field problem, as field.Error in apimachinery (Type is the human phrase)."""

    def __init__(self, path: str, type_: str, detail: str = "", value: Any = None, reason: str = "") -> None:
        self.path = path
        self.type = type_  # e.g. "Required value", "Invalid value", "Unsupported value", "Forbidden", ...
        self.detail = detail
        self.value = value
        self.reason = reason or {
            "Required value": "FieldValueRequired",
            "Invalid value": "FieldValueInvalid",
            "Unsupported value": "FieldValueNotSupported",
            "Forbidden": "FieldValueForbidden",
            "Duplicate value": "FieldValueDuplicate",
            "Too long": "FieldValueTooLong",
        }.get(type_, "FieldValueInvalid")

    def __str__(self) -> str:
        if self.type == "Invalid value" or self.type == "Unsupported value" or self.type == "Duplicate value":
            v = self.value
            shown = f'"{v}"' if isinstance(v, str) else ("null" if v is None else str(v))
            s = f"{self.path}: {self.type}: {shown}"
        else:
            s = f"{self.path}: {self.type}"
        if self.detail:
            s += f": {self.detail}"
        return s


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid, message shaped like: Pod "x" is invalid: [spec.containers: Required value, ...]."""
    parts = [str(e) for e in errors]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{kind}{"." + group if group else ""} "{name}" is invalid: {joined}',
        {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [{"reason": e.reason, "message": str(e).split(": ", 1)[1] if ": " in str(e) else str(e), "field": e.path} for e in errors],
        },
    )


def json_kind(v: Any) -> str:
    """How Go's encoding/json names a JSON value's kind in its errors ("cannot unmarshal array into ...")."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"
