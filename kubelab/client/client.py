"""In-process client: create, read, update, patch, delete and watch through the API server's registry.

Synchronous calls (the registry is synchronous and components run on the API server's event loop); watches are
async iterators. Errors are the API server's own ``ApiError`` (404, 409, 422 ...), as a REST client would see.
Also the event recorder (client-go's record.EventRecorder): events are aggregated by count, as kubectl describe
shows them.
"""

from __future__ import annotations

import builtins
import json
from collections import OrderedDict
from typing import Any

from kubelab.api import errors
from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions
from kubelab.clock import rfc3339, rfc3339_micro
from kubelab.store import Compacted, Watcher

Obj = dict[str, Any]

_PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class Watch:
    """An open watch: ``async for ev_type, obj in watch`` yields ADDED/MODIFIED/DELETED; ``close()`` ends it."""

    def __init__(self, watcher: Watcher, match: Any) -> None:
        self._w = watcher
        self._match = match

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> tuple[str, Obj]:
        while True:
            ev = await self._w.next(None)
            if ev is None:
                raise StopAsyncIteration
            t = ev.type
            if self._match is not None:
                now_in = t != "DELETED" and self._match(ev.value)
                was_in = ev.prev_value is not None and self._match(ev.prev_value)
                if t == "DELETED":
                    if not was_in:
                        continue
                elif now_in and not was_in:
                    t = "ADDED"
                elif was_in and not now_in:
                    t = "DELETED"
                elif not now_in:
                    continue
            return t, ev.value

    def close(self) -> None:
        self._w.close()


