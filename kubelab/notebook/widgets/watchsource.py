"""The flow on clusters without kubelab's trace bus (kind, AKS, EKS, GKE...): the same steps, derived from what
any API server offers — watches (objects appearing, pods getting a node, store revisions) and core/v1 Events
(what the scheduler, the controllers and each kubelet report).

It is a stand-in for ``TraceBus`` as far as the flow widget is concerned: ``since(seq)`` returns step dicts with
component, action, kind, name, node, revision and message. Less precise than the embedded trace (no store
writes that change nothing visible, no per-plugin scheduling detail), but the same story, from a real cluster.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Obj = dict[str, Any]

# core/v1 Event reason -> (component, action): what the flow shows for it
_EVENT_STEPS: dict[str, tuple[str, str]] = {
    "Scheduled": ("scheduler", "bind"), "FailedScheduling": ("scheduler", "unschedulable"),
    "Pulling": ("kubelet", "pull"), "Pulled": ("kubelet", "pull"), "Created": ("kubelet", "create"),
    "Started": ("kubelet", "start"), "Killing": ("kubelet", "kill"), "BackOff": ("kubelet", "backoff"),
    "Failed": ("kubelet", "fail"),
    "SuccessfulCreate": ("controller-manager/replicaset", "create"),
    "SuccessfulDelete": ("controller-manager/replicaset", "delete"),
    "ScalingReplicaSet": ("controller-manager/deployment", "scale"),
}
_CONTROLLER_OF_SOURCE = {"replicaset-controller": "replicaset", "deployment-controller": "deployment",
                         "job-controller": "job", "cronjob-controller": "cronjob",
                         "daemonset-controller": "daemonset", "statefulset-controller": "statefulset"}
_ASSIGNED = re.compile(r" to (\S+)$")


class WatchTraceSource:
    def __init__(self, api_client: Any, namespace: str | None = None) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self._steps: list[Obj] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._nodes_of_pods: dict[str, str] = {}
        self._listed: dict[str, threading.Event] = {}
        for name, fn in (("deployments", self._watch_deployments), ("replicasets", self._watch_replicasets),
                         ("pods", self._watch_pods), ("events", self._watch_events)):
            self._listed[fn.__name__] = threading.Event()
            t = threading.Thread(target=self._loop, args=(fn,), name=f"kubelab-flow-{name}", daemon=True)
            self._threads.append(t)
            t.start()

    # ------------------------------------------------------------------------------------------ TraceBus-like
    def since(self, seq: int = 0) -> list[Obj]:
        with self._lock:
            return [s for s in self._steps if s["seq"] > seq]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._steps[-1]["seq"] if self._steps else 0

    def stop(self) -> None:
        self._stop.set()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Block until every watch has listed (so nothing done after this returns is missed)."""
        import time

        deadline = time.monotonic() + timeout
        return all(ev.wait(max(deadline - time.monotonic(), 0)) for ev in self._listed.values())

    def _emit(self, component: str, action: str, obj: Obj | None = None, **kw: Any) -> None:
        meta = (obj or {}).get("metadata") or {}
        step = {"component": component, "action": action, "kind": (obj or {}).get("kind", kw.pop("kind", "")),
                "namespace": meta.get("namespace", ""), "name": meta.get("name", kw.pop("name", "")),
                "revision": None, "node": "", "reason": "", "message": "", "details": {}, "time": ""}
        step.update(kw)
        with self._lock:
            step["seq"] = (self._steps[-1]["seq"] if self._steps else 0) + 1
            self._steps.append(step)

    # ------------------------------------------------------------------------------------------ watching
    def _loop(self, fn: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                fn()
            except Exception as e:  # a dropped watch: start again (from now)
                log.debug("flow watch ended: %r", e)
                self._stop.wait(1.0)

    def _stream(self, ready: str, list_fn: Callable[..., Any], *args: Any) -> Any:
        from kubernetes import watch

        kw = {"namespace": self.namespace} if self.namespace and args == () else {}
        listed = list_fn(*args, **kw, _preload_content=False)
        import json

        rv = json.loads(listed.data)["metadata"]["resourceVersion"]
        self._listed[ready].set()  # changes after this revision will be replayed by the watch
        w = watch.Watch()
        for ev in w.stream(list_fn, *args, resource_version=rv, timeout_seconds=30, _preload_content=False, **kw):
            if self._stop.is_set():
                w.stop()
                return
            yield ev["type"], ev["raw_object"]

    def _apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def _list_fn(self, api: Any, resource: str) -> Callable[..., Any]:
        if self.namespace:
            return getattr(api, f"list_namespaced_{resource}")
        return getattr(api, f"list_{resource}_for_all_namespaces")

    def _args(self) -> tuple[str, ...]:
        return (self.namespace,) if self.namespace else ()

    def _watch_deployments(self) -> None:
        for t, obj in self._stream("_watch_deployments", self._list_fn(self._apps(), "deployment"),
                                   *self._args()):
            name = obj["metadata"]["name"]
            rev = int(obj["metadata"].get("resourceVersion") or 0)
            if t == "ADDED":
                self._emit("apiserver", "post", obj, message=f"POST deployments {name}")
            self._emit("etcd", "put" if t != "DELETED" else "delete", obj, revision=rev)

    def _watch_replicasets(self) -> None:
        for t, obj in self._stream("_watch_replicasets", self._list_fn(self._apps(), "replica_set"),
                                   *self._args()):
            if t == "ADDED":
                owner = next((r.get("name") for r in obj["metadata"].get("ownerReferences") or []), "")
                self._emit("controller-manager/deployment", "create", obj, details={"owner": owner},
                           revision=int(obj["metadata"].get("resourceVersion") or 0))

    def _watch_pods(self) -> None:
        for t, obj in self._stream("_watch_pods", self._list_fn(self._core(), "pod"), *self._args()):
            meta, spec = obj["metadata"], obj.get("spec") or {}
            key = f"{meta.get('namespace')}/{meta.get('name')}"
            rev = int(meta.get("resourceVersion") or 0)
            if t == "ADDED":
                self._emit("etcd", "put", obj, revision=rev)
            node = spec.get("nodeName") or ""
            if node and self._nodes_of_pods.get(key) != node and t != "DELETED":
                self._nodes_of_pods[key] = node
                self._emit("etcd", "put", obj, revision=rev, node=node)
            if t == "DELETED":
                self._nodes_of_pods.pop(key, None)
                self._emit("etcd", "delete", obj, revision=rev)

    def _watch_events(self) -> None:
        for t, ev in self._stream("_watch_events", self._list_fn(self._core(), "event"), *self._args()):
            if t != "ADDED":
                continue
            step = _EVENT_STEPS.get(ev.get("reason", ""))
            if step is None:
                continue
            component, action = step
            involved = ev.get("involvedObject") or {}
            source = ev.get("source") or {}
            host = source.get("host") or ev.get("reportingInstance") or ""
            msg = ev.get("message", "")
            node = ""
            if component == "kubelet":
                component, node = f"kubelet/{host or 'node'}", host
            elif component.startswith("controller-manager/"):
                ctl = _CONTROLLER_OF_SOURCE.get(source.get("component", ""), component.split("/", 1)[1])
                component = f"controller-manager/{ctl}"
            if action == "bind":
                m = _ASSIGNED.search(msg)
                node = m.group(1) if m else ""
            pod = {"kind": involved.get("kind", ""),
                   "metadata": {"name": involved.get("name", ""), "namespace": involved.get("namespace", "")}}
            if action == "create" and component.startswith("controller-manager/"):
                created = msg.split(": ", 1)[-1]  # "Created pod: web-7d4-x2"
                pod = {"kind": "Pod", "metadata": {"name": created, "namespace": involved.get("namespace", "")}}
                self._emit(component, action, pod, message=msg, details={"owner": involved.get("name", "")})
                continue
            self._emit(component, action, pod, node=node, message=msg, reason=ev.get("reason", ""))
