"""The kubelet behind a real API server, judged by real kubectl: status columns, logs, describe, delete."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KUBECTL
from tests.helpers import embedded_cluster, eventually

KIND = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
"""


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def __call__(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), "--context", "kubelab-kl", *args],
                           input=input, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {p.stdout}\n{p.stderr}")
        return p


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    d = tmp_path_factory.mktemp("kubelet-e2e")
    (d / "kind.yaml").write_text(KIND)
    with embedded_cluster(d, "kl", control_plane=True, cluster_config=d / "kind.yaml") as c:
        yield Kubectl(c.kubeconfig)


def pod(name: str, command: list[str], image: str = "busybox", policy: str = "Always") -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "nodeName": "kl-worker", "restartPolicy": policy,
        "containers": [{"name": "c", "image": image, "command": command}]}})


def test_completed_pod_and_its_logs(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=pod("hello", ["sh", "-c", "echo hello; echo world"], policy="Never"))
    eventually(lambda: "Completed" in kubectl("get", "pod", "hello").stdout)
    assert kubectl("logs", "hello").stdout == "hello\nworld\n"
    assert kubectl("logs", "hello", "--tail=1").stdout == "world\n"
    out = json.loads(kubectl("get", "pod", "hello", "-o", "json").stdout)
    assert out["status"]["phase"] == "Succeeded"
    assert out["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_crash_loop_shows_in_kubectl_get_and_describe(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=pod("crash", ["sh", "-c", "echo dying; exit 2"]))
    eventually(lambda: "CrashLoopBackOff" in kubectl("get", "pod", "crash").stdout)
    described = kubectl("describe", "pod", "crash").stdout
    assert "Back-off restarting failed container c in pod crash_default(" in described
    assert "Exit Code:    2" in described
    assert kubectl("logs", "crash", "--previous").stdout == "dying\n"


def test_running_pod_ready_and_graceful_delete(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=pod("sleeper", ["sleep", "3600"]))
    eventually(lambda: "1/1" in kubectl("get", "pod", "sleeper").stdout)
    wide = kubectl("get", "pod", "sleeper", "-o", "wide").stdout
    assert "10.244." in wide and "kl-worker" in wide
    kubectl("delete", "pod", "sleeper", "--wait=true")
    assert kubectl("get", "pod", "sleeper", check=False).returncode != 0


def test_image_pull_back_off(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=pod("badimage", [], image="nginx:does-not-exist"))
    eventually(lambda: "ImagePullBackOff" in kubectl("get", "pod", "badimage").stdout)
    described = kubectl("describe", "pod", "badimage").stdout
    assert 'Failed to pull image "nginx:does-not-exist"' in described
    assert 'Back-off pulling image "nginx:does-not-exist"' in described
