"""The embedded backend: a whole API server (store, registry, HTTPS) on its own thread and asyncio loop.

A notebook cell that blocks never stalls it, and several clusters can run in one process. ``kubelab up`` runs one
in the foreground; ``create_cluster`` runs one beside the kernel.

``ServerConfig.runtime`` picks what the kubelets run pods with: ``"simulated"`` (the default here, so tests and
benchmarks stay cheap: records played on the clock) or ``"process"`` (real local processes, with kube-proxy
forwarding Service traffic). A process cluster puts every address in 127.0.0.0/8, so it refuses to serve beyond
loopback: its pods would otherwise be reachable only through the API server's host, which would be misleading.
Servers still running at interpreter exit are stopped then (an ``atexit`` hook), so no container process outlives
the Python process that owns it.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import logging
import secrets
import socket
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from kubelab.api.resources import ResourceRegistry
from kubelab.apiserver.admission import install as install_admission
from kubelab.apiserver.bootstrap import Bootstrap
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.pki import ClusterPKI
from kubelab.apiserver.registry import Registry
from kubelab.apiserver.server import build_app
from kubelab.backends import kindconfig, netslots
from kubelab.backends.controlplane import ControlPlane
from kubelab.clock import Clock, SystemClock
from kubelab.config import LabConfig
from kubelab.store import Store
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    name: str = "local"
    host: str = "127.0.0.1"
    port: int = 0
    cluster_config: Path | None = None
    clock: Clock = field(default_factory=SystemClock)
    seed: int | None = None  # fixes uids, generated names and allocated IPs (deterministic tests)
    history: int = 100_000  # watch history window (events)
    control_plane: bool = True  # run kubelets, scheduler and controllers (False: a bare API server)
    lab: LabConfig = field(default_factory=LabConfig)
    runtime: str = "simulated"  # "simulated" | "process" (see kubelab.backends.kindconfig for the addressing)
    data_dir: Path | None = None  # the nodes' directories (<data_dir>/nodes/<node>); None: a temporary directory


_live: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Stop every server still running, so their container processes and listeners end with the interpreter."""
    for server in list(_live):
        try:
            server.stop()
        except Exception:  # best effort at exit
            log.debug("stopping %s at exit failed", server.config.name, exc_info=True)


def check_loopback(host: str, runtime: str) -> None:
    """Refuse the process runtime on a server that listens beyond loopback (its addresses are 127.x)."""
    if runtime != "process" or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the process runtime needs the API server on a loopback address (127.0.0.1), not "
                         f"{host!r}: its pods and Services live in 127.0.0.0/8 and cannot be reached from other "
                         "machines; use runtime=\"simulated\" to serve beyond this machine")


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it roughly halves the per-request cost of the HTTP layer), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _warm(ctx: ServerContext) -> None:
    """Load, off the event loop, what the first requests would otherwise wait for: the OpenAPI documents and the
    official client's model facts behind strict validation and managedFields."""
    from kubelab.api.patch import record_update
    from kubelab.api.schema import unknown_fields

    try:
        for rt in ctx.resources.all():
            if rt.model:  # every built-in kind: the first write of each would otherwise pay for loading
                sample = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": "warm"}}
                unknown_fields(rt, sample)
                record_update(None, sample, "kubelab", "Update", api_version=rt.api_version,
                              now_iso="2026-01-01T00:00:00Z", rt=rt)
        ctx.openapi.warm()
    except Exception:  # warming is an optimisation only
        log.exception("warming caches failed")


