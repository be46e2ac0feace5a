"""Shared pieces for the tests that run a real embedded cluster: kind's three-node example, an embedded server
with an admin kubeconfig, and polling until a condition holds (raising AssertionError when it never does)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import Cluster

THREE_NODES = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
- role: worker
"""


@contextmanager
def embedded_cluster(d: Path, name: str, **config: Any) -> Iterator[Cluster]:
    """An embedded server named ``name`` (``ServerConfig(name=name, **config)``), its admin kubeconfig written
    to ``d / "kubeconfig"`` under the context ``kubelab-<name>``; stopped on exit."""
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    srv = EmbeddedServer(ServerConfig(name=name, **config)).start()
    kc = d / "kubeconfig"
    context = f"kubelab-{name}"
    write_context(kc, context, srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem, srv.pki.admin_key_pem)
    try:
        yield Cluster(srv, kc, context)
    finally:
        srv.stop()


def wait_for(fn: Callable[[], Any], timeout: float = 60, interval: float = 0.2) -> Any:
    """``fn()``'s first truthy value, polling every ``interval`` seconds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s; last value: {last!r}")


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Return once ``check()`` is true (polled every 0.1 s); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.1)