class Client:
    def __init__(self, ctx: ServerContext, manager: str) -> None:
        self.ctx = ctx
        self.manager = manager  # field manager and event source component
        self.clock = ctx.clock
        self._events: OrderedDict[tuple[str, ...], Obj] = OrderedDict()
        self._last_stamp = 0

    # ------------------------------------------------------------------------------------------ resources
    def resource(self, resource: str) -> ResourceType:
        """'pods', 'deployments.apps', 'leases.coordination.k8s.io' -> the preferred served version."""
        plural, _, group = resource.partition(".")
        best = None
        for rt in self.ctx.resources.all():
            if rt.plural == plural and rt.group == group:
                if rt.preferred:
                    return rt
                best = best or rt
        if best is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({resource})")
        return best

    def _opts(self) -> WriteOptions:
        return WriteOptions(field_manager=self.manager, field_validation="Ignore", trusted=True)

    # ------------------------------------------------------------------------------------------ reads
    def get(self, resource: str, name: str, namespace: str | None = None) -> Obj:
        return self.ctx.registry.get(self.resource(resource), namespace, name)

    def try_get(self, resource: str, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return self.get(resource, name, namespace)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
             field_selector: str = "") -> list[Obj]:
        return self.list_with_version(resource, namespace, label_selector, field_selector)[0]

    def list_with_version(self, resource: str, namespace: str | None = None, label_selector: str = "",
                          field_selector: str = "") -> tuple[builtins.list[Obj], str]:
        items, rv, _, _ = self.ctx.registry.list(self.resource(resource), namespace, label_selector,
                                                 field_selector)
        return items, rv

    def watch(self, resource: str, namespace: str | None = None, resource_version: str = "",
              label_selector: str = "", field_selector: str = "") -> Watch:
        """Changes after ``resource_version`` (a list's revision). Raises ApiError 410 when it is compacted."""
        rt = self.resource(resource)
        match = self.ctx.registry.matcher(rt, label_selector, field_selector)
        start = int(resource_version) if resource_version else self.ctx.store.revision
        try:
            return Watch(self.ctx.store.watch(rt.prefix(namespace), start), match)
        except Compacted:
            raise errors.gone(f"too old resource version: {start}") from None

    # ------------------------------------------------------------------------------------------ writes
    def create(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj:
        rt = self.resource(resource)
        ns = namespace if namespace is not None else (obj.get("metadata") or {}).get("namespace")
        obj = dict(obj)
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        obj["metadata"] = dict(obj.get("metadata") or {})
        return self.ctx.registry.create(rt, ns if rt.namespaced else None, obj, self._opts())

    def update(self, resource: str, obj: Obj, subresource: str = "") -> Obj:
        """Replace (optimistic: a stale metadata.resourceVersion gives 409). ``obj`` must be a fresh dict."""
        rt = self.resource(resource)
        meta = obj["metadata"]
        obj = dict(obj)
        obj["metadata"] = dict(meta)
        return self.ctx.registry.update(rt, meta.get("namespace") if rt.namespaced else None, meta["name"], obj,
                                        self._opts(), subresource=subresource)

    def update_status(self, resource: str, obj: Obj) -> Obj:
        return self.update(resource, obj, subresource="status")

    def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None,
              patch_type: str = "merge", subresource: str = "") -> Obj:
        from kubelab.api.patch import apply_patch

        rt = self.resource(resource)
        body = json.dumps(patch).encode()
        ct = _PATCH_TYPES[patch_type]
        opts = self._opts()
        now = rfc3339(self.clock.now())

        def mutate(cur: Obj) -> Obj:
            return apply_patch(ct, cur, body, rt, field_manager=self.manager, force=False, now_iso=now)

        return self.ctx.registry.update_with(rt, namespace if rt.namespaced else None, name, mutate, opts,
                                             subresource=subresource)

    def delete(self, resource: str, name: str, namespace: str | None = None, *,
               grace_period_seconds: int | None = None, propagation_policy: str | None = None,
               preconditions: dict[str, str] | None = None) -> Obj | None:
        """Delete; returns the object (with deletionTimestamp when deletion is graceful), None if already gone."""
        rt = self.resource(resource)
        options: Obj = {}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        try:
            obj, _ = self.ctx.registry.delete(rt, namespace if rt.namespaced else None, name, options)
            return obj
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def bind(self, namespace: str, pod: str, node: str) -> None:
        """pods/binding, as the scheduler binds."""
        from kubelab.apiserver.subresources import bind_pod

        bind_pod(self.ctx, namespace, {"metadata": {"name": pod, "namespace": namespace},
                                       "target": {"apiVersion": "v1", "kind": "Node", "name": node}})

    # ------------------------------------------------------------------------------------------ events
    def _event_stamp(self, now: Any) -> int:
        """Event names end in the time in nanoseconds, as client-go's; strictly increasing per client so two
        events in one instant (a fake clock) still get distinct names."""
        stamp = max(int(now.timestamp() * 1e9), self._last_stamp + 1)
        self._last_stamp = stamp
        return stamp

    def event(self, involved: Obj, reason: str, message: str, type_: str = "Normal", *,
              host: str = "", action: str = "", field_path: str = "") -> Obj | None:
        """Record a core/v1 Event about ``involved`` (an object or an object reference), aggregating repeats."""
        meta = involved.get("metadata") or {}
        ref = {
            "kind": involved.get("kind", ""), "namespace": meta.get("namespace", involved.get("namespace", "")),
            "name": meta.get("name", involved.get("name", "")), "uid": meta.get("uid", involved.get("uid", "")),
            "apiVersion": involved.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", involved.get("resourceVersion", "")),
        }
        if field_path:
            ref["fieldPath"] = field_path
        ns = ref["namespace"] or "default"
        now = self.clock.now()
        key = (ref["uid"], ref["name"], reason, message, type_, field_path, host)
        prev = self._events.get(key)
        if prev is not None:
            patch = {"count": int(prev.get("count") or 1) + 1, "lastTimestamp": rfc3339(now)}
            try:
                out = self.patch("events", prev["metadata"]["name"], patch, namespace=ns)
                self._events[key] = out
                self._events.move_to_end(key)
                return out
            except ApiError:
                self._events.pop(key, None)
        ev = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref['name']}.{self._event_stamp(now):x}", "namespace": ns},
            "involvedObject": {k: v for k, v in ref.items() if v},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": self.manager, **({"host": host} if host else {})},
            "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
            "eventTime": None, "reportingComponent": self.manager, "reportingInstance": host or "",
        }
        if action:
            ev["action"] = action
        try:
            out = self.create("events", ev, namespace=ns)
        except ApiError:
            return None  # events are best effort, as in client-go
        self._events[key] = out
        if len(self._events) > 4096:
            self._events.popitem(last=False)
        return out


__all__ = ["Client", "Watch", "rfc3339_micro"]
