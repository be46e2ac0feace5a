"""kube-proxy for process clusters: real TCP listeners that forward Service traffic to ready endpoints.

Mirrors kube-proxy (cmd/kube-proxy, pkg/proxy): informers on Services and EndpointSlices mark the state dirty, one
loop recomputes the rules (``kubelab.proxy.rules.build_rules``, as ``syncProxyRules``) and makes the listeners
match them. Where kube-proxy writes iptables/nftables rules so the kernel rewrites packets, kubelab listens on each
address (a cluster IP and port, or a node address and node port, all in 127.0.0.0/8 so no privileges are needed)
and copies bytes to an endpoint it picks round robin, sticky per client IP with ``sessionAffinity: ClientIP``. A
Service port without ready endpoints has no listener, so connecting is refused, as kube-proxy's REJECT rule makes
it. A connection already forwarded keeps going when endpoints change, as conntrack keeps it.

One ``Proxier`` serves the whole cluster: it stands in for the kube-proxy DaemonSet's pods (one per node), which
would all program the same rules, because every node of a process cluster shares the host's loopback.
Simplified: TCP only; ports below 1024 need privileges the lab may not have, and another process (or another
process cluster on the same machine) may hold an address: such a listener is reported once and tried again every
few seconds; a refused endpoint is skipped for the next one instead of failing the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from dataclasses import dataclass, field
from typing import Any

from kubelab.clock import Clock, SystemClock
from kubelab.proxy.rules import Address, Rule, Rules, build_rules
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
COMPONENT = "proxy"
BUFFER = 64 * 1024


@dataclass(frozen=True)
class ProxyConfig:
    node_ips: tuple[str, ...] = ()  # every node's InternalIP: node ports listen there (and on 127.0.0.1)
    clock: Clock = field(default_factory=SystemClock)
    connect_timeout: float = 5.0  # seconds to reach an endpoint before trying the next
    retry_seconds: float = 5.0  # how often listeners that could not bind are tried again


class _Listener:
    """One listening address and the rule it serves (replaced in place when the endpoints change)."""

    def __init__(self, rule: Rule, server: asyncio.AbstractServer) -> None:
        self.rule = rule
        self.server = server
        self.turn = 0
        self.sticky: dict[str, tuple[Address, float]] = {}  # client IP -> (endpoint, last used)

    def order(self, client_ip: str, now: float) -> list[Address]:
        """Endpoints to try, the chosen one first: the client's sticky endpoint, else the next in turn."""
        eps = list(self.rule.endpoints)
        if self.rule.affinity is not None:
            hit = self.sticky.get(client_ip)
            if hit is not None and hit[0] in eps and now - hit[1] <= self.rule.affinity:
                first = hit[0]
                self.sticky[client_ip] = (first, now)
                return [first, *(e for e in eps if e != first)]
        start = self.turn % len(eps)
        self.turn += 1
        ordered = eps[start:] + eps[:start]
        if self.rule.affinity is not None:
            self.sticky[client_ip] = (ordered[0], now)
        return ordered


