"""Parse a resource URL into group, version, namespace, resource, name and subresource.

Mirrors k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory for the paths kubelab serves:
/api/v1/..., /apis/<group>/<version>/..., namespaced or cluster-scoped, with an optional subresource.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceRegistry, ResourceType


@dataclass(frozen=True)
class RequestInfo:
    rt: ResourceType
    namespace: str | None
    name: str
    subresource: str


def parse(path: str, resources: ResourceRegistry) -> RequestInfo | None:
    """``path`` without the leading '/'. None when it is not a resource path (discovery is handled elsewhere)."""
    segs = [s for s in path.split("/") if s]
    if not segs:
        return None
    if segs[0] == "api":
        if len(segs) < 3:
            return None
        group, version, rest = "", segs[1], segs[2:]
    elif segs[0] == "apis":
        if len(segs) < 4:
            return None
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if rest and rest[0] == "watch":  # deprecated /watch/ prefix: same as ?watch=true (caller handles)
        rest = rest[1:]
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_rt = resources.lookup(group, version, "namespaces")
        if not (ns_rt is not None and len(rest) == 3 and ns_rt.subresource(rest[2])):
            namespace = rest[1]
            rest = rest[2:]
    plural = rest[0]
    rt = resources.lookup(group, version, plural)
    if rt is None:
        gv = f"{group}/{version}" if group else version
        if not any(t.group == group and t.version == version for t in resources.all()):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({gv} {plural})")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 or (sub and rt.subresource(sub) is None):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if namespace is not None and not rt.namespaced:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return RequestInfo(rt, namespace, name, sub)
