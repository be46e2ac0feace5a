"""kubectl apply (client- and server-side), label, annotate, scale and patch against the embedded server."""

from __future__ import annotations

import json

from tests.conftest import Cluster

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.26
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: blue
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
"""


def _get(cluster: Cluster, ns: str, *what: str) -> dict:  # type: ignore[type-arg]
    return json.loads(cluster.kubectl("get", *what, "-n", ns, "-o", "json").stdout)


def test_apply_create_then_reapply_with_change(cluster: Cluster, ns: str) -> None:
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY).stdout
    assert "deployment.apps/web created" in out
    first = _get(cluster, ns, "deployment", "web")
    assert "kubectl.kubernetes.io/last-applied-configuration" in first["metadata"]["annotations"]
    assert first["metadata"]["generation"] == 1

    # re-apply unchanged: kubectl reports unchanged and the object is not rewritten
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY).stdout
    assert "deployment.apps/web unchanged" in out
    assert _get(cluster, ns, "deployment", "web")["metadata"]["resourceVersion"] == \
        first["metadata"]["resourceVersion"]

    changed = (DEPLOY.replace("nginx:1.26", "nginx:1.27").replace("    tier: frontend\n", "")
               .replace("          value: blue\n", "          value: blue\n        - name: EXTRA\n"
                        "          value: \"1\"\n"))
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=changed).stdout
    assert "deployment.apps/web configured" in out
    dep = _get(cluster, ns, "deployment", "web")
    # what a real API server stores after that three-way strategic merge
    assert dep["metadata"]["labels"] == {"app": "web"}
    assert dep["metadata"]["generation"] == 2
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]
    assert containers[0]["image"] == "nginx:1.27"
    assert containers[0]["env"] == [{"name": "MODE", "value": "blue"}, {"name": "EXTRA", "value": "1"}]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert containers[1]["command"] == ["sleep", "infinity"]
    assert containers[0]["imagePullPolicy"] == "IfNotPresent"


def test_apply_server_side_creates_and_updates(cluster: Cluster, ns: str) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '1'\n"
    out = cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=cm).stdout
    assert "configmap/ssa serverside-applied" in out
    got = json.loads(cluster.kubectl("get", "configmap", "ssa", "-n", ns, "-o", "json",
                                     "--show-managed-fields").stdout)
    assert got["data"] == {"a": "1"}
    managers = [m["manager"] for m in got["metadata"]["managedFields"]]
    assert managers == ["kubectl"]
    out = cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-",
                          input=cm.replace("a: '1'", "b: '2'")).stdout
    assert "serverside-applied" in out
    assert _get(cluster, ns, "configmap", "ssa")["data"] == {"b": "2"}


def test_label_and_annotate_add_overwrite_remove(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "c", "--from-literal=x=y", "-n", ns)
    cluster.kubectl("label", "configmap", "c", "color=red", "-n", ns)
    assert _get(cluster, ns, "configmap", "c")["metadata"]["labels"] == {"color": "red"}
    p = cluster.kubectl("label", "configmap", "c", "color=blue", "-n", ns, check=False)
    assert p.returncode != 0 and "already has a value (red)" in p.stderr
    cluster.kubectl("label", "configmap", "c", "color=blue", "--overwrite", "-n", ns)
    assert _get(cluster, ns, "configmap", "c")["metadata"]["labels"] == {"color": "blue"}
    cluster.kubectl("label", "configmap", "c", "color-", "-n", ns)
    assert not _get(cluster, ns, "configmap", "c")["metadata"].get("labels")

    cluster.kubectl("annotate", "configmap", "c", "note=first", "-n", ns)
    cluster.kubectl("annotate", "configmap", "c", "note=second", "--overwrite", "-n", ns)
    assert _get(cluster, ns, "configmap", "c")["metadata"]["annotations"] == {"note": "second"}
    cluster.kubectl("annotate", "configmap", "c", "note-", "-n", ns)
    assert not _get(cluster, ns, "configmap", "c")["metadata"].get("annotations")


def test_scale_deployment(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "-n", ns)
    assert "deployment.apps/web scaled" in cluster.kubectl("scale", "deployment", "web", "--replicas=5",
                                                           "-n", ns).stdout
    dep = _get(cluster, ns, "deployment", "web")
    assert dep["spec"]["replicas"] == 5
    assert dep["metadata"]["generation"] == 2


def test_patch_with_each_type(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOY)
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=strategic", "-p",
                    '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}')
    dep = _get(cluster, ns, "deployment", "web")
    assert [c["image"] for c in dep["spec"]["template"]["spec"]["containers"]] == ["nginx:1.28", "busybox:1.36"]
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=merge", "-p", '{"spec":{"replicas":4}}')
    assert _get(cluster, ns, "deployment", "web")["spec"]["replicas"] == 4
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=json", "-p",
                    '[{"op":"replace","path":"/spec/replicas","value":1},'
                    '{"op":"add","path":"/metadata/labels/patched","value":"yes"}]')
    dep = _get(cluster, ns, "deployment", "web")
    assert dep["spec"]["replicas"] == 1 and dep["metadata"]["labels"]["patched"] == "yes"
    p = cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=json", "-p",
                        '[{"op":"test","path":"/spec/replicas","value":7}]', check=False)
    assert p.returncode != 0
    assert _get(cluster, ns, "deployment", "web")["spec"]["replicas"] == 1
