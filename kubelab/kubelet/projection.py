"""API data as files: the payloads of configMap, secret, downwardAPI and projected volumes, and the atomic writer.

Mirrors the in-tree volume plugins that turn API objects into files (pkg/volume/configmap, secret, downwardapi,
projected: their ``MakePayload``/``CollectData``) and pkg/volume/util/atomic_writer.go, which writes a payload
so a reader never sees a half-updated volume: the files go into a fresh ``..<timestamp>`` directory, the
``..data`` symlink is swapped to it with one rename, and every top-level name is a symlink through ``..data``.
That is why ``ls -la`` in a configMap volume shows ``key -> ..data/key``, and why a ``subPath`` mount of such a
volume (bound to the resolved file) never sees updates.

A payload is ``{relative path: (bytes, mode)}``. A missing object or key raises ``MountError`` with the
kubelet's message (``configmap "app-config" not found``); the volume manager relays it as a FailedMount event.
Simplified: no fsGroup/ownership, no clusterTrustBundle or podCertificate sources; service account tokens come
from the API server's TokenRequest handler and are not rotated.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from kubelab.api.validation.quantity import parse_quantity

Obj = dict[str, Any]
Payload = dict[str, tuple[bytes, int]]
Getter = Callable[[str, str, str], Obj | None]  # (resource, namespace, name) -> object or None
TokenFn = Callable[[str, Obj], str]  # (service account, TokenRequest spec) -> token

DEFAULT_MODE = 0o644
DATA_DIR = "..data"


class MountError(Exception):
    """A volume that cannot be set up (yet): the kubelet's message, relayed in a FailedMount event."""


# ------------------------------------------------------------------------------------------------ API data
def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except ValueError:
        return value.encode()


def configmap_data(cm: Obj) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    out.update({k: _decode(str(v)) for k, v in (cm.get("binaryData") or {}).items()})
    return out


def secret_data(secret: Obj) -> dict[str, bytes]:
    out = {k: _decode(str(v)) for k, v in (secret.get("data") or {}).items()}
    out.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
    return out


def _mode(value: Any, default: int) -> int:
    return int(value) & 0o777 if isinstance(value, int) and not isinstance(value, bool) else default & 0o777


def _keyed(data: dict[str, bytes], src: Obj, default_mode: int, missing_key: str) -> Payload:
    """Keys as files, or only ``items`` (key -> path, with an optional per-item mode)."""
    items = src.get("items")
    if not items:
        return {k: (v, default_mode) for k, v in data.items()}
    out: Payload = {}
    for it in items:
        key = it.get("key", "")
        if key not in data:
            if src.get("optional"):
                continue
            raise MountError(missing_key.format(key=key))
        out[it.get("path") or key] = (data[key], _mode(it.get("mode"), default_mode))
    return out


def configmap_payload(get: Getter, ns: str, src: Obj, default_mode: int) -> Payload:
    name = src.get("name", "")
    cm = get("configmaps", ns, name)
    if cm is None:
        if src.get("optional"):
            return {}
        raise MountError(f'configmap "{name}" not found')
    return _keyed(configmap_data(cm), src, default_mode, "configmap references non-existent config key: {key}")


def secret_payload(get: Getter, ns: str, src: Obj, default_mode: int, name_field: str = "secretName") -> Payload:
    name = src.get(name_field, "")
    secret = get("secrets", ns, name)
    if secret is None:
        if src.get("optional"):
            return {}
        raise MountError(f'secret "{name}" not found')
    return _keyed(secret_data(secret), src, default_mode, "references non-existent secret key: {key}")


# ------------------------------------------------------------------------------------------------ downward API
def format_map(m: dict[str, str]) -> str:
    """fieldpath.FormatMap: ``key="value"`` lines, sorted by key (labels and annotations files)."""
    return "\n".join(f"{k}={_go_quote(v)}" for k, v in sorted(m.items()))


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def field_value(pod: Obj, path: str, *, pod_ip: str = "", host_ip: str = "") -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map({k: str(v) for k, v in (meta.get(path.split(".")[1]) or {}).items()})
    m = re.fullmatch(r"metadata\.(labels|annotations)\[['\"]?([^'\"\]]+)['\"]?\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    return str({"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
                "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
                "spec.serviceAccountName": spec.get("serviceAccountName", ""), "status.hostIP": host_ip,
                "status.podIP": pod_ip}.get(path, ""))


