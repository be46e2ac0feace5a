"""Process-runtime clusters on one machine get disjoint loopback blocks."""

from __future__ import annotations

import ipaddress
import os
import subprocess

import pytest

from kubelab.backends import netslots
from kubelab.backends.embedded import EmbeddedServer, ServerConfig


def test_two_leases_in_one_process_get_different_blocks_and_a_released_block_is_reused() -> None:
    a, b = netslots.lease(), netslots.lease()
    try:
        assert a.index != b.index
        nets = [ipaddress.IPv4Network(x) for x in (a.pod_subnet, a.service_subnet, b.pod_subnet, b.service_subnet)]
        for i, x in enumerate(nets):
            assert x.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
            for y in nets[i + 1:]:
                assert not x.overlaps(y)
        freed = a.index
        a.release()
        c = netslots.lease()
        assert c.index == freed
        c.release()
    finally:
        a.release()
        b.release()


def test_process_clusters_plan_their_addresses_from_their_own_block() -> None:
    one = EmbeddedServer(ServerConfig(name="one", runtime="process"))
    two = EmbeddedServer(ServerConfig(name="two", runtime="process"))
    try:
        p1, p2 = one.plan, two.plan
        assert p1.pod_subnet != p2.pod_subnet and p1.service_subnet != p2.service_subnet
        assert p1.service_ip(1) != p2.service_ip(1)
        assert {n.internal_ip for n in p1.nodes}.isdisjoint({n.internal_ip for n in p2.nodes})
    finally:
        one.stop()
        two.stop()
    again = EmbeddedServer(ServerConfig(name="again", runtime="process"))
    try:
        assert again.plan.service_subnet in (p1.service_subnet, p2.service_subnet)
    finally:
        again.stop()


def test_simulated_clusters_keep_kinds_addresses() -> None:
    plan = EmbeddedServer(ServerConfig(name="sim")).plan
    assert plan.pod_subnet == "10.244.0.0/16" and plan.service_subnet == "10.96.0.0/16"


SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK),
                    reason="needs root and a system Python to run a child as another user")
def test_another_user_leases_a_free_block_next_to_roots() -> None:
    held = netslots.lease()
    try:
        # netslots needs only the standard library: load the file itself, as the other user
        code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('netslots', sys.argv[1]); "
                "m = importlib.util.module_from_spec(spec); sys.modules['netslots'] = m; spec.loader.exec_module(m); print(m.lease().index)")
        out = subprocess.run([SYSTEM_PYTHON, "-c", code, netslots.__file__], user=65534, group=65534,
                             capture_output=True, text=True, timeout=60, cwd="/")
        assert out.returncode == 0, out.stderr
        assert int(out.stdout) != held.index
    finally:
        held.release()
