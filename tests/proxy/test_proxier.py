"""kube-proxy against real asyncio backends on 127.x: ClusterIP and NodePort forward, endpoint changes are
followed, a Service without ready endpoints refuses connections, ClientIP affinity sticks, stop closes all.

Services and EndpointSlices come from a fake informer factory (the informers' contract: handlers, list,
wait_synced), so each test says exactly what the API holds."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kubelab.proxy import Proxier, ProxyConfig, build_rules
from kubelab.trace import TraceBus

Obj = dict[str, Any]
# a /16 of loopback for this module, away from the lab's 127.96/127.244 so a running cluster does not collide
NET = f"127.{random.randint(150, 199)}"
NODE_IP = f"{NET}.18.2"


class FakeInformer:
    def __init__(self) -> None:
        self.cache: dict[str, Obj] = {}
        self.handlers: list[tuple[Any, Any, Any]] = []

    def add_handler(self, add: Any = None, update: Any = None, delete: Any = None) -> None:
        self.handlers.append((add, update, delete))

    def list(self) -> list[Obj]:
        return list(self.cache.values())

    async def wait_synced(self) -> None:
        return None

    def put(self, obj: Obj) -> None:
        key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        old = self.cache.get(key)
        self.cache[key] = obj
        for add, update, _ in self.handlers:
            add(obj) if old is None else update(old, obj)

    def remove(self, obj: Obj) -> None:
        self.cache.pop(f"{obj['metadata']['namespace']}/{obj['metadata']['name']}", None)
        for _, _, delete in self.handlers:
            delete(obj)


class FakeFactory:
    def __init__(self) -> None:
        self.informers: dict[str, FakeInformer] = {}

    def informer(self, resource: str) -> FakeInformer:
        return self.informers.setdefault(resource, FakeInformer())


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def service(name: str, cluster_ip: str, port: int, node_port: int | None = None, affinity: bool = False) -> Obj:
    spec: Obj = {"clusterIP": cluster_ip, "type": "NodePort" if node_port else "ClusterIP",
                 "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": 8080}]}
    if node_port:
        spec["ports"][0]["nodePort"] = node_port
    if affinity:
        spec["sessionAffinity"] = "ClientIP"
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def endpoint_slice(name: str, port: int, endpoints: dict[str, bool]) -> Obj:
    return {"metadata": {"name": f"{name}-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip, ready in endpoints.items()]}


async def backend(name: str, host: str, port: int) -> asyncio.AbstractServer:
    """Answers '<name>:<what the client sent>' once the client has finished sending."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()
        writer.write(f"{name}:".encode() + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, port)


async def ask(host: str, port: int, message: bytes = b"ping") -> str:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(message)
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer.decode()


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached: {what}")


Scenario = Callable[[Proxier, FakeFactory, dict[str, Any]], Awaitable[None]]


def run(scenario: Scenario, retry: float = 5.0) -> TraceBus:
    """Two backends (A and B, same port, two pod IPs) and a proxier running on one loop."""
    trace = TraceBus()

    async def main() -> None:
        pod_a, pod_b = f"{NET}.1.5", f"{NET}.2.5"
        port = free_port(pod_a)
        servers = [await backend("A", pod_a, port), await backend("B", pod_b, port)]
        factory = FakeFactory()
        proxy = Proxier(ProxyConfig(node_ips=(NODE_IP,), retry_seconds=retry), factory, trace)
        task = asyncio.create_task(proxy.run())
        env = {"port": port, "a": pod_a, "b": pod_b}
        try:
            await scenario(proxy, factory, env)
        finally:
            proxy.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for s in servers:
                s.close()

    asyncio.run(main())
    return trace


def test_cluster_ip_forwards_round_robin_and_follows_endpoint_changes() -> None:
    async def scenario(proxy: Proxier, f: FakeFactory, env: dict[str, Any]) -> None:
        vip = f"{NET}.96.10"
        vport = free_port(vip)
        f.informer("services").put(service("web", vip, vport))
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"],
                                                                         {env["a"]: True, env["b"]: True}))
        await until(lambda: (vip, vport) in proxy.listeners, "the ClusterIP listener")
        answers = {await ask(vip, vport) for _ in range(4)}
        assert answers == {"A:ping", "B:ping"}
        # B stops being ready: only A answers
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"],
                                                                         {env["a"]: True, env["b"]: False}))
        await until(lambda: len(proxy.listeners[(vip, vport)].rule.endpoints) == 1, "B removed")
        assert {await ask(vip, vport) for _ in range(4)} == {"A:ping"}
        # no ready endpoint left: the listener closes and connecting is refused, as kube-proxy's REJECT
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"],
                                                                         {env["a"]: False, env["b"]: False}))
        await until(lambda: (vip, vport) not in proxy.listeners, "the listener closed")
        with pytest.raises(ConnectionRefusedError):
            await ask(vip, vport)
        # endpoints come back: so does the listener
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"], {env["b"]: True}))
        await until(lambda: (vip, vport) in proxy.listeners, "the listener back")
        assert await ask(vip, vport, b"again") == "B:again"

    trace = run(scenario)
    actions = [(e.component, e.action, e.name) for e in trace.since(0)]
    assert ("proxy", "listen", "web") in actions and ("proxy", "close", "web") in actions
    assert ("proxy", "endpoints", "web") in actions


