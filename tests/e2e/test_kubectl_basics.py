"""Real kubectl against the embedded API server: version, discovery, explain, creation commands."""

from __future__ import annotations

import json

from tests.conftest import Cluster


def test_version_prints_server_version(cluster: Cluster) -> None:
    out = cluster.kubectl("version", "-o", "json").stdout
    v = json.loads(out)
    assert v["serverVersion"]["gitVersion"] == "v1.37.0"
    assert v["serverVersion"]["major"] == "1"


def test_cluster_info_names_control_plane_and_coredns(cluster: Cluster) -> None:
    out = cluster.kubectl("cluster-info").stdout
    assert f"Kubernetes control plane is running at {cluster.url}" in out
    assert f"CoreDNS is running at {cluster.url}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy" in out


def test_api_resources_lists_builtin_kinds(cluster: Cluster) -> None:
    out = cluster.kubectl("api-resources").stdout
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert lines["pods"][1:] == ["po", "v1", "true", "Pod"]
    assert lines["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert lines["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    for name in ("cronjobs", "jobs", "leases", "endpointslices", "clusterroles", "poddisruptionbudgets",
                 "horizontalpodautoscalers", "ingresses", "networkpolicies", "priorityclasses", "storageclasses",
                 "customresourcedefinitions", "statefulsets", "daemonsets", "controllerrevisions"):
        assert name in lines, name


def test_explain_pod_and_nested_field(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "pod").stdout
    assert "KIND:       Pod" in out and "VERSION:    v1" in out
    assert "  spec\t<PodSpec>" in out and "  status\t<PodStatus>" in out
    out = cluster.kubectl("explain", "deployment.spec.template.spec.containers").stdout
    assert "FIELD: containers <[]Container>" in out
    assert "image\t<string>" in out


def test_create_typed_generators(cluster: Cluster, ns: str) -> None:
    k = cluster.kubectl
    assert "deployment.apps/web created" in k("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2",
                                               "--port=80", "-n", ns).stdout
    assert "configmap/cfg created" in k("create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two",
                                        "-n", ns).stdout
    assert "secret/pw created" in k("create", "secret", "generic", "pw", "--from-literal=password=s3cr3t",
                                    "-n", ns).stdout
    assert "service/svc created" in k("create", "service", "clusterip", "svc", "--tcp=80:8080", "-n", ns).stdout
    assert "job.batch/once created" in k("create", "job", "once", "--image=busybox", "-n", ns, "--",
                                         "echo", "hi").stdout
    assert "cronjob.batch/tick created" in k("create", "cronjob", "tick", "--image=busybox",
                                             "--schedule=*/5 * * * *", "-n", ns, "--", "date").stdout

    dep = json.loads(k("get", "deployment", "web", "-n", ns, "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert dep["metadata"]["generation"] == 1
    cm = json.loads(k("get", "configmap", "cfg", "-n", ns, "-o", "json").stdout)
    assert cm["data"] == {"a": "1", "b": "two"}
    sec = json.loads(k("get", "secret", "pw", "-n", ns, "-o", "json").stdout)
    assert sec["type"] == "Opaque" and sec["data"] == {"password": "czNjcjN0"}
    svc = json.loads(k("get", "service", "svc", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    job = json.loads(k("get", "job", "once", "-n", ns, "-o", "json").stdout)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 6
    cj = json.loads(k("get", "cronjob", "tick", "-n", ns, "-o", "json").stdout)
    assert cj["spec"]["schedule"] == "*/5 * * * *"


def test_create_namespace_is_active_with_default_serviceaccount(cluster: Cluster) -> None:
    out = cluster.kubectl("create", "namespace", "created-by-test").stdout
    assert "namespace/created-by-test created" in out
    got = cluster.kubectl("get", "namespace", "created-by-test").stdout.splitlines()
    assert got[0].split() == ["NAME", "STATUS", "AGE"]
    assert got[1].split()[:2] == ["created-by-test", "Active"]
    sa = cluster.kubectl("get", "serviceaccounts", "-n", "created-by-test", "-o", "name").stdout
    assert "serviceaccount/default" in sa


def test_run_and_expose(cluster: Cluster, ns: str) -> None:
    assert "pod/web created" in cluster.kubectl("run", "web", "--image=nginx", "--port=80", "-l", "app=web",
                                                "-n", ns).stdout
    pod = json.loads(cluster.kubectl("get", "pod", "web", "-n", ns, "-o", "json").stdout)
    c = pod["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Always"  # untagged image -> :latest -> Always
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert pod["status"]["phase"] == "Pending"
    assert "service/web exposed" in cluster.kubectl("expose", "pod", "web", "--port=8080", "--target-port=80",
                                                    "-n", ns).stdout
    svc = json.loads(cluster.kubectl("get", "svc", "web", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"][0]["port"] == 8080


def test_create_more_typed_kinds(cluster: Cluster, ns: str) -> None:
    k = cluster.kubectl
    k("create", "serviceaccount", "robot", "-n", ns)
    k("create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", ns)
    k("create", "rolebinding", "reader", "--role=reader", "--serviceaccount", f"{ns}:robot", "-n", ns)
    k("create", "quota", "q", "--hard=pods=10", "-n", ns)
    k("create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=1", "-n", ns)
    k("create", "ingress", "ing", "--rule=example.com/=web:80", "-n", ns)
    k("create", "service", "nodeport", "np", "--tcp=80:8080", "-n", ns)
    role = json.loads(k("get", "role", "reader", "-n", ns, "-o", "json").stdout)
    assert role["rules"][0]["verbs"] == ["get", "list"]
    np = json.loads(k("get", "svc", "np", "-n", ns, "-o", "json").stdout)
    assert 30000 <= np["spec"]["ports"][0]["nodePort"] <= 32767
    tok = k("create", "token", "robot", "-n", ns).stdout.strip()
    assert tok


def test_auth_whoami_and_can_i(cluster: Cluster) -> None:
    out = cluster.kubectl("auth", "whoami").stdout
    assert "kubernetes-admin" in out and "system:masters" in out
    assert cluster.kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"
    assert cluster.kubectl("auth", "can-i", "--list").returncode == 0
