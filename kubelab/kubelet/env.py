"""A container's environment, as the kubelet builds it before creating the container.

Mirrors pkg/kubelet/kubelet_pods.go (makeEnvironmentVariables) and envvars.go: service links (``<SVC>_SERVICE_HOST``
and friends, for the ``kubernetes`` service always and for the namespace's services unless
``enableServiceLinks: false``), then ``envFrom`` (ConfigMaps, Secrets, with prefixes), then ``env`` (values with
``$(VAR)`` references to earlier variables, and ``valueFrom`` fieldRef, resourceFieldRef, configMapKeyRef and
secretKeyRef). A missing ConfigMap, Secret or key raises ``EnvError`` with the kubelet's message; the container
then waits with CreateContainerConfigError. Simplified: resourceFieldRef reports the spec value (or 0).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from kubelab.client import Client
from kubelab.kubelet.programs import expand_kubernetes_vars

Obj = dict[str, Any]


class EnvError(Exception):
    pass


def _svc_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def service_env(services: list[Obj]) -> dict[str, str]:
    env: dict[str, str] = {}
    for svc in sorted(services, key=lambda s: s["metadata"]["name"]):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        n = _svc_name(svc["metadata"]["name"])
        env[f"{n}_SERVICE_HOST"] = ip
        env[f"{n}_SERVICE_PORT"] = str(ports[0].get("port"))
        for p in ports:
            if p.get("name"):
                env[f"{n}_SERVICE_PORT_{_svc_name(p['name'])}"] = str(p.get("port"))
        first = ports[0]
        env[f"{n}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
        for p in ports:
            proto = (p.get("protocol") or "TCP")
            base = f"{n}_PORT_{p.get('port')}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{ip}:{p.get('port')}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(p.get("port"))
            env[f"{base}_ADDR"] = ip
    return env


def _field(pod: Obj, path: str, host_ip: str, pod_ip: str) -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\[['\"]?([^'\"\]]+)['\"]?\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    return {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""), "status.hostIP": host_ip,
        "status.hostIPs": host_ip, "status.podIP": pod_ip, "status.podIPs": pod_ip,
    }.get(path, "")


def _lookup(client: Client, kind: str, ns: str, name: str, optional: bool) -> Obj | None:
    obj = client.try_get("configmaps" if kind == "ConfigMap" else "secrets", name, ns)
    if obj is None and not optional:
        raise EnvError(f'{kind.lower()} "{name}" not found')
    return obj


def _data(obj: Obj, kind: str) -> dict[str, str]:
    if kind == "ConfigMap":
        return {k: str(v) for k, v in (obj.get("data") or {}).items()}
    out = {}
    for k, v in (obj.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode("utf-8", "replace")
        except ValueError:
            out[k] = str(v)
    out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


def container_env(client: Client, pod: Obj, container: Obj, *, host_ip: str, pod_ip: str) -> dict[str, str]:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ns = meta.get("namespace") or "default"
    env: dict[str, str] = {}
    services = [s for s in client.list("services", "default") if s["metadata"]["name"] == "kubernetes"]
    if spec.get("enableServiceLinks", True) is not False:
        services += [s for s in client.list("services", ns) if not (ns == "default" and
                                                                   s["metadata"]["name"] == "kubernetes")]
    env.update(service_env(services))
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = src.get(key)
            if not ref:
                continue
            obj = _lookup(client, kind, ns, ref.get("name", ""), bool(ref.get("optional")))
            if obj is not None:
                env.update({prefix + k: v for k, v in _data(obj, kind).items()})
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "value" in e or not e.get("valueFrom"):
            env[name] = expand_kubernetes_vars(str(e.get("value") or ""), env)
            continue
        vf = e["valueFrom"]
        if vf.get("fieldRef"):
            env[name] = _field(pod, vf["fieldRef"].get("fieldPath", ""), host_ip, pod_ip)
        elif vf.get("resourceFieldRef"):
            rf = vf["resourceFieldRef"]
            res = (container.get("resources") or {})
            kind, _, rname = (rf.get("resource") or "").partition(".")
            env[name] = str((res.get(kind) or {}).get(rname, "0"))
        else:
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                ref = vf.get(key)
                if not ref:
                    continue
                optional = bool(ref.get("optional"))
                obj = _lookup(client, kind, ns, ref.get("name", ""), optional)
                if obj is None:
                    continue
                data = _data(obj, kind)
                if ref.get("key") not in data:
                    if optional:
                        continue
                    raise EnvError(f"couldn't find key {ref.get('key')} in {kind} {ns}/{ref.get('name')}")
                env[name] = data[ref["key"]]
    return env