def test_node_port_answers_on_loopback_and_every_node_address() -> None:
    async def scenario(proxy: Proxier, f: FakeFactory, env: dict[str, Any]) -> None:
        vip = f"{NET}.96.11"
        vport, node_port = free_port(vip), free_port("127.0.0.1")
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("np", env["port"], {env["a"]: True}))
        f.informer("services").put(service("np", vip, vport, node_port=node_port))
        await until(lambda: ("127.0.0.1", node_port) in proxy.listeners and (NODE_IP, node_port)
                    in proxy.listeners, "the node port listeners")
        assert await ask("127.0.0.1", node_port) == "A:ping"
        assert await ask(NODE_IP, node_port) == "A:ping"
        assert await ask(vip, vport) == "A:ping"
        # the Service is deleted: every one of its listeners goes
        f.informer("services").remove(service("np", vip, vport, node_port=node_port))
        await until(lambda: not proxy.listeners, "all listeners closed")
        with pytest.raises(ConnectionRefusedError):
            await ask("127.0.0.1", node_port)

    run(scenario)


def test_client_ip_affinity_sticks_to_one_endpoint() -> None:
    async def scenario(proxy: Proxier, f: FakeFactory, env: dict[str, Any]) -> None:
        vip = f"{NET}.96.12"
        vport = free_port(vip)
        f.informer("services").put(service("sticky", vip, vport, affinity=True))
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("sticky", env["port"],
                                                                         {env["a"]: True, env["b"]: True}))
        await until(lambda: (vip, vport) in proxy.listeners, "the listener")
        assert len({await ask(vip, vport) for _ in range(5)}) == 1

    run(scenario)


def test_stop_closes_listeners_and_open_connections() -> None:
    async def scenario(proxy: Proxier, f: FakeFactory, env: dict[str, Any]) -> None:
        vip = f"{NET}.96.13"
        vport = free_port(vip)
        f.informer("services").put(service("web", vip, vport))
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"], {env["a"]: True}))
        await until(lambda: (vip, vport) in proxy.listeners, "the listener")
        reader, writer = await asyncio.open_connection(vip, vport)  # forwarded, waiting for the client's end
        await until(lambda: len(proxy._connections) == 2, "the forwarded connection")
        proxy.stop()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the proxy closed it
        writer.close()
        assert not proxy.listeners
        with pytest.raises(ConnectionRefusedError):
            await ask(vip, vport)

    run(scenario)


def test_an_address_in_use_is_reported_once_and_taken_when_free() -> None:
    async def scenario(proxy: Proxier, f: FakeFactory, env: dict[str, Any]) -> None:
        vip = f"{NET}.96.14"
        vport = free_port(vip)
        blocker = socket.socket()
        blocker.bind((vip, vport))
        blocker.listen()
        f.informer("services").put(service("web", vip, vport))
        f.informer("endpointslices.discovery.k8s.io").put(endpoint_slice("web", env["port"], {env["a"]: True}))
        await until(lambda: (vip, vport) in proxy._failed, "the failure noted")
        await asyncio.sleep(0.2)  # several retries meanwhile
        blocker.close()
        await until(lambda: (vip, vport) in proxy.listeners, "the listener once the address is free")
        assert await ask(vip, vport) == "A:ping"

    trace = run(scenario, retry=0.05)
    assert [e.action for e in trace.since(0) if e.component == "proxy"].count("error") == 1


@pytest.mark.parametrize(("svc", "slices", "want"), [
    # headless and ExternalName Services get no rules
    ({"clusterIP": "None", "ports": [{"port": 80}]}, [], {}),
    ({"type": "ExternalName", "externalName": "example.com"}, [], {}),
    # UDP is not proxied; an unnamed port matches the slice's unnamed port
    ({"clusterIP": "127.96.0.9", "ports": [{"port": 53, "protocol": "UDP"}, {"port": 80}]},
     [{"ports": [{"port": 8080}], "endpoints": [{"addresses": ["127.244.1.2"]}]}],
     {("127.96.0.9", 80): (("127.244.1.2", 8080),)}),
    # ready: null counts as ready; ready: false does not
    ({"clusterIP": "127.96.0.9", "ports": [{"name": "web", "port": 80}]},
     [{"ports": [{"name": "web", "port": 8080}],
       "endpoints": [{"addresses": ["127.244.1.2"]}, {"addresses": ["127.244.1.3"], "conditions": {"ready": False}}]}],
     {("127.96.0.9", 80): (("127.244.1.2", 8080),)}),
])
def test_build_rules(svc: Obj, slices: list[Obj], want: dict[tuple[str, int], tuple[tuple[str, int], ...]]) -> None:
    services = [{"metadata": {"name": "s", "namespace": "default"}, "spec": svc}]
    for s in slices:
        s.setdefault("metadata", {"name": "s-1", "namespace": "default",
                                  "labels": {"kubernetes.io/service-name": "s"}})
    rules = build_rules(services, slices)
    assert {a: r.endpoints for a, r in rules.active.items()} == want
