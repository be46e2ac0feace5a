"""kubectl get in its output formats, selectors, watch, describe, events and delete."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import KUBECTL, Cluster

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: web, tier: front}}
spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, labels: {app: web, tier: back}}
spec: {containers: [{name: c, image: nginx:1.27}], restartPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: c, labels: {app: db}}
spec: {containers: [{name: c, image: redis:7}]}
"""


def test_get_output_formats(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=PODS)
    k = cluster.kubectl
    table = k("get", "pods", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[:4] for line in table[1:]] == [[n, "0/1", "Pending", "0"] for n in "abc"]
    wide = k("get", "pods", "-n", ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                               "READINESS", "GATES"]
    assert k("get", "pods", "-n", ns, "-o", "name").stdout.split() == ["pod/a", "pod/b", "pod/c"]
    y = k("get", "pod", "a", "-n", ns, "-o", "yaml").stdout
    assert "kind: Pod" in y and "name: a" in y
    j = json.loads(k("get", "pods", "-n", ns, "-o", "json").stdout)
    assert j["kind"] == "List" and len(j["items"]) == 3
    jp = k("get", "pods", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}").stdout
    assert jp == "a b c"
    cc = k("get", "pods", "-n", ns, "-o", "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image")
    assert cc.stdout.splitlines()[1].split() == ["a", "nginx:1.27"]
    assert k("get", "pods", "-n", ns, "-l", "app=web", "-o", "name").stdout.split() == ["pod/a", "pod/b"]
    assert k("get", "pods", "-n", ns, "-l", "app in (db),tier!=x", "-o", "name").stdout.split() == ["pod/c"]
    assert k("get", "pods", "-n", ns, "--field-selector", "metadata.name=b", "-o", "name").stdout.split() == \
        ["pod/b"]
    assert k("get", "pods", "-n", ns, "--field-selector", "spec.restartPolicy=Never",
             "-o", "name").stdout.split() == ["pod/b"]
    all_ns = k("get", "pods", "-A").stdout.splitlines()
    assert all_ns[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "a"] for line in all_ns)
    labels = k("get", "pods", "-n", ns, "--show-labels").stdout.splitlines()
    assert labels[0].split()[-1] == "LABELS"


def test_get_watch_receives_events(cluster: Cluster, ns: str) -> None:
    proc = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context, "get", "configmaps",
         "-n", ns, "-w", "-o", "name"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        cluster.kubectl("create", "configmap", "watched", "--from-literal=a=b", "-n", ns)
        deadline = time.monotonic() + 15
        seen = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            seen.append(line)
            if line == "configmap/watched":
                break
        assert "configmap/watched" in seen
    finally:
        proc.kill()
        proc.wait()


def test_describe_shows_events_and_get_events(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("run", "p", "--image=nginx", "-n", ns)
    pod = json.loads(cluster.kubectl("get", "pod", "p", "-n", ns, "-o", "json").stdout)
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "p.1", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns, "uid": pod["metadata"]["uid"],
                           "apiVersion": "v1"},
        "reason": "Scheduled", "message": "Successfully assigned p to somewhere", "type": "Normal",
        "source": {"component": "default-scheduler"}, "count": 1,
        "firstTimestamp": pod["metadata"]["creationTimestamp"], "lastTimestamp": pod["metadata"]["creationTimestamp"],
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(event))
    out = cluster.kubectl("describe", "pod", "p", "-n", ns).stdout
    assert "Name:" in out and "p" in out
    assert "Events:" in out and "Scheduled" in out and "Successfully assigned p to somewhere" in out
    ev = cluster.kubectl("get", "events", "-n", ns).stdout.splitlines()
    assert ev[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert "pod/p" in ev[1] and "Successfully assigned" in ev[1]


def test_delete_single_file_label_and_all(cluster: Cluster, ns: str) -> None:
    k = cluster.kubectl
    k("apply", "-n", ns, "-f", "-", input=PODS)
    assert 'pod "a" deleted' in k("delete", "pod", "a", "-n", ns).stdout
    assert 'pod "c" deleted' in k("delete", "pods", "-l", "app=db", "-n", ns).stdout
    assert k("get", "pods", "-n", ns, "-o", "name").stdout.split() == ["pod/b"]
    out = k("delete", "-n", ns, "-f", "-", input=PODS, check=False).stdout
    assert 'pod "b" deleted' in out
    k("create", "configmap", "x1", "-n", ns)
    k("create", "configmap", "x2", "-n", ns)
    out = k("delete", "configmaps", "--all", "-n", ns).stdout
    assert 'configmap "x1" deleted' in out and 'configmap "x2" deleted' in out
    assert k("get", "pods,configmaps", "-n", ns, "-o", "name").stdout.split() == []
    p = k("get", "pod", "a", "-n", ns, check=False)
    assert p.returncode != 0 and 'pods "a" not found' in p.stderr


def test_delete_namespace_empties_it(cluster: Cluster) -> None:
    k = cluster.kubectl
    k("create", "namespace", "doomed")
    k("create", "configmap", "cm", "-n", "doomed")
    assert 'namespace "doomed" deleted' in k("delete", "namespace", "doomed", timeout=60).stdout
    p = k("get", "namespace", "doomed", check=False)
    assert p.returncode != 0 and 'namespaces "doomed" not found' in p.stderr