class Proxier:
    """See the module docstring. ``run()`` on the cluster's loop; ``stop()`` closes every listener and
    connection."""

    def __init__(self, config: ProxyConfig, informers: Any, trace: TraceBus | None = None) -> None:
        self.config = config
        self.clock = config.clock
        self.trace = trace or TraceBus(config.clock)
        self.services = informers.informer("services")
        self.slices = informers.informer("endpointslices.discovery.k8s.io")
        for inf in (self.services, self.slices):
            inf.add_handler(lambda _o: self._dirty(), lambda _o, _n: self._dirty(), lambda _o: self._dirty())
        self.listeners: dict[Address, _Listener] = {}
        self._failed: dict[Address, str] = {}  # listeners that could not bind, reported once
        self._connections: set[asyncio.StreamWriter] = set()
        self._wake = asyncio.Event()
        self._stopped = False
        self.syncs = 0

    # ------------------------------------------------------------------------------------------ the loop
    def _dirty(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await asyncio.gather(self.services.wait_synced(), self.slices.wait_synced())
        self._wake.set()
        try:
            while not self._stopped:
                if self._failed:  # an address in use or not permitted may free up: look again later
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.retry_seconds)
                else:
                    await self._wake.wait()
                self._wake.clear()
                if not self._stopped:
                    await self.sync()
        finally:
            self.stop()

    def rules(self) -> Rules:
        return build_rules(self.services.list(), self.slices.list(), self.config.node_ips)

    async def sync(self) -> None:
        """Make the listeners match the rules: close what is gone or has no endpoints, update, open the new."""
        want = self.rules()
        self.syncs += 1
        for address, lis in list(self.listeners.items()):
            rule = want.active.get(address)
            if rule is None or rule.service != lis.rule.service:
                self._close(address, "no ready endpoints: connections are refused" if address in want.refused
                            else "Service gone")
            elif rule.endpoints != lis.rule.endpoints:
                lis.rule = rule
                self._emit("endpoints", rule, f"{_fmt(address)} -> {_endpoints(rule)}")
            else:
                lis.rule = rule
        for address in list(self._failed):
            if address not in want.active:
                del self._failed[address]
        for address, rule in want.active.items():
            if address not in self.listeners:
                await self._open(rule)

    async def _open(self, rule: Rule) -> None:
        host, port = rule.address
        try:
            server = await asyncio.start_server(lambda r, w: self._serve(rule.address, r, w), host, port,
                                                reuse_address=True)
        except OSError as e:
            if port < 1024 and isinstance(e, PermissionError):
                why = "ports below 1024 need privileges (net.ipv4.ip_unprivileged_port_start)"
            elif e.errno == errno.EADDRINUSE:
                why = "address already in use (by another program, or another process cluster on this machine)"
            else:
                why = e.strerror or str(e)
            if self._failed.get(rule.address) != why:  # report once; retried every retry_seconds
                log.warning("kube-proxy: cannot listen on %s for %s: %s", _fmt(rule.address), rule.service, why)
                self._emit("error", rule, f"cannot listen on {_fmt(rule.address)}: {why}")
            self._failed[rule.address] = why
            return
        self._failed.pop(rule.address, None)
        if self._stopped:
            server.close()
            return
        self.listeners[rule.address] = _Listener(rule, server)
        self._emit("listen", rule, f"{_fmt(rule.address)} -> {_endpoints(rule)}")

    def _close(self, address: Address, reason: str) -> None:
        lis = self.listeners.pop(address, None)
        if lis is None:
            return
        lis.server.close()
        self._emit("close", lis.rule, f"{_fmt(address)}: {reason}")

    def stop(self) -> None:
        """Close every listener and forwarded connection (idempotent)."""
        self._stopped = True
        self._wake.set()
        for address in list(self.listeners):
            self._close(address, "kube-proxy stopped")
        for w in list(self._connections):
            with contextlib.suppress(Exception):
                w.close()
        self._connections.clear()

    # ------------------------------------------------------------------------------------------ forwarding
    async def _serve(self, address: Address, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lis = self.listeners.get(address)
        peer = writer.get_extra_info("peername") or ("", 0)
        self._connections.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            if lis is None:
                return
            for endpoint in lis.order(str(peer[0]), self.clock.monotonic()):
                try:
                    up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(*endpoint),
                                                                 self.config.connect_timeout)
                    break
                except (TimeoutError, OSError):
                    continue
            if upstream is None:
                return
            self._connections.add(upstream)
            await asyncio.gather(_copy(reader, upstream), _copy(up_reader, writer))
        finally:
            for w in (upstream, writer):
                if w is not None:
                    self._connections.discard(w)
                    with contextlib.suppress(Exception):
                        w.close()

    def _emit(self, action: str, rule: Rule, message: str) -> None:
        self.trace.emit(COMPONENT, action, kind="Service", namespace=rule.service.namespace,
                        name=rule.service.name, message=message, port=rule.service.port,
                        address=_fmt(rule.address), endpoints=[_fmt(e) for e in rule.endpoints],
                        nodePort=rule.node_port)


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side (so request/response protocols finish)."""
    try:
        while True:
            data = await src.read(BUFFER)
            if not data:
                break
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if dst.can_write_eof():
                dst.write_eof()


def _fmt(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


def _endpoints(rule: Rule) -> str:
    return ", ".join(_fmt(e) for e in rule.endpoints)
