"""Node registration, heartbeats (Lease and status), stop/restart, and static pods with their mirror pods."""

from __future__ import annotations

from kubelab.backends import kindconfig
from kubelab.backends.controlplane import node_spec
from kubelab.clock import parse_time
from kubelab.config import LabConfig
from kubelab.kubelet import NodeSpec, static_pod_hash
from tests.kubelet.helpers import NODE, Lab, official, scenario


def test_node_registers_with_kind_like_fields() -> None:
    async def run() -> None:
        plan = kindconfig.plan({"kind": "Cluster", "apiVersion": kindconfig.API_VERSION,
                                "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}, "local")
        spec = node_spec(plan.nodes[0])
        lab = Lab(spec=spec)
        await lab.start()
        node = lab.admin.get("nodes", "local-control-plane")
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == "local-control-plane"
        assert labels["kubernetes.io/os"] == "linux" and labels["beta.kubernetes.io/os"] == "linux"
        assert labels["kubernetes.io/arch"] == "amd64" and labels["beta.kubernetes.io/arch"] == "amd64"
        assert labels["node-role.kubernetes.io/control-plane"] == ""
        assert node["spec"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        assert node["spec"]["podCIDR"] == "10.244.0.0/24" and node["spec"]["podCIDRs"] == ["10.244.0.0/24"]
        st = node["status"]
        conds = {c["type"]: (c["status"], c["reason"], c["message"]) for c in st["conditions"]}
        assert conds["Ready"] == ("True", "KubeletReady", "kubelet is posting ready status")
        assert conds["MemoryPressure"][:2] == ("False", "KubeletHasSufficientMemory")
        assert conds["DiskPressure"][:2] == ("False", "KubeletHasNoDiskPressure")
        assert conds["PIDPressure"] == ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available")
        assert st["addresses"] == [{"type": "InternalIP", "address": "172.18.0.2"},
                                   {"type": "Hostname", "address": "local-control-plane"}]
        assert st["capacity"]["pods"] == "110" and st["allocatable"] == st["capacity"]
        info = st["nodeInfo"]
        assert info["kubeletVersion"] == "v1.37.0" and info["containerRuntimeVersion"] == "containerd://2.1.1"
        assert info["osImage"] == "Debian GNU/Linux 12 (bookworm)" and info["operatingSystem"] == "linux"
        assert len(info["machineID"]) == 32 and info["systemUUID"] and info["bootID"]
        assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
        assert any("registry.k8s.io/pause:3.10" in i["names"] for i in st["images"])
        official(node, "V1Node")
        reasons = [e["reason"] for e in lab.admin.list("events", "default",
                                                        field_selector="involvedObject.name=local-control-plane")]
        for r in ("Starting", "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID",
                  "NodeAllocatableEnforced", "NodeReady"):
            assert r in reasons
        await lab.stop()

    scenario(run)


def test_node_spec_from_the_cluster_plan() -> None:
    # kind's names, CIDRs, addresses and the lone-control-plane rule are kindconfig's (tests/backends)
    specs = [node_spec(n) for n in kindconfig.load(None, "kind").nodes]
    assert [(s.name, s.role, s.taints) for s in specs] == [("kind-control-plane", "control-plane", [])]
    assert specs[0].pod_cidr == "10.244.0.0/24" and specs[0].internal_ip == "172.18.0.2"
    assert NodeSpec("n", allocatable={"cpu": "7"}).allocatable_resources == {"cpu": "7"}


def test_lease_renewed_every_quarter_duration_and_status_heartbeats() -> None:
    async def run() -> None:
        lab = Lab(LabConfig(node_lease_duration=8.0, node_status_update_frequency=2.0))
        await lab.start()
        lease = lab.admin.get("leases.coordination.k8s.io", NODE, "kube-node-lease")
        node = lab.admin.get("nodes", NODE)
        assert lease["spec"]["holderIdentity"] == NODE and lease["spec"]["leaseDurationSeconds"] == 8
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
        official(lease, "V1Lease")
        renewals = []
        for _ in range(4):
            await lab.advance(2.0)
            renewals.append(lab.admin.get("leases.coordination.k8s.io", NODE, "kube-node-lease")["spec"]["renewTime"])
        gaps = [(parse_time(b) - parse_time(a)).total_seconds() for a, b in zip(renewals, renewals[1:], strict=False)]
        assert all(abs(g - 2.0) < 0.11 for g in gaps)
        ready = next(c for c in lab.admin.get("nodes", NODE)["status"]["conditions"] if c["type"] == "Ready")
        assert ready["lastHeartbeatTime"] > ready["lastTransitionTime"]
        await lab.stop()

    scenario(run)


def test_stop_stops_lease_renewal_and_pod_handling_restart_resumes() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("web", [{"name": "c", "image": "nginx"}])
        await lab.advance(1)
        boot = lab.admin.get("nodes", NODE)["status"]["nodeInfo"]["bootID"]
        lab.kubelet.stop()
        renew = lab.admin.get("leases.coordination.k8s.io", NODE, "kube-node-lease")["spec"]["renewTime"]
        lab.run_pod("late", [{"name": "c", "image": "nginx"}])
        await lab.advance(10)
        assert lab.admin.get("leases.coordination.k8s.io", NODE, "kube-node-lease")["spec"]["renewTime"] == renew
        assert "containerStatuses" not in lab.status("late")  # nobody runs it
        lab.kubelet.restart()
        await lab.advance(1)
        assert lab.admin.get("leases.coordination.k8s.io", NODE, "kube-node-lease")["spec"]["renewTime"] > renew
        assert lab.admin.get("nodes", NODE)["status"]["nodeInfo"]["bootID"] == boot  # not a reboot
        assert lab.status("late")["phase"] == "Running"
        cs = lab.container("web")
        assert cs["restartCount"] == 0 and set(cs["state"]) == {"running"}  # the runtime kept the container
        await lab.stop()

    scenario(run)


def test_pod_deleted_while_kubelet_is_stopped_is_cleaned_up_on_restart() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("web", [{"name": "c", "image": "nginx"}])
        await lab.advance(1)
        lab.kubelet.stop()
        lab.admin.delete("pods", "web", "default", grace_period_seconds=0)
        lab.kubelet.restart()
        await lab.advance(1)
        assert await lab.kubelet.runtime.list_pod_sandboxes() == []
        await lab.stop()

    scenario(run)


STATIC_ETCD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "etcd", "namespace": "kube-system", "labels": {"component": "etcd", "tier": "control-plane"}},
    "spec": {"hostNetwork": True, "containers": [{"name": "etcd", "image": "registry.k8s.io/etcd:3.6.4-0",
                                                  "command": ["etcd", "--data-dir=/var/lib/etcd"]}]},
}


def test_static_pods_get_mirror_pods_that_run_and_come_back_after_deletion() -> None:
    async def run() -> None:
        lab = Lab(static_pods=[STATIC_ETCD])
        await lab.start()
        await lab.advance(1)
        name = f"etcd-{NODE}"
        mirror = lab.admin.get("pods", name, "kube-system")
        meta = mirror["metadata"]
        key = static_pod_hash(STATIC_ETCD)
        assert meta["annotations"]["kubernetes.io/config.mirror"] == key
        assert meta["annotations"]["kubernetes.io/config.hash"] == key
        assert meta["annotations"]["kubernetes.io/config.source"] == "file"
        owner = meta["ownerReferences"][0]
        assert owner["kind"] == "Node" and owner["name"] == NODE and owner["controller"] is True
        assert mirror["spec"]["nodeName"] == NODE and mirror["spec"]["priorityClassName"] == "system-node-critical"
        assert mirror["spec"]["priority"] == 2000001000
        st = mirror["status"]
        assert st["phase"] == "Running" and st["podIP"] == "172.18.0.3"  # hostNetwork: the node's address
        assert "already present on machine" in lab.events(name, "kube-system")[0]["message"]
        cid = st["containerStatuses"][0]["containerID"]
        # deleting a mirror pod does not stop the static pod: the kubelet recreates the mirror
        old_uid = meta["uid"]
        lab.admin.delete("pods", name, "kube-system")
        await lab.advance(0.5)
        again = lab.admin.get("pods", name, "kube-system")
        assert again["metadata"]["uid"] != old_uid
        assert again["status"]["phase"] == "Running"
        assert again["status"]["containerStatuses"][0]["containerID"] == cid
        official(again, "V1Pod")
        await lab.stop()

    scenario(run)
