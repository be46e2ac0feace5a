"""Shared fixtures: one embedded cluster per test session, judged by real kubectl and the official client."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


@dataclass
class Cluster:
    server: object
    kubeconfig: Path
    context: str

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 30) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "KUBECACHEDIR": str(self.kubeconfig.parent / "cache")})
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def api_client(self):  # type: ignore[no-untyped-def]
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=self.context)

    @property
    def url(self) -> str:
        return self.server.url  # type: ignore[attr-defined,no-any-return]


_ns_counter = itertools.count(1)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    d = tmp_path_factory.mktemp("cluster")
    # a bare API server: the API semantics tests need no scheduler or controllers acting on their objects
    srv = EmbeddedServer(ServerConfig(name="test", control_plane=False)).start()
    kc = d / "kubeconfig"
    write_context(kc, "kubelab-test", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    try:
        yield Cluster(srv, kc, "kubelab-test")
    finally:
        srv.stop()


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test."""
    name = f"t{next(_ns_counter)}"
    cluster.kubectl("create", "namespace", name)
    yield name
