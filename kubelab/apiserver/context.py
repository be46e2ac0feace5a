"""What every handler shares: the store, the resource registry, the generic registry, the clock, and hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubelab.api.resources import ResourceRegistry
from kubelab.apiserver.registry import Registry
from kubelab.clock import Clock
from kubelab.store import Store

# (pod, container, params) -> async byte chunks; registered by the kubelet side when it exists
LogProvider = Callable[[dict[str, Any], str, dict[str, str]], AsyncIterator[bytes]]


class StreamSession(Protocol):
    """What exec and attach stream: the kubelet runtime's ExecSession (stderr None with a TTY)."""

    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    async def write(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int: ...

    def kill(self) -> None: ...


class PortDialer(Protocol):
    """A pod's network as the kubelet offers it to port-forward: ``dial`` raises ``ApiError`` whose message is
    the kubelet's error text (written on the client's error stream)."""

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]: ...


# (pod, container, command, tty, stdin) -> session; raise ApiError (its message: what the API server reports)
ExecProvider = Callable[[dict[str, Any], str, list[str], bool, bool], Awaitable[StreamSession]]
# (pod, container, tty, stdin) -> session
AttachProvider = Callable[[dict[str, Any], str, bool, bool], Awaitable[StreamSession]]
# pod -> dialer, checked before the upgrade (pod not found on the node, runtime without streaming)
PortForwardProvider = Callable[[dict[str, Any]], Awaitable[PortDialer]]


@dataclass
class ServerContext:
    store: Store
    resources: ResourceRegistry
    registry: Registry
    clock: Clock
    host: str = "127.0.0.1"
    port: int = 0
    tokens: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # bearer token -> (user, groups)
    log_provider: LogProvider | None = None
    exec_provider: ExecProvider | None = None
    attach_provider: AttachProvider | None = None
    portforward_provider: PortForwardProvider | None = None
    openapi: Any = None  # kubelab.apiserver.openapi.OpenAPIDocs
    ready: bool = False
    trace: Any = None  # kubelab.trace.TraceBus, set by the backend

    def printer_columns(self, rt: Any) -> list[dict[str, Any]] | None:
        """A custom resource's printer columns (from its CRD), or None for the built-in printers."""
        if not rt.custom:
            return None
        return self.registry.custom_columns.get((rt.group, rt.version, rt.plural))

    @property
    def custom_schemas(self) -> dict[tuple[str, str, str], dict[str, Any] | None]:
        """(group, version, plural) -> the CRD's openAPIV3Schema for that version (None: no schema)."""
        return self.registry.custom_schemas
