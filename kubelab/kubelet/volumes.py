"""The volume manager: a pod's volumes set up on disk before its sandbox starts, and the mounts of each container.

Mirrors pkg/kubelet/volumemanager (the pod waits in ContainerCreating until every volume is set up; failures are
retried with exponential back-off and reported as FailedMount events), the in-tree plugins' SetUp (emptyDir,
hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim through the bound PV) and
kubelet_pods.go ``makeMounts`` (volumeMounts with ``subPath``/``subPathExpr`` and ``readOnly`` -> CRI mounts).

Only a real runtime (``Runtime.real``) gets volumes: the simulated runtime's containers have no files, so nothing
touches the disk. The layout is the kubelet's, under the kubelet's root directory::

    <root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>     emptyDir (medium Memory is a plain directory too)
    <root>/pods/<uid>/volumes/kubernetes.io~configmap/<name>     configMap, secret, downwardAPI, projected: keys
                                                                 as files, written atomically (projection.py)
    <root>/pods/<uid>/etc-hosts, resolv.conf                     see etchosts.py
    <root>/logs/pods/<ns>_<pod>_<uid>/<container>/<attempt>.log   container logs (the runtime writes them)
    <root>/node-fs/<path>                                        the node's own filesystem, for hostPath

hostPath volumes (and PersistentVolumes with ``hostPath`` or ``local``, such as the local-path provisioner's
``/var/local-path-provisioner/pvc-...``) point into the node's filesystem. A lab node is not a machine of its
own, so each node gets a directory standing in for its root filesystem (as a kind node is a container with its
own): ``hostPath: /data`` is ``<root>/node-fs/data`` and the learner's real /data is never touched. A PV of
another kind (nfs, csi...) becomes a directory ``<root>/node-fs/var/lib/kubelab/volumes/<pv>`` that outlives
the pod. Simplified: no attach/detach, no fsGroup or SELinux relabelling, no emptyDir sizeLimit eviction, no
mount propagation.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.validation.quantity import parse_quantity
from kubelab.client import Client
from kubelab.client.informer import Informer
from kubelab.kubelet import projection
from kubelab.kubelet.programs import expand_kubernetes_vars
from kubelab.kubelet.projection import MountError, Payload
from kubelab.kubelet.runtime import Mount

log = logging.getLogger(__name__)
Obj = dict[str, Any]

PLUGIN_DIRS = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
               "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
               "projected": "kubernetes.io~projected"}
API_DATA = ("configMap", "secret", "downwardAPI", "projected")

_HOSTPATH_CHECKS = {"Directory": ("is_dir", "is not a directory"), "File": ("is_file", "is not a file"),
                    "Socket": ("is_socket", "is not a socket file"),
                    "CharDevice": ("is_char_device", "is not a character device"),
                    "BlockDevice": ("is_block_device", "is not a block device")}


class FailedMount(Exception):
    """A volume that cannot be set up yet; ``str()`` is the FailedMount event's message."""


@dataclass(frozen=True)
class Volume:
    name: str
    path: Path
    readonly: bool = False  # API data volumes are mounted read-only, as is a claim with readOnly: true


