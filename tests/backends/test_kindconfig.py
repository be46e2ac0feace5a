"""kind cluster configs turn into kind's node names, labels, taints and addresses."""

from __future__ import annotations

import pytest

from kubelab.backends.kindconfig import ConfigError, load, plan
from tests.helpers import THREE_NODES


def test_three_node_example_verbatim(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "clusters.yml"
    f.write_text(THREE_NODES)
    p = load(f, "local")
    assert [n.name for n in p.nodes] == ["local-control-plane", "local-worker", "local-worker2"]
    cp = p.control_plane
    assert cp.taints == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert cp.labels["node-role.kubernetes.io/control-plane"] == ""
    assert cp.labels["kubernetes.io/hostname"] == "local-control-plane"
    assert "node-role.kubernetes.io/control-plane" not in p.nodes[1].labels and not p.nodes[1].taints
    assert [n.pod_cidr for n in p.nodes] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert [n.internal_ip for n in p.nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert p.ignored == []


def test_no_config_is_one_control_plane_node() -> None:
    p = load(None, "kind")
    assert [(n.name, n.role) for n in p.nodes] == [("kind-control-plane", "control-plane")]
    assert p.nodes[0].taints == []  # kind untaints a lone control plane


def test_labels_capacity_and_ignored_fields() -> None:
    p = plan({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "featureGates": {"X": True},
              "networking": {"apiServerPort": 6443},
              "nodes": [{"role": "control-plane", "image": "kindest/node:v1.37.0", "extraPortMappings": []},
                        {"role": "worker", "labels": {"disk": "ssd"}, "kubelab": {"capacity": {"cpu": 2}}}]},
             "lab")
    assert p.nodes[1].labels["disk"] == "ssd" and p.nodes[1].capacity["cpu"] == "2"
    assert p.ignored == ["featureGates", "networking.apiServerPort", "nodes[0].image", "nodes[0].extraPortMappings"]


@pytest.mark.parametrize("doc, msg", [
    ({"kind": "Pod", "apiVersion": "kind.x-k8s.io/v1alpha4"}, 'kind must be "Cluster"'),
    ({"kind": "Cluster", "apiVersion": "v1"}, "apiVersion must be"),
    ({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [{"role": "worker"}]},
     "at least one control-plane"),
    ({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [{"role": "master"}]},
     'role must be "control-plane" or "worker"'),
])
def test_bad_configs_say_why(doc, msg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=msg):
        plan(doc)
