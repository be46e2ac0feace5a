"""Run one server for a benchmark in its own process and publish how to reach it.

``python benchmarks/_serve.py kubelab INFO.json`` runs the embedded kubelab API server;
``python benchmarks/_serve.py floor INFO.json`` runs a bare aiohttp handler with the same TLS set-up that answers
GET with one fixed pod (the floor: what the HTTP library alone costs). INFO.json gets url and PEM paths.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path


def _publish(info_path: str, url: str, pki: object) -> None:
    d = Path(tempfile.mkdtemp(prefix="kubelab-bench-"))
    files = {"ca": pki.ca_cert_pem, "cert": pki.admin_cert_pem, "key": pki.admin_key_pem}  # type: ignore[attr-defined]
    for name, pem in files.items():
        (d / f"{name}.pem").write_bytes(pem)
    tmp = Path(info_path + ".tmp")
    tmp.write_text(json.dumps({"url": url, **{k: str(d / f"{k}.pem") for k in files}}))
    tmp.rename(info_path)


def serve_kubelab(info_path: str) -> None:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig

    # the API server alone (no scheduler or kubelets acting on the pods the benchmark creates)
    srv = EmbeddedServer(ServerConfig(name="bench", control_plane=False)).start()
    _publish(info_path, srv.url, srv.pki)
    srv.wait()


def serve_floor(info_path: str) -> None:
    import socket

    from aiohttp import web

    from kubelab.apiserver.pki import ClusterPKI

    pki = ClusterPKI.generate()
    pod = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p0", "namespace": "bench", "uid": "0", "resourceVersion": "1",
        "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Pending"}}).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=pod, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        site = web.SockSite(runner, sock, ssl_context=pki.server_ssl_context())
        await site.start()
        _publish(info_path, f"https://127.0.0.1:{sock.getsockname()[1]}", pki)
        await asyncio.Event().wait()

    from kubelab.backends.embedded import _new_loop  # the same event loop kubelab uses, for a fair floor

    _new_loop().run_until_complete(main())


if __name__ == "__main__":
    {"kubelab": serve_kubelab, "floor": serve_floor}[sys.argv[1]](sys.argv[2])