def resource_value(pod: Obj, ref: Obj, allocatable: dict[str, str], default_container: str = "") -> str:
    """ExtractResourceValueByContainerName: a limit (node allocatable when unset) or request, divided by the
    divisor and rounded up, as the downward API reports it."""
    name = ref.get("containerName") or default_container
    spec = pod.get("spec") or {}
    c: Obj = next((c for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
              if c.get("name") == name), {})
    kind, _, res = (ref.get("resource") or "").partition(".")
    raw = ((c.get("resources") or {}).get(kind) or {}).get(res)
    if raw is None and kind == "limits":
        raw = allocatable.get(res)
    q = parse_quantity(raw if raw is not None else 0)
    d = parse_quantity(ref.get("divisor") or "1")
    value = q.value if q else Fraction(0)
    divisor = d.value if d and d.value else Fraction(1)
    return str(math.ceil(value / divisor))


def downward_payload(pod: Obj, src: Obj, default_mode: int, *, allocatable: dict[str, str]) -> Payload:
    out: Payload = {}
    for it in src.get("items") or []:
        if it.get("fieldRef"):
            text = field_value(pod, it["fieldRef"].get("fieldPath", ""))
        elif it.get("resourceFieldRef"):
            text = resource_value(pod, it["resourceFieldRef"], allocatable)
        else:
            continue
        out[it.get("path", "")] = (text.encode(), _mode(it.get("mode"), default_mode))
    return out


# ------------------------------------------------------------------------------------------------ projected
def projected_payload(get: Getter, token: TokenFn, pod: Obj, src: Obj, *,
                      allocatable: dict[str, str]) -> Payload:
    """All sources of a projected volume in one directory (the kube-api-access-* volume is one of these)."""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    mode = _mode(src.get("defaultMode"), DEFAULT_MODE)
    sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    out: Payload = {}
    for s in src.get("sources") or []:
        if s.get("configMap") is not None:
            out.update(configmap_payload(get, ns, s["configMap"], mode))
        elif s.get("secret") is not None:
            out.update(secret_payload(get, ns, s["secret"], mode, name_field="name"))
        elif s.get("downwardAPI") is not None:
            out.update(downward_payload(pod, s["downwardAPI"], mode, allocatable=allocatable))
        elif s.get("serviceAccountToken") is not None:
            t = s["serviceAccountToken"]
            spec: Obj = {"expirationSeconds": int(t.get("expirationSeconds") or 3600)}
            if t.get("audience"):
                spec["audiences"] = [t["audience"]]
            out[t.get("path") or "token"] = (token(sa, spec).encode(), mode)
    return out


# ------------------------------------------------------------------------------------------------ atomic writer
def read_payload(target: Path) -> Payload | None:
    """What the volume holds now (through ``..data``), or None when nothing was written yet."""
    data = target / DATA_DIR
    if not data.is_symlink():
        return None
    base = data.resolve()
    out: Payload = {}
    for dirpath, _dirs, files in os.walk(base):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(base))] = (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
    return out


def write_atomic(target: Path, payload: Payload, now: _dt.datetime | None = None) -> bool:
    """AtomicWriter.Write: publish ``payload`` in ``target``; False when it already holds exactly that."""
    target.mkdir(parents=True, exist_ok=True)
    if read_payload(target) == payload:
        return False
    stamp = (now or _dt.datetime.now(_dt.UTC)).strftime("..%Y_%m_%d_%H_%M_%S.")
    fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=target))
    fresh.chmod(0o755)
    for rel, (content, mode) in payload.items():
        p = fresh / rel
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        p.write_bytes(content)
        p.chmod(mode & 0o777)
    data = target / DATA_DIR
    old = data.resolve() if data.is_symlink() else None
    tmp_link = target / "..data_tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(fresh.name)
    os.replace(tmp_link, data)
    wanted = {rel.split("/", 1)[0] for rel in payload}
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in wanted and entry.is_symlink():
            entry.unlink()
    for name in wanted:
        link = target / name
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            link.symlink_to(f"{DATA_DIR}/{name}")
    if old is not None and old != fresh and old.parent == target:
        shutil.rmtree(old, ignore_errors=True)
    return True
