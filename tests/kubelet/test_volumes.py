"""Volumes with a real runtime: files on disk in the kubelet's layout, CRI mounts for each container, FailedMount
and recovery, updates, clean-up; and nothing on disk with the simulated runtime."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from kubelab.api.defaults import add_service_account_token_volume
from kubelab.kubelet import Kubelet, NodeSpec
from kubelab.kubelet.projection import MountError, write_atomic
from kubelab.kubelet.runtime import Mount
from kubelab.kubelet.volumes import Volume, VolumeManager
from tests.kubelet.helpers import NODE, Lab, scenario
from tests.kubelet.real_helpers import POD_CIDR, RealLab, until

BUSY = {"name": "app", "image": "busybox", "command": ["sleep", "infinity"]}


def _mounts(lab: RealLab, container: str = "app") -> dict[str, Mount]:
    return {m.container_path: m for m in lab.runtime.config_of(container).mounts}


def test_configmap_secret_items_modes_subpath_and_emptydir_become_files_and_mounts(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.admin.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"a.conf": "A=1\n", "b.conf": "B"},
                                        "binaryData": {"raw": base64.b64encode(b"\x00\x01").decode()}}, "default")
        lab.admin.create("secrets", {"metadata": {"name": "creds"},
                                     "data": {"password": base64.b64encode(b"s3cret").decode(),
                                              "user": base64.b64encode(b"admin").decode()}}, "default")
        writer = dict(BUSY, volumeMounts=[
            {"name": "cfg", "mountPath": "/etc/cfg"},
            {"name": "only-b", "mountPath": "/etc/b"},
            {"name": "creds", "mountPath": "/etc/creds"},
            {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "a.conf"},
            {"name": "scratch", "mountPath": "/data", "readOnly": True},
            {"name": "scratch", "mountPath": "/logs", "subPath": "logs"}])
        reader = {"name": "side", "image": "busybox", "command": ["sleep", "infinity"],
                  "volumeMounts": [{"name": "scratch", "mountPath": "/shared"}]}
        lab.run_pod("web", [writer, reader], volumes=[
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "only-b", "configMap": {"name": "cfg", "items": [{"key": "b.conf", "path": "sub/b.txt",
                                                                          "mode": 0o600}]}},
            {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
            {"name": "scratch", "emptyDir": {"medium": "Memory"}}])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        vols = lab.pod_dir("web") / "volumes"
        cfg = vols / "kubernetes.io~configmap" / "cfg"
        assert (cfg / "a.conf").read_text() == "A=1\n" and (cfg / "raw").read_bytes() == b"\x00\x01"
        assert os.readlink(cfg / "a.conf") == "..data/a.conf" and (cfg / "..data").is_symlink()
        b = vols / "kubernetes.io~configmap" / "only-b"
        assert sorted(p.name for p in b.iterdir() if not p.name.startswith("..")) == ["sub"]
        assert (b / "sub" / "b.txt").read_text() == "B"
        assert stat.S_IMODE((b / "sub" / "b.txt").stat().st_mode) == 0o600
        assert stat.S_IMODE((cfg / "a.conf").stat().st_mode) == 0o644  # defaultMode 420
        creds = vols / "kubernetes.io~secret" / "creds"
        assert (creds / "password").read_bytes() == b"s3cret"
        assert stat.S_IMODE((creds / "user").stat().st_mode) == 0o400
        scratch = vols / "kubernetes.io~empty-dir" / "scratch"
        assert scratch.is_dir() and (scratch / "logs").is_dir()

        m = _mounts(lab)
        assert m["/etc/cfg"] == Mount("/etc/cfg", str(cfg), readonly=True)
        assert m["/etc/creds"].host_path == str(creds) and m["/etc/creds"].readonly
        assert m["/etc/app.conf"].host_path == str((cfg / "a.conf").resolve())  # subPath binds the file itself
        assert "..20" in m["/etc/app.conf"].host_path
        assert m["/data"] == Mount("/data", str(scratch), readonly=True)
        assert m["/logs"] == Mount("/logs", str(scratch / "logs"), readonly=False)
        assert m["/etc/hosts"].host_path == str(lab.pod_dir("web") / "etc-hosts")
        assert m["/etc/resolv.conf"].host_path == str(lab.pod_dir("web") / "resolv.conf")
        assert _mounts(lab, "side")["/shared"].host_path == str(scratch)  # both containers share the emptyDir
        uid = lab.live("web")["metadata"]["uid"]
        assert lab.runtime.config_of("app").log_path == str(tmp_path / "logs" / "pods" / f"default_web_{uid}" /
                                                            "app" / "0.log")
        await lab.stop()

    scenario(run)


def test_missing_configmap_is_a_failed_mount_until_it_exists_then_the_pod_starts(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.run_pod("web", [dict(BUSY, volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}])],
                    volumes=[{"name": "cfg", "configMap": {"name": "app-config"}}])
        await lab.advance(3)
        assert lab.messages("web", "FailedMount")[0] == \
            'MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found'
        ev = next(e for e in lab.events("web") if e["reason"] == "FailedMount")
        assert ev["type"] == "Warning" and ev["count"] >= 2  # retried with back-off
        st = lab.status("web")
        assert st["phase"] == "Pending" and "podIP" not in st
        assert lab.container("web")["state"] == {"waiting": {"reason": "ContainerCreating"}}
        assert not lab.runtime.configs  # no container was created
        lab.admin.create("configmaps", {"metadata": {"name": "app-config"}, "data": {"k": "v1"}}, "default")
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        f = lab.pod_dir("web") / "volumes" / "kubernetes.io~configmap" / "cfg" / "k"
        assert f.read_text() == "v1"
        # an update reaches the running pod's files
        cm = lab.admin.get("configmaps", "app-config", "default")
        lab.admin.update("configmaps", dict(cm, data={"k": "v2", "new": "x"}))
        await lab.advance(0.5)
        assert f.read_text() == "v2" and (f.parent / "new").read_text() == "x"
        await lab.stop()

    scenario(run)


def test_missing_key_hostpath_checks_and_unbound_claim_fail_with_the_kubelets_messages(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.admin.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"a": "1"}}, "default")
        lab.run_pod("keys", [BUSY], volumes=[{"name": "v", "configMap": {"name": "cfg", "items": [{"key": "zz",
                                                                                               "path": "z"}]}}])
        lab.run_pod("dir", [BUSY], volumes=[{"name": "h", "hostPath": {"path": "/srv/none", "type": "Directory"}}])
        lab.admin.create("persistentvolumeclaims", {"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}, "default")
        lab.run_pod("claim", [BUSY], volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}])
        await lab.advance(1)
        assert lab.messages("keys", "FailedMount")[0] == \
            'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz'
        assert lab.messages("dir", "FailedMount")[0] == \
            'MountVolume.SetUp failed for volume "h" : hostPath type check failed: /srv/none is not a directory'
        assert lab.messages("claim", "FailedMount")[0] == (
            "Unable to attach or mount volumes: unmounted volumes=[d], unattached volumes=[d]: "
            "error processing PVC default/data: PVC is not bound")
        await lab.stop()

    scenario(run)


def test_hostpath_and_bound_claims_live_in_the_nodes_own_filesystem(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.admin.create("persistentvolumes", {"metadata": {"name": "pv-1"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/var/local-path-provisioner/pv-1", "type": "DirectoryOrCreate"}}})
        pvc = lab.admin.create("persistentvolumeclaims", {"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv-1"}},
            "default")
        lab.admin.update_status("persistentvolumeclaims", dict(pvc, status={"phase": "Bound"}))
        c = dict(BUSY, volumeMounts=[{"name": "d", "mountPath": "/data"}, {"name": "h", "mountPath": "/host"},
                                     {"name": "f", "mountPath": "/run/lock"}],
                 resources={"limits": {"memory": "64Mi"}})
        lab.run_pod("web", [c], volumes=[
            {"name": "d", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
            {"name": "h", "hostPath": {"path": "/srv/www", "type": "DirectoryOrCreate"}},
            {"name": "f", "hostPath": {"path": "/run/app.lock", "type": "FileOrCreate"}}])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        node_fs = tmp_path / "node-fs"
        m = _mounts(lab)
        assert m["/data"] == Mount("/data", str(node_fs / "var/local-path-provisioner/pv-1"), readonly=True)
        assert m["/host"].host_path == str(node_fs / "srv/www") and (node_fs / "srv/www").is_dir()
        assert (node_fs / "run/app.lock").is_file()
        assert lab.runtime.config_of("app").memory_limit == 64 * 1024 * 1024
        # deleting the pod removes its directory and logs, not the node's files
        pod_dir = lab.pod_dir("web")
        lab.admin.delete("pods", "web", "default")
        await until(lab, lambda: lab.pod("web") is None)
        assert not pod_dir.exists() and not any((tmp_path / "logs" / "pods").iterdir())
        assert (node_fs / "srv/www").is_dir()
        await lab.stop()

    scenario(run)


def test_projected_service_account_token_volume_has_token_ca_and_namespace(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        pod = {"metadata": {"name": "api"}, "spec": {"containers": [dict(BUSY)]}}
        add_service_account_token_volume(pod, "abcde")
        lab.admin.create("pods", pod, "default")
        lab.admin.bind("default", "api", lab.kubelet.name)
        await until(lab, lambda: lab.status("api").get("phase") == "Running")
        d = lab.pod_dir("api") / "volumes" / "kubernetes.io~projected" / "kube-api-access-abcde"
        assert (d / "namespace").read_text() == "default"
        assert (d / "ca.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
        token = (d / "token").read_text()
        assert token and lab.h.ctx.tokens[token][0] == "system:serviceaccount:default:default"
        m = _mounts(lab)["/var/run/secrets/kubernetes.io/serviceaccount"]
        assert m.host_path == str(d) and m.readonly
        await lab.stop()

    scenario(run)


def test_downward_api_volume_writes_labels_and_resources(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        c = dict(BUSY, resources={"limits": {"cpu": "250m", "memory": "128Mi"}})
        lab.admin.create("pods", {"metadata": {"name": "dw", "labels": {"app": "web", "tier": "front"},
                                               "annotations": {"note": 'say "hi"'}},
                                  "spec": {"containers": [c], "volumes": [{"name": "info", "downwardAPI": {"items": [
                                      {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                                      {"path": "notes", "fieldRef": {"fieldPath": "metadata.annotations"}},
                                      {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                                      {"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                                           "resource": "limits.cpu",
                                                                           "divisor": "1m"}},
                                      {"path": "mem", "resourceFieldRef": {"containerName": "app",
                                                                           "resource": "limits.memory",
                                                                           "divisor": "1Mi"}}]}}]}},
                         "default")
        lab.admin.bind("default", "dw", lab.kubelet.name)
        await until(lab, lambda: lab.status("dw").get("phase") == "Running")
        d = lab.pod_dir("dw") / "volumes" / "kubernetes.io~downward-api" / "info"
        assert (d / "labels").read_text() == 'app="web"\ntier="front"'
        assert (d / "notes").read_text() == 'note="say \\"hi\\""'
        assert (d / "name").read_text() == "dw"
        assert (d / "cpu").read_text() == "250" and (d / "mem").read_text() == "128"
        await lab.stop()

    scenario(run)


def test_the_simulated_runtime_gets_no_mounts_and_nothing_touches_the_disk() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.admin.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"a": "1"}}, "default")
        lab.run_pod("web", [dict(BUSY, volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}])],
                    volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "gone", "secret": {
                        "secretName": "missing"}}])
        await lab.advance(1)
        assert lab.status("web")["phase"] == "Running"
        assert lab.kubelet._root_dir is None and not lab.kubelet.real
        await lab.stop()

    scenario(run)


def test_atomic_writer_swaps_data_and_drops_stale_names(tmp_path: Path) -> None:
    assert write_atomic(tmp_path, {"a": (b"1", 0o644), "d/b": (b"2", 0o644)})
    first = os.readlink(tmp_path / "..data")
    assert not write_atomic(tmp_path, {"a": (b"1", 0o644), "d/b": (b"2", 0o644)})  # unchanged: no new dir
    assert write_atomic(tmp_path, {"c": (b"3", 0o600)})
    assert os.readlink(tmp_path / "..data") != first and not (tmp_path / first).exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("..")) == ["c"]
    assert (tmp_path / "c").read_text() == "3"


def test_a_pod_deleted_while_the_kubelet_was_away_loses_its_directory_on_restart(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.run_pod("web", [dict(BUSY, volumeMounts=[{"name": "s", "mountPath": "/s"}])],
                    volumes=[{"name": "s", "emptyDir": {}}])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        pod_dir = lab.pod_dir("web")
        assert pod_dir.is_dir() and any((tmp_path / "logs" / "pods").iterdir())
        lab.kubelet.stop()
        lab.admin.delete("pods", "web", "default", grace_period_seconds=0)
        await lab.advance(0.5)
        assert pod_dir.is_dir()
        lab.kubelet.start()
        await lab.advance(0.5)
        assert not pod_dir.exists() and not any((tmp_path / "logs" / "pods").iterdir())
        await lab.stop()

    scenario(run)


def test_optional_sources_may_be_missing_and_a_default_root_is_made_and_removed(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        lab.kubelet = Kubelet(lab.h.client("kubelet"), NodeSpec(NODE, pod_cidr=POD_CIDR), lab.h.config,
                              trace=lab.h.trace, runtime=lab.runtime)  # no root_dir: a temporary one
        assert lab.kubelet._root_dir is None
        await lab.start()
        lab.run_pod("web", [dict(BUSY, volumeMounts=[{"name": "c", "mountPath": "/c"}, {"name": "s",
                                                                                       "mountPath": "/s"}])],
                    volumes=[{"name": "c", "configMap": {"name": "nope", "optional": True}},
                             {"name": "s", "secret": {"secretName": "nope", "optional": True}}])
        await until(lab, lambda: lab.status("web").get("phase") == "Running")
        root = lab.kubelet.root_dir
        assert root.name.startswith(f"kubelab-{NODE}-") and root.is_dir()
        c = root / "pods" / lab.live("web")["metadata"]["uid"] / "volumes" / "kubernetes.io~configmap" / "c"
        assert [p.name for p in c.iterdir() if not p.name.startswith("..")] == []
        await lab.stop()
        assert not root.exists()

    scenario(run)


def test_subpath_expr_expands_the_containers_env_and_escapes_are_refused(tmp_path: Path) -> None:
    vm = VolumeManager(None, lambda: tmp_path, dict)  # type: ignore[arg-type]
    vol = tmp_path / "v"
    vol.mkdir()
    vols = {"v": Volume("v", vol)}
    c = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/logs", "subPathExpr": "$(POD_NAME)/app"}]}
    (m,) = vm.mounts(c, vols, {"POD_NAME": "web-0"})
    assert m == Mount("/logs", str(vol / "web-0" / "app")) and (vol / "web-0" / "app").is_dir()
    (vol / "link").symlink_to("/etc")
    for sub in ("../x", "link"):
        bad = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": sub}]}
        try:
            vm.mounts(bad, vols, {})
        except MountError:
            continue
        raise AssertionError(f"subPath {sub} was accepted")
