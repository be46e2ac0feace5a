"""What kind puts in a new cluster besides the API objects: so ``kubectl get pods -A`` looks like kind's.

- the control plane as static pods on each control-plane node (etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler), which the kubelet mirrors into kube-system — a learner sees that "the master node has an API
  server inside it";
- kube-proxy and kindnet (kind's network plugin) as DaemonSets on every node;
- CoreDNS as a Deployment behind the kube-dns Service;
- the local-path provisioner (namespace local-path-storage) behind the default StorageClass ``standard``.
In kubelab these pods are simulated (nothing listens): the real API server, scheduler and controllers are the
kubelab components running in-process, which the static pods stand for.
"""

from __future__ import annotations

from typing import Any

K8S = "v1.37.0"
Obj = dict[str, Any]


_TOLERATE_ALL = [{"operator": "Exists"}]


def _static_pod(component: str, image: str, command: list[str], node_ip: str) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": component, "namespace": "kube-system",
                     "labels": {"component": component, "tier": "control-plane"}},
        "spec": {
            "hostNetwork": True, "priorityClassName": "system-node-critical", "priority": 2000001000,
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": component, "image": image, "command": command, "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": {"etcd": "100m", "kube-apiserver": "250m",
                                                   "kube-controller-manager": "200m",
                                                   "kube-scheduler": "100m"}[component]}},
            }],
        },
    }


def static_pods(node_ip: str, cluster_name: str, *, service_subnet: str = "10.96.0.0/16",
                pod_subnet: str = "10.244.0.0/16") -> list[Obj]:
    """The control plane's static pod manifests (/etc/kubernetes/manifests on a kind control-plane node)."""
    return [
        _static_pod("etcd", "registry.k8s.io/etcd:3.6.4-0", [
            "etcd", f"--advertise-client-urls=https://{node_ip}:2379", "--data-dir=/var/lib/etcd",
            f"--name={cluster_name}-control-plane"], node_ip),
        _static_pod("kube-apiserver", f"registry.k8s.io/kube-apiserver:{K8S}", [
            "kube-apiserver", f"--advertise-address={node_ip}", "--authorization-mode=Node,RBAC",
            "--etcd-servers=https://127.0.0.1:2379", f"--service-cluster-ip-range={service_subnet}"], node_ip),
        _static_pod("kube-controller-manager", f"registry.k8s.io/kube-controller-manager:{K8S}", [
            "kube-controller-manager", "--allocate-node-cidrs=true", f"--cluster-cidr={pod_subnet}",
            "--controllers=*,bootstrapsigner,tokencleaner", "--leader-elect=true"], node_ip),
        _static_pod("kube-scheduler", f"registry.k8s.io/kube-scheduler:{K8S}", [
            "kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"], node_ip),
    ]


def _daemonset(name: str, labels: dict[str, str], image: str, command: list[str]) -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "hostNetwork": True, "priorityClassName": "system-node-critical",
                "tolerations": _TOLERATE_ALL, "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": name, "image": image, "command": command,
                                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}],
            }},
        },
    }


def workloads() -> list[Obj]:
    """kube-system and local-path-storage workloads, applied once at start (controllers then run them)."""
    coredns_labels = {"k8s-app": "kube-dns"}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
         "data": {"Corefile": ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n"
                              "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n"
                              "       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n"
                              "    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n"
                              "    reload\n    loadbalance\n}\n"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}},
        _daemonset("kube-proxy", {"k8s-app": "kube-proxy"}, f"registry.k8s.io/kube-proxy:{K8S}",
                   ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                    "--hostname-override=$(NODE_NAME)"]),
        _daemonset("kindnet", {"app": "kindnet", "k8s-app": "kindnet", "tier": "node"},
                   "docker.io/kindest/kindnetd:v20250512-df8de77b", ["/bin/kindnetd"]),
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": "kube-system", "labels": coredns_labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": coredns_labels},
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                  "template": {"metadata": {"labels": coredns_labels}, "spec": {
                      "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                      "nodeSelector": {"kubernetes.io/os": "linux"},
                      "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                      {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                      "containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.12.1",
                                      "args": ["-conf", "/etc/coredns/Corefile"],
                                      "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
                                      "resources": {"requests": {"cpu": "100m", "memory": "70Mi"},
                                                    "limits": {"memory": "170Mi"}},
                                      "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}}}]}}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "local-path-storage"}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "local-path-provisioner-service-account", "namespace": "local-path-storage"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "local-path-provisioner", "namespace": "local-path-storage"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "local-path-provisioner"}},
                  "template": {"metadata": {"labels": {"app": "local-path-provisioner"}}, "spec": {
                      "serviceAccountName": "local-path-provisioner-service-account",
                      "nodeSelector": {"kubernetes.io/os": "linux"},
                      "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                      "containers": [{"name": "local-path-provisioner",
                                      "image": "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a",
                                      "command": ["local-path-provisioner", "--debug", "start",
                                                  "--helper-image", "docker.io/kindest/local-path-helper:v20241212",
                                                  "--config", "/etc/config/config.json"]}]}}}},
    ]
