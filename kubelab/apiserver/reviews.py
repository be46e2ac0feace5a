"""Review requests: objects a client creates to ask a question, answered at once and never stored.

Mirrors kube-apiserver's selfsubjectreviews (``kubectl auth whoami``), tokenreviews, and the authorization
reviews (``kubectl auth can-i``). kubelab has no authorization layer (see apiserver/server.py): every
authenticated user may do everything, so access reviews answer allowed, saying why; the answers are honest about
this cluster, not about what RBAC would say on a real one.
"""

from __future__ import annotations

from typing import Any

from kubelab.api import errors
from kubelab.api.resources import ResourceType
from kubelab.apiserver.context import ServerContext

REVIEW_KINDS = frozenset({"SelfSubjectReview", "TokenReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
                          "SubjectAccessReview"})
_WHY = "kubelab authorizes every authenticated user (no RBAC enforcement in the embedded cluster)"


def answer(ctx: ServerContext, rt: ResourceType, body: dict[str, Any], user: tuple[str, list[str]]) -> dict[str, Any]:
    kind = rt.kind
    if body.get("kind") not in (None, "", kind):
        raise errors.bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind "
                                 f"({kind})")
    out: dict[str, Any] = {"kind": kind, "apiVersion": rt.api_version,
                           "metadata": {"creationTimestamp": None, **(body.get("metadata") or {})},
                           "spec": body.get("spec") or {}}
    name, groups = user
    if kind == "SelfSubjectReview":
        out.pop("spec")
        out["status"] = {"userInfo": {"username": name, "groups": list(groups)}}
    elif kind == "TokenReview":
        token = (body.get("spec") or {}).get("token", "")
        who = ctx.tokens.get(token)
        out["status"] = ({"authenticated": True, "user": {"username": who[0], "groups": list(who[1])},
                          "audiences": (body.get("spec") or {}).get("audiences") or []}
                         if who else {"authenticated": False, "error": "invalid bearer token"})
    elif kind in ("SelfSubjectAccessReview", "SubjectAccessReview"):
        spec = body.get("spec") or {}
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise errors.invalid(kind, rt.group, "", [errors.FieldError(
                "spec.resourceAttributes", "Invalid value", "exactly one of nonResourceAttributes or "
                "resourceAttributes must be specified", None)])
        out["status"] = {"allowed": True, "reason": _WHY}
    else:  # SelfSubjectRulesReview
        out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    return out
