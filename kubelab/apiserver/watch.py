"""Watch: a chunked HTTP stream of JSON events, one per line, as kube-apiserver serves it.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/watch.go and the watch cache's semantics:
- no resourceVersion (or "0"): the current objects first, as ADDED, then changes;
- resourceVersion=N: exactly the changes after revision N (410 Expired in an ERROR event if N is compacted);
- sendInitialEvents=true (WatchList, used by ``kubectl rollout status``): current objects, then a BOOKMARK
  annotated ``k8s.io/initial-events-end: "true"``, then changes;
- label and field selectors turn changes into ADDED/DELETED when an object starts or stops matching;
- allowWatchBookmarks: periodic BOOKMARK events carrying the latest revision;
- Table watches (kubectl get -w) send each object as a one-row Table.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from kubelab.api import errors
from kubelab.api.conversion import from_storage
from kubelab.api.resources import ResourceType
from kubelab.api.tables import to_table
from kubelab.apiserver import codec
from kubelab.apiserver.codec import Accept, dumps
from kubelab.apiserver.context import ServerContext
from kubelab.store import Compacted

BOOKMARK_INTERVAL = 30.0


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}}


async def serve(request: web.Request, ctx: ServerContext, rt: ResourceType, ns: str | None, accept: Accept,
                name: str = "") -> web.StreamResponse:
    q = request.query
    field_selector = q.get("fieldSelector", "")
    if name:
        field_selector = f"metadata.name={name}" + (f",{field_selector}" if field_selector else "")
    match = ctx.registry.matcher(rt, q.get("labelSelector", ""), field_selector)
    rv_param = q.get("resourceVersion", "")
    send_initial = q.get("sendInitialEvents") == "true"
    if q.get("sendInitialEvents") is not None and q.get("resourceVersionMatch") != "NotOlderThan":
        raise errors.bad_request(
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
    bookmarks = q.get("allowWatchBookmarks") == "true"
    timeout: float | None = None
    if q.get("timeoutSeconds"):
        try:
            timeout = float(q["timeoutSeconds"])
        except ValueError:
            raise errors.bad_request("timeoutSeconds: Invalid value") from None

    prefix = rt.prefix(ns)
    initial: list[dict[str, Any]] = []
    if send_initial or rv_param in ("", "0"):
        kvs, start = ctx.store.range(prefix)
        initial = [kv.value for kv in kvs if match is None or match(kv.value)]
    else:
        try:
            start = int(rv_param)
        except ValueError:
            raise errors.bad_request(f'resourceVersion: Invalid value: "{rv_param}": must be a number') from None
    ct = codec.TABLE_CT if accept.table else codec.JSON
    resp = web.StreamResponse(status=200, headers={"Content-Type": ct, "Cache-Control": "no-cache, private"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    state = {"first_table": True}

    convert = ctx.registry.storage_type(rt) is not rt

    def encode(ev_type: str, obj: dict[str, Any]) -> bytes:
        if convert:
            obj = from_storage(rt, obj)
        if accept.table:
            obj = to_table(rt, [obj], ctx.clock.now(), include_object=accept.include_object,
                           columns=ctx.printer_columns(rt),
                           resource_version=obj["metadata"].get("resourceVersion", ""),
                           with_column_definitions=state["first_table"])
            state["first_table"] = False
        elif accept.partial:
            obj = codec.partial_object(obj)
        return dumps({"type": ev_type, "object": obj}) + b"\n"

    try:
        watcher = ctx.store.watch(prefix, start)
    except Compacted:
        err = errors.gone(f"too old resource version: {start} ({ctx.store.compacted_revision})")
        await resp.write(dumps({"type": "ERROR", "object": err.status()}) + b"\n")
        return resp

    async def pump() -> None:
        if initial:
            await resp.write(b"".join(encode("ADDED", o) for o in initial))
        if send_initial:
            await resp.write(dumps(_bookmark(rt, start, initial_end=True)) + b"\n")
        last_rev = start
        while True:
            ev = await watcher.next(BOOKMARK_INTERVAL if bookmarks else None)
            if ev is None:
                if watcher.closed:
                    return
                if bookmarks:
                    await resp.write(dumps(_bookmark(rt, max(last_rev, ctx.store.revision))) + b"\n")
                continue
            last_rev = ev.revision
            ev_type = ev.type
            if match is not None:
                now_in = ev_type != "DELETED" and match(ev.value)
                was_in = ev.prev_value is not None and match(ev.prev_value)
                if ev_type == "DELETED":
                    if not was_in:
                        continue
                elif now_in and not was_in:
                    ev_type = "ADDED"
                elif was_in and not now_in:
                    ev_type = "DELETED"
                elif not now_in:
                    continue
            await resp.write(encode(ev_type, ev.value))

    try:
        if timeout is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pump(), timeout)
        else:
            await pump()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        watcher.close()
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await resp.write_eof()
    return resp
