"""Process-runtime clusters put pods on 127.0.0.0/8; their Endpoints must be accepted there and nowhere else."""

from __future__ import annotations

import pytest

from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceRegistry
from kubelab.apiserver.registry import Registry, WriteOptions
from kubelab.clock import FakeClock
from kubelab.store import Store


def _endpoints(ip: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [{"port": 80, "protocol": "TCP"}]}]}


def _registry() -> Registry:
    clock = FakeClock()
    return Registry(Store(clock=clock), ResourceRegistry(), clock, seed=1)


def test_loopback_endpoint_addresses_are_refused_as_kube_apiserver_does() -> None:
    reg = _registry()
    rt = reg.resources.lookup("", "v1", "endpoints")
    assert rt is not None
    with pytest.raises(ApiError) as e:
        reg.create(rt, "default", _endpoints("127.244.1.2"), WriteOptions())
    assert e.value.code == 422 and "subsets[0].addresses[0].ip" in e.value.message
    assert "loopback range" in e.value.message


def test_process_clusters_accept_loopback_endpoint_addresses_but_still_validate_the_rest() -> None:
    reg = _registry()
    reg.allow_loopback_endpoints = True
    rt = reg.resources.lookup("", "v1", "endpoints")
    assert rt is not None
    created = reg.create(rt, "default", _endpoints("127.244.1.2"), WriteOptions())
    assert created["subsets"][0]["addresses"][0]["ip"] == "127.244.1.2"
    bad = _endpoints("0.0.0.0")
    bad["metadata"] = {"name": "other", "namespace": "default"}
    with pytest.raises(ApiError) as e:
        reg.create(rt, "default", bad, WriteOptions())
    assert "may not be unspecified" in e.value.message
