"""The pod's /etc/hosts (standing in for cluster DNS) and /etc/resolv.conf: content, rewrite on Service changes;
and the Service environment variables a container gets."""

from __future__ import annotations

from pathlib import Path

from kubelab.kubelet.etchosts import hosts_content, resolv_conf, service_lines
from tests.kubelet.helpers import Lab, scenario
from tests.kubelet.real_helpers import FIRST_POD_IP, RealLab, until

BUSY = {"name": "app", "image": "busybox", "command": ["sleep", "infinity"]}
HOST_DNS = (["10.255.255.53"], ["corp.example"], ["edns0"])


def _svc(name: str, ns: str = "default", ip: str = "10.96.0.20", **spec: object) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": [{"port": 80}], **spec}}


def test_hosts_content_has_the_kubelet_header_localhost_pod_line_aliases_and_services() -> None:
    pod = {"metadata": {"name": "web-0", "namespace": "shop"},
           "spec": {"hostname": "web-0", "subdomain": "web",
                    "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}]}}
    lines = service_lines([_svc("db", "shop"), _svc("api", "other", ip="10.96.0.9")], {}, "shop")
    text = hosts_content(pod, ["10.244.1.7"], lines)
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                           "::1\tlocalhost ip6-localhost ip6-loopback\n")
    assert "10.244.1.7\tweb-0.web.shop.svc.cluster.local\tweb-0\n" in text
    assert "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n" in text
    assert "10.96.0.20\tdb.shop.svc.cluster.local db.shop.svc db.shop db\n" in text  # short name: own namespace
    assert "10.96.0.9\tapi.other.svc.cluster.local api.other.svc api.other\n" in text
    assert "CoreDNS" in text


def test_headless_services_map_to_ready_endpoints_and_their_hostnames() -> None:
    lines = service_lines([_svc("web", ip="None"), _svc("ext", type="ExternalName", ip="")],
                          {("default", "web"): [("10.244.1.5", "web-0"), ("10.244.2.6", "")]}, "default")
    assert lines == ["10.244.1.5\tweb.default.svc.cluster.local web.default.svc web.default web",
                     "10.244.1.5\tweb-0.web.default.svc.cluster.local",
                     "10.244.2.6\tweb.default.svc.cluster.local web.default.svc web.default web"]


def test_resolv_conf_for_each_dns_policy() -> None:
    pod = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {}}
    assert resolv_conf(pod, "10.96.0.10", HOST_DNS) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        "nameserver 10.96.0.10\nnameserver 10.255.255.53\noptions ndots:5 timeout:1 attempts:1\n")
    host_net = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {"hostNetwork": True}}
    assert resolv_conf(host_net, "10.96.0.10", HOST_DNS) == \
        "search corp.example\nnameserver 10.255.255.53\noptions edns0\n"
    none = {"metadata": {"name": "p"}, "spec": {"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["1.1.1.1"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "2"},
                                                                      {"name": "rotate"}]}}}
    assert resolv_conf(none, "10.96.0.10", HOST_DNS) == "search a.b\nnameserver 1.1.1.1\noptions ndots:2 rotate\n"
    tuned = {"metadata": {"name": "p"}, "spec": {"dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}}}
    assert "options timeout:1 attempts:1 ndots:1\n" in resolv_conf(tuned, "10.96.0.10", HOST_DNS)


def test_pod_files_are_written_and_rewritten_when_services_change(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        dns = lab.admin.try_get("services", "kube-dns", "kube-system") or lab.admin.create("services", {
            "metadata": {"name": "kube-dns"}, "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
            "kube-system")
        await lab.start()
        lab.admin.create("namespaces", {"metadata": {"name": "other"}})
        lab.admin.create("services", {"metadata": {"name": "api"}, "spec": {"ports": [{"port": 8080}]}}, "other")
        lab.run_pod("client", [BUSY])
        await until(lab, lambda: lab.status("client").get("phase") == "Running")
        hosts = lab.pod_dir("client") / "etc-hosts"
        text = hosts.read_text()
        assert f"{FIRST_POD_IP}\tclient\n" in text
        api_ip = lab.admin.get("services", "api", "other")["spec"]["clusterIP"]
        assert f"{api_ip}\tapi.other.svc.cluster.local api.other.svc api.other\n" in text
        k8s_ip = lab.admin.get("services", "kubernetes", "default")["spec"]["clusterIP"]
        assert f"{k8s_ip}\tkubernetes.default.svc.cluster.local kubernetes.default.svc kubernetes.default " \
               f"kubernetes\n" in text
        resolv = (lab.pod_dir("client") / "resolv.conf").read_text()
        assert resolv.startswith("search default.svc.cluster.local svc.cluster.local cluster.local")
        assert f"nameserver {dns['spec']['clusterIP']}\n" in resolv and "options ndots:5 timeout:1 attempts:1" in resolv

        web = lab.admin.create("services", {"metadata": {"name": "web"}, "spec": {
            "selector": {"app": "web"}, "ports": [{"port": 80}]}}, "default")
        await lab.advance(0.1)
        ip = web["spec"]["clusterIP"]
        assert f"{ip}\tweb.default.svc.cluster.local web.default.svc web.default web\n" in hosts.read_text()
        lab.admin.delete("services", "web", "default")
        await lab.advance(0.1)
        assert "web.default" not in hosts.read_text()
        await lab.stop()

    scenario(run)


def test_host_network_pods_keep_the_hosts_files_of_the_node(tmp_path: Path) -> None:
    async def run() -> None:
        lab = RealLab(tmp_path)
        await lab.start()
        lab.run_pod("hn", [BUSY], hostNetwork=True)
        await until(lab, lambda: lab.status("hn").get("phase") == "Running")
        paths = {m.container_path for m in lab.runtime.config_of("app").mounts}
        assert "/etc/hosts" not in paths and "/etc/resolv.conf" not in paths
        assert not (lab.pod_dir("hn") / "etc-hosts").exists()
        await lab.stop()

    scenario(run)


def test_service_environment_variables_for_the_pods_namespace() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        svc = lab.admin.create("services", {"metadata": {"name": "web"}, "spec": {
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}, "default")
        lab.run_pod("client", [dict(BUSY, command=["sh", "-c", "echo $WEB_SERVICE_HOST:$WEB_SERVICE_PORT; "
                                                                "sleep infinity"])])
        lab.run_pod("nolinks", [dict(BUSY)], enableServiceLinks=False)
        await lab.advance(1)
        env = lab.kubelet.runtime._containers  # type: ignore[attr-defined]
        by_pod = {c.config.labels["io.kubernetes.pod.name"]: c.config.env for c in env.values()}
        ip = svc["spec"]["clusterIP"]
        assert by_pod["client"]["WEB_SERVICE_HOST"] == ip and by_pod["client"]["WEB_SERVICE_PORT"] == "80"
        assert by_pod["client"]["WEB_SERVICE_PORT_HTTP"] == "80"
        assert by_pod["client"]["WEB_PORT_80_TCP"] == f"tcp://{ip}:80"
        assert "WEB_SERVICE_HOST" not in by_pod["nolinks"] and "KUBERNETES_SERVICE_HOST" in by_pod["nolinks"]
        await lab.stop()

    scenario(run)