def memory_limit(container: Obj) -> int | None:
    """resources.limits.memory in bytes (rounded up), or None."""
    q = parse_quantity(((container.get("resources") or {}).get("limits") or {}).get("memory"))
    if q is None or q.value <= 0:
        return None
    return -(-q.value.numerator // q.value.denominator)


class VolumeManager:
    def __init__(self, client: Client, root: Callable[[], Path], allocatable: Callable[[], dict[str, str]]) -> None:
        self.client = client
        self._root = root
        self._allocatable = allocatable
        self._tokens: dict[str, dict[str, str]] = {}  # pod key -> token request -> token (issued once per pod)

    # ------------------------------------------------------------------------------------------- paths
    @property
    def root(self) -> Path:
        return self._root()

    def pod_dir(self, key: str) -> Path:
        return self.root / "pods" / key

    def volume_dir(self, key: str, plugin: str, name: str) -> Path:
        return self.pod_dir(key) / "volumes" / PLUGIN_DIRS.get(plugin, f"kubernetes.io~{plugin.lower()}") / name

    def node_path(self, path: str) -> Path:
        """Where the node's ``path`` lives (see the module docstring)."""
        rel = os.path.normpath("/" + path).lstrip("/")
        return self.root / "node-fs" / rel

    def pod_log_dir(self, namespace: str, name: str, key: str) -> Path:
        return self.root / "logs" / "pods" / f"{namespace}_{name}_{key}"

    def log_path(self, namespace: str, name: str, key: str, container: str, attempt: int) -> str:
        d = self.pod_log_dir(namespace, name, key) / container
        d.mkdir(parents=True, exist_ok=True)
        return str(d / f"{attempt}.log")

    # ------------------------------------------------------------------------------------------- set up
    def setup(self, pod: Obj, key: str) -> dict[str, Volume]:
        """SetUp every volume of ``pod`` (idempotent); FailedMount names the first that cannot be set up."""
        out: dict[str, Volume] = {}
        for v in (pod.get("spec") or {}).get("volumes") or []:
            name = v.get("name", "")
            try:
                out[name] = self._setup_one(pod, key, v)
            except MountError as e:
                if v.get("persistentVolumeClaim") is not None or v.get("ephemeral") is not None:
                    raise FailedMount(f"Unable to attach or mount volumes: unmounted volumes=[{name}], "
                                      f"unattached volumes=[{name}]: {e}") from None
                raise FailedMount(f'MountVolume.SetUp failed for volume "{name}" : {e}') from None
        return out

    def _setup_one(self, pod: Obj, key: str, v: Obj) -> Volume:
        name = v.get("name", "")
        for plugin in API_DATA:
            if v.get(plugin) is not None:
                target = self.volume_dir(key, plugin, name)
                projection.write_atomic(target, self._payload(pod, key, plugin, v[plugin]))
                return Volume(name, target, readonly=True)
        if v.get("hostPath") is not None:
            return Volume(name, self._host_path(v["hostPath"]))
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        if v.get("persistentVolumeClaim") is not None:
            src = v["persistentVolumeClaim"]
            return Volume(name, self._claim(ns, src.get("claimName", "")), readonly=bool(src.get("readOnly")))
        if v.get("ephemeral") is not None:  # generic ephemeral volume: the claim is named <pod>-<volume>
            return Volume(name, self._claim(ns, f"{pod['metadata'].get('name')}-{name}"))
        plugin = "emptyDir" if v.get("emptyDir") is not None else next((k for k in v if k != "name"), "emptyDir")
        d = self.volume_dir(key, plugin, name)
        if not d.is_dir():
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o777)  # emptyDir is world-writable, as the kubelet makes it
        return Volume(name, d)

    def _payload(self, pod: Obj, key: str, plugin: str, src: Obj) -> Payload:
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        mode = src.get("defaultMode")
        default = mode & 0o777 if isinstance(mode, int) else projection.DEFAULT_MODE
        if plugin == "configMap":
            return projection.configmap_payload(self._get, ns, src, default)
        if plugin == "secret":
            return projection.secret_payload(self._get, ns, src, default)
        if plugin == "downwardAPI":
            return projection.downward_payload(pod, src, default, allocatable=self._allocatable())
        return projection.projected_payload(self._get, lambda sa, spec: self._token(key, ns, sa, spec), pod, src,
                                            allocatable=self._allocatable())

    def _get(self, resource: str, ns: str, name: str) -> Obj | None:
        return self.client.try_get(resource, name, ns or None)

    def _token(self, key: str, ns: str, sa: str, spec: Obj) -> str:
        """A TokenRequest for the pod's service account (issued once per pod and request; not rotated)."""
        cache = self._tokens.setdefault(key, {})
        req = json.dumps([sa, spec], sort_keys=True)
        if req not in cache:
            from kubelab.apiserver.subresources import issue_token  # the serviceaccounts/token subresource

            try:
                cache[req] = issue_token(self.client.ctx, ns, sa, {"spec": dict(spec)})["status"]["token"]
            except ApiError as e:
                raise MountError(f"failed to fetch token: {e.message}") from None
        return cache[req]

    def _host_path(self, src: Obj) -> Path:
        path, type_ = str(src.get("path") or "/"), src.get("type") or ""
        p = self.node_path(path)
        if type_ == "DirectoryOrCreate" or (type_ == "" and not p.exists()):
            p.mkdir(parents=True, exist_ok=True)
        elif type_ == "FileOrCreate":
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                p.touch(mode=0o644)
        elif type_ in _HOSTPATH_CHECKS:
            check, what = _HOSTPATH_CHECKS[type_]
            if not getattr(p, check)():
                raise MountError(f"hostPath type check failed: {path} {what}")
        return p

    def _claim(self, ns: str, claim: str) -> Path:
        where = f"error processing PVC {ns}/{claim}"
        pvc = self._get("persistentvolumeclaims", ns, claim)
        if pvc is None:
            raise MountError(f'{where}: failed to fetch PVC from API server: persistentvolumeclaims "{claim}" '
                             f"not found")
        pv_name = (pvc.get("spec") or {}).get("volumeName")
        if (pvc.get("status") or {}).get("phase") != "Bound" or not pv_name:
            raise MountError(f"{where}: PVC is not bound")
        pv = self._get("persistentvolumes", "", pv_name)
        if pv is None:
            raise MountError(f'{where}: failed to fetch PV {pv_name} from API server: persistentvolumes '
                             f'"{pv_name}" not found')
        spec = pv.get("spec") or {}
        if spec.get("hostPath") is not None:
            return self._host_path(spec["hostPath"])
        src = spec.get("local") or {"path": f"/var/lib/kubelab/volumes/{pv_name}"}
        p = self.node_path(str(src.get("path") or "/"))
        p.mkdir(parents=True, exist_ok=True)  # forgiving: a lab node has no shell to create it in advance
        return p

    def refresh(self, pod: Obj, key: str) -> bool:
        """Rewrite the API data volumes from their objects now (configMap and secret updates reach running
        pods, as the kubelet's periodic resync does); a failure keeps the old files. True if something changed."""
        changed = False
        for v in (pod.get("spec") or {}).get("volumes") or []:
            plugin = next((p for p in API_DATA if v.get(p) is not None), None)
            if plugin is None:
                continue
            target = self.volume_dir(key, plugin, v.get("name", ""))
            try:
                changed |= projection.write_atomic(target, self._payload(pod, key, plugin, v[plugin]))
            except (MountError, OSError) as e:
                log.debug("refreshing volume %s of %s: %s", v.get("name"), key, e)
        return changed

    def watch(self, on_change: Callable[[str, str, str], None]) -> list[Informer]:
        """Informers on ConfigMaps and Secrets calling ``on_change(resource, namespace, name)`` when one is
        created or changed (the kubelet's watch-based configMap and secret managers)."""
        out = []
        for resource in ("configmaps", "secrets"):
            inf = Informer(self.client, resource)

            def changed(obj: Obj, r: str = resource) -> None:
                meta = obj.get("metadata") or {}
                on_change(r, meta.get("namespace") or "default", meta.get("name", ""))

            def updated(_old: Obj, new: Obj, f: Callable[[Obj], None] = changed) -> None:
                f(new)

            inf.add_handler(changed, updated)
            inf.start()
            out.append(inf)
        return out

    @staticmethod
    def references(pod: Obj) -> set[tuple[str, str]]:
        """("configmaps" | "secrets", name) pairs whose changes this pod's volumes follow."""
        out: set[tuple[str, str]] = set()
        for v in (pod.get("spec") or {}).get("volumes") or []:
            if (v.get("configMap") or {}).get("name"):
                out.add(("configmaps", v["configMap"]["name"]))
            if (v.get("secret") or {}).get("secretName"):
                out.add(("secrets", v["secret"]["secretName"]))
            for s in (v.get("projected") or {}).get("sources") or []:
                if (s.get("configMap") or {}).get("name"):
                    out.add(("configmaps", s["configMap"]["name"]))
                if (s.get("secret") or {}).get("name"):
                    out.add(("secrets", s["secret"]["name"]))
        return out

    # ------------------------------------------------------------------------------------------- mounts
    def mounts(self, container: Obj, volumes: dict[str, Volume], env: dict[str, str]) -> list[Mount]:
        """makeMounts: one CRI mount per volumeMount; subPath binds a path inside the volume (created when
        missing, symlinks resolved, so a subPath of a configMap binds the file itself)."""
        out: list[Mount] = []
        cname = container.get("name", "")
        for vm in container.get("volumeMounts") or []:
            vol = volumes.get(vm.get("name", ""))
            if vol is None:
                raise MountError(f'cannot find volume "{vm.get("name")}" to mount into container "{cname}"')
            host = vol.path
            sub = vm.get("subPath") or expand_kubernetes_vars(vm.get("subPathExpr") or "", env)
            if sub:
                if os.path.isabs(sub) or ".." in Path(sub).parts:
                    raise MountError(f'failed to prepare subPath for volumeMount "{vol.name}" of container '
                                     f'"{cname}": invalid subpath "{sub}"')
                host = vol.path / sub
                if not host.exists() and not host.is_symlink():
                    host.mkdir(parents=True, exist_ok=True)
                host = host.resolve()
                if not host.is_relative_to(vol.path.resolve()):
                    raise MountError(f'subpath "{host}" not within volume path "{vol.path}"')
            out.append(Mount(str(vm.get("mountPath") or ""), str(host),
                             readonly=bool(vm.get("readOnly")) or vol.readonly))
        return out

    # ------------------------------------------------------------------------------------------- clean up
    def cleanup(self, key: str, namespace: str, name: str) -> None:
        """The pod is gone: remove its directory (volumes, etc-hosts) and its container logs."""
        self._tokens.pop(key, None)
        for d in (self.pod_dir(key), self.pod_log_dir(namespace, name, key)):
            shutil.rmtree(d, ignore_errors=True)
