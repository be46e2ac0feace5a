"""Informers: list, then watch, a resource; keep a local cache; call handlers on every change.

Mirrors client-go's SharedInformer/Reflector: one list+watch per resource shared by every component that asks the
same factory; on a 410 (history compacted) it lists again and reconciles the cache, so handlers see a consistent
sequence. Handlers run on the event loop and must not block (controllers only enqueue keys there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.selectors import label_selector_from_dict
from kubelab.client.client import Client

log = logging.getLogger(__name__)
Obj = dict[str, Any]
AddFn = Callable[[Obj], None]
UpdateFn = Callable[[Obj, Obj], None]
DeleteFn = Callable[[Obj], None]


def meta_key(obj: Obj) -> str:
    """'namespace/name' (or 'name' for cluster-scoped objects), the key controllers queue."""
    m = obj.get("metadata") or {}
    ns = m.get("namespace")
    return f"{ns}/{m.get('name')}" if ns else str(m.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    ns, _, name = key.rpartition("/")
    return (ns or None), name


class Informer:
    def __init__(self, client: Client, resource: str, namespace: str | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.cache: dict[str, Obj] = {}
        self._by_ns: dict[str, dict[str, None]] = {}  # namespace -> keys (ordered like the cache)
        self._handlers: list[tuple[AddFn | None, UpdateFn | None, DeleteFn | None]] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watch: Any = None
        self._stopped = False

    def add_handler(self, on_add: AddFn | None = None, on_update: UpdateFn | None = None,
                    on_delete: DeleteFn | None = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))
        if self._synced.is_set():  # late handlers see the current state, as client-go replays to them
            for obj in list(self.cache.values()):
                if on_add is not None:
                    on_add(obj)

    # ---------------------------------------------------------------------------------------- cache reads
    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def get(self, name: str, namespace: str | None = None) -> Obj | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    def get_key(self, key: str) -> Obj | None:
        return self.cache.get(key)

    def list(self, namespace: str | None = None, selector: dict[str, Any] | None = None) -> list[Obj]:
        """Cached objects, optionally in one namespace (an index, as client-go's namespace indexer) and matching
        a metav1.LabelSelector dict."""
        if namespace is not None:
            keys = self._by_ns.get(namespace, ())
            items: list[Obj] = [self.cache[k] for k in keys]
        else:
            items = list(self.cache.values())
        if selector is not None:
            sel = _selector(selector)
            items = [o for o in items if sel.matches((o.get("metadata") or {}).get("labels") or {})]
        return items

    def _index(self, key: str, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns is not None:
            self._by_ns.setdefault(ns, {})[key] = None

    def _unindex(self, key: str, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns is not None:
            keys = self._by_ns.get(ns)
            if keys is not None:
                keys.pop(key, None)

    # ---------------------------------------------------------------------------------------- running
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"informer-{self.resource}")

    def stop(self) -> None:
        self._stopped = True
        if self._watch is not None:
            self._watch.close()
        if self._task is not None:
            self._task.cancel()

    def _emit_add(self, obj: Obj) -> None:
        for add, _, _ in self._handlers:
            if add is not None:
                _safe(add, obj)

    def _emit_update(self, old: Obj, new: Obj) -> None:
        for _, upd, _ in self._handlers:
            if upd is not None:
                _safe(upd, old, new)

    def _emit_delete(self, obj: Obj) -> None:
        for _, _, dele in self._handlers:
            if dele is not None:
                _safe(dele, obj)

    def _relist(self) -> str:
        items, rv = self.client.list_with_version(self.resource, self.namespace)
        fresh = {meta_key(o): o for o in items}
        for key, gone in list(self.cache.items()):
            if key not in fresh:
                del self.cache[key]
                self._unindex(key, gone)
                self._emit_delete(gone)
        for key, obj in fresh.items():
            prev = self.cache.get(key)
            self.cache[key] = obj
            self._index(key, obj)
            if prev is None:
                self._emit_add(obj)
            elif prev is not obj and (prev.get("metadata") or {}).get("resourceVersion") != \
                    (obj.get("metadata") or {}).get("resourceVersion"):
                self._emit_update(prev, obj)
        return rv

    async def _run(self) -> None:
        while not self._stopped:
            rv = self._relist()
            self._synced.set()
            try:
                self._watch = self.client.watch(self.resource, self.namespace, rv)
            except ApiError:
                await asyncio.sleep(0)
                continue
            try:
                async for ev_type, obj in self._watch:
                    key = meta_key(obj)
                    if ev_type == "DELETED":
                        gone = self.cache.pop(key, None)
                        if gone is not None:
                            self._unindex(key, gone)
                        self._emit_delete(obj)
                    else:
                        old = self.cache.get(key)
                        self.cache[key] = obj
                        self._index(key, obj)
                        if old is None:
                            self._emit_add(obj)
                        else:
                            self._emit_update(old, obj)
            finally:
                self._watch.close()
            if self.client.ctx.store.closed:
                return
            await asyncio.sleep(0)


_SELECTORS: dict[str, Any] = {}


def _selector(selector: dict[str, Any]) -> Any:
    """Parsed metav1.LabelSelector, cached by its JSON (controllers ask with the same few selectors all day)."""
    import orjson

    key = orjson.dumps(selector, option=orjson.OPT_SORT_KEYS).decode()
    sel = _SELECTORS.get(key)
    if sel is None:
        if len(_SELECTORS) > 4096:
            _SELECTORS.clear()
        sel = _SELECTORS[key] = label_selector_from_dict(selector)
    return sel


def _safe(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # a handler bug must not stop the informer
        log.exception("informer handler failed")


class InformerFactory:
    """Shared informers: one per (resource, namespace) for all components of a cluster."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[tuple[str, str | None], Informer] = {}

    def informer(self, resource: str, namespace: str | None = None) -> Informer:
        key = (resource, namespace)
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = Informer(self.client, resource, namespace)
        return inf

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.wait_synced() for i in self._informers.values()))

    def stop(self) -> None:
        for inf in self._informers.values():
            inf.stop()