class EmbeddedServer:
    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        check_loopback(self.config.host, self.config.runtime)
        # process clusters share the host's loopback: each leases its own block of it (see netslots)
        self._slot = netslots.lease() if self.config.runtime == "process" else None
        nets = (self._slot.pod_subnet, self._slot.service_subnet, self._slot.node_prefix) if self._slot else None
        # the topology, read before start so a bad config fails here with a clear message
        try:
            self.plan = kindconfig.load(self.config.cluster_config, self.config.name, runtime=self.config.runtime,
                                        networks=nets)
        except Exception:
            self._release_slot()
            raise
        # the serving certificate also names the `kubernetes` Service's address, as kube-apiserver's does
        self.pki = ClusterPKI.generate(extra_hosts=[self.plan.service_ip(1)], clock=self.config.clock)
        self.token = secrets.token_urlsafe(32)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._stop_future: asyncio.Future[None] | None = None
        self.ctx: ServerContext | None = None
        self.port = 0
        self.control_plane: ControlPlane | None = None

    @property
    def runtime(self) -> str:
        """What the kubelets run pods with: "simulated" or "process"."""
        return self.config.runtime

    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self.port}"

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> EmbeddedServer:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, args=(sock,), name=f"kubelab-{self.config.name}",
                                        daemon=True)
        self._thread.start()
        _live.add(self)
        if not self._ready.wait(timeout):
            raise TimeoutError(f"kubelab cluster {self.config.name!r} did not start within {timeout}s")
        if self._error is not None:
            raise RuntimeError(f"kubelab cluster {self.config.name!r} failed to start") from self._error
        return self

    def _run(self, sock: socket.socket) -> None:
        loop = _new_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(sock))
        except BaseException as e:  # report start-up failures to start()
            self._error = e
            log.exception("kubelab server %s stopped with an error", self.config.name)
        finally:
            self._ready.set()
            self._stopped.set()
            loop.close()

    def build_context(self) -> ServerContext:
        cfg = self.config
        store = Store(clock=cfg.clock, history=cfg.history)
        resources = ResourceRegistry()
        registry = Registry(store, resources, cfg.clock, seed=cfg.seed)
        # a process cluster's pods live on 127.0.0.0/8: its Endpoints must be allowed to name them
        registry.allow_loopback_endpoints = cfg.runtime == "process"
        ctx = ServerContext(store=store, resources=resources, registry=registry, clock=cfg.clock, host=cfg.host,
                            port=self.port)
        ctx.tokens[self.token] = ("kubernetes-admin", ["system:masters", "system:authenticated"])
        ctx.trace = registry.trace = TraceBus(cfg.clock)
        from kubelab.apiserver.openapi import OpenAPIDocs

        ctx.openapi = OpenAPIDocs(resources)
        # build the OpenAPI documents off the event loop, so the first kubectl apply does not wait for them
        threading.Thread(target=_warm, args=(ctx,), name="kubelab-warm", daemon=True).start()
        return ctx

    async def _serve(self, sock: socket.socket) -> None:
        ctx = self.ctx = self.build_context()
        bootstrap = Bootstrap(ctx, self.pki.ca_cert_pem, seed=self.config.seed,
                              service_subnet=self.plan.service_subnet)
        install_admission(ctx, self.config.lab)  # quotas, limit ranges, default tolerations and storage class
        bootstrap.run(asyncio.get_running_loop())
        if self.config.control_plane:
            self.control_plane = ControlPlane(ctx, self.plan, self.config.lab, data_dir=self.config.data_dir)
            try:
                await self.control_plane.start()
            except BaseException:  # no half-started cluster keeps processes or listeners
                await self.control_plane.stop()
                raise
        app = build_app(ctx)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.SockSite(runner, sock, ssl_context=self.pki.server_ssl_context())
        await site.start()
        ctx.ready = True
        self._stop_future = asyncio.get_running_loop().create_future()
        self._ready.set()
        try:
            await self._stop_future
        finally:
            if self.control_plane is not None:
                await self.control_plane.stop()
            ctx.store.close()  # ends every open watch, so the runner can finish
            if ctx.trace is not None:
                ctx.trace.close()
            await runner.cleanup()

    def stop(self) -> None:
        loop, fut = self._loop, self._stop_future
        if loop is not None and fut is not None and not loop.is_closed():
            def _set() -> None:
                if not fut.done():
                    fut.set_result(None)
            try:
                loop.call_soon_threadsafe(_set)
            except RuntimeError:  # loop already closed
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
            if self._thread.is_alive() and self.control_plane is not None:  # its loop did not stop in time
                self.control_plane.kill_leftovers()
        self._release_slot()
        _live.discard(self)

    def _release_slot(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    def wait(self) -> None:
        self._stopped.wait()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
