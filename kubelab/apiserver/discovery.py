"""API discovery: what groups, versions and resources the server offers.

Serves both forms kube-apiserver does (k8s.io/apiserver/pkg/endpoints/discovery): the legacy documents
(APIVersions, APIGroupList, APIGroup, APIResourceList per group-version) and aggregated discovery
(APIGroupDiscoveryList, apidiscovery.k8s.io/v2) that kubectl asks for first. Documents are rebuilt only when the
set of resources changes (a CRD came or went).
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubelab.api.resources import ResourceRegistry, ResourceType
from kubelab.apiserver.codec import dumps

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str | None) -> bool:
    if not accept:
        return False
    first = accept.split(",", 1)[0]
    return "as=APIGroupDiscoveryList" in first and "g=apidiscovery.k8s.io" in first and "v=v2" in first


def _storage_hash(rt: ResourceType) -> str:
    import base64

    h = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()[:8]
    return base64.b64encode(h).decode()


def _api_resource(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if "create" in rt.verbs and rt.verbs != ("create",):
        main["storageVersionHash"] = _storage_hash(rt)
    out = [main]
    for s in rt.subresources:
        sub: dict[str, Any] = {"name": f"{rt.plural}/{s.name}", "singularName": "", "namespaced": rt.namespaced,
                               "kind": s.kind, "verbs": list(s.verbs)}
        if s.group:
            sub["group"], sub["version"] = s.group, s.version
        out.append(sub)
    return out


class Discovery:
    def __init__(self, resources: ResourceRegistry, server_address: str = "") -> None:
        self.resources = resources
        self.server_address = server_address
        self._gen = -1
        self._cache: dict[str, bytes] = {}

    def _fresh(self) -> dict[str, bytes]:
        if self._gen != self.resources.generation:
            self._cache = {}
            self._gen = self.resources.generation
        return self._cache

    def _get(self, key: str, build: Any) -> bytes:
        cache = self._fresh()
        b = cache.get(key)
        if b is None:
            b = cache[key] = dumps(build())
        return b

    # legacy documents --------------------------------------------------------------------------------------
    def api_versions(self) -> bytes:
        return self._get("api", lambda: {
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}],
        })

    def _group(self, group: str, versions: list[str]) -> dict[str, Any]:
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def api_group_list(self) -> bytes:
        return self._get("apis", lambda: {
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [self._group(g, vs) for g, vs in self.resources.groups() if g],
        })

    def api_group(self, group: str) -> bytes | None:
        for g, vs in self.resources.groups():
            if g == group and g:
                return self._get(f"group/{g}", lambda g=g, vs=vs: dict(
                    self._group(g, vs), kind="APIGroup", apiVersion="v1"))
        return None

    def resource_list(self, group: str, version: str) -> bytes | None:
        types = self.resources.in_group_version(group, version)
        if not types:
            return None
        gv = f"{group}/{version}" if group else version
        return self._get(f"gv/{gv}", lambda: {
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [r for t in sorted(types, key=lambda t: t.plural) for r in _api_resource(t)],
        })

    # aggregated documents ----------------------------------------------------------------------------------
    def _aggregated_resource(self, rt: ResourceType) -> dict[str, Any]:
        r: dict[str, Any] = {
            "resource": rt.plural,
            "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "scope": "Namespaced" if rt.namespaced else "Cluster",
            "singularResource": rt.singular,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            r["shortNames"] = list(rt.short_names)
        if rt.categories:
            r["categories"] = list(rt.categories)
        if rt.subresources:
            r["subresources"] = [
                {"subresource": s.name,
                 "responseKind": {"group": s.group if s.group else rt.group,
                                  "version": s.version if s.version else rt.version, "kind": s.kind},
                 "verbs": list(s.verbs)}
                for s in rt.subresources
            ]
        return r

    def _aggregated(self, legacy: bool) -> dict[str, Any]:
        items = []
        for g, vs in self.resources.groups():
            if bool(g) == legacy:
                continue
            versions = []
            for v in vs:
                types = sorted(self.resources.in_group_version(g, v), key=lambda t: t.plural)
                versions.append({"version": v, "resources": [self._aggregated_resource(t) for t in types],
                                 "freshness": "Current"})
            items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": versions})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": items}

    def aggregated_api(self) -> bytes:
        return self._get("agg/api", lambda: self._aggregated(legacy=True))

    def aggregated_apis(self) -> bytes:
        return self._get("agg/apis", lambda: self._aggregated(legacy=False))
