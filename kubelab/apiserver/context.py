"""What every handler shares: the store, the resource registry, the generic registry, the clock, and hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.resources import ResourceRegistry
from kubelab.apiserver.registry import Registry
from kubelab.clock import Clock
from kubelab.store import Store

# (pod, container, params) -> async byte chunks; registered by the kubelet side when it exists
LogProvider = Callable[[dict[str, Any], str, dict[str, str]], AsyncIterator[bytes]]


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
