"""The garbage collector: delete objects whose owners are gone; carry out foreground and orphan deletion
(mirrors upstream's ``pkg/controller/garbagecollector``: graph_builder.go, garbagecollector.go).

A graph of ownerReferences, built from informers on the resources that have owners or dependents: each node knows
its owners and (by uid) its dependents. Two kinds of work items go through the queue:

- ``dep/<uid>`` (attemptToDelete): look the object's owners up live. If none of them still exists (404, or a
  different uid under that name) the object is deleted — background propagation, or whatever its own finalizers
  ask. If some owners exist, references to missing owners (and to owners waiting for their dependents) are
  removed instead.
- ``own/<uid>`` (an owner being deleted with a finalizer): ``orphan`` -> remove the owner's references from its
  dependents, then the finalizer; ``foregroundDeletion`` -> have the dependents deleted and remove the finalizer
  once no dependent that blocks owner deletion is left. The API server then removes the owner itself.

The API server adds those finalizers when DeleteOptions.propagationPolicy asks (Foreground, Orphan); a plain
``kubectl delete`` is Background, which needs only the first kind of work.

Simplified: a fixed list of resources (no discovery of custom resources); owners of resources outside that list
are still checked by a live read; no absent-owner cache; no detection of cycles among foreground deletions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.errors import ApiError
from kubelab.api.resources import ResourceType
from kubelab.client import Client, InformerFactory
from kubelab.config import LabConfig
from kubelab.controllers.podutil import as_manager, meta, owner_refs, uid_of
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

log = logging.getLogger(__name__)
Obj = dict[str, Any]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"

# resources watched for ownerReferences (owners outside this list are still found by a live read)
DEFAULT_RESOURCES: tuple[str, ...] = (
    "nodes", "pods", "replicasets.apps", "deployments.apps", "daemonsets.apps", "statefulsets.apps",
    "controllerrevisions.apps", "jobs.batch", "cronjobs.batch", "services", "endpoints",
    "endpointslices.discovery.k8s.io", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims",
    "replicationcontrollers", "podtemplates", "leases.coordination.k8s.io",
    "horizontalpodautoscalers.autoscaling", "poddisruptionbudgets.policy", "ingresses.networking.k8s.io",
)


@dataclass
class Node:
    uid: str
    resource: str
    namespace: str | None
    name: str
    owners: list[Obj] = field(default_factory=list)
    deleting: bool = False
    finalizers: tuple[str, ...] = ()

    @property
    def deleting_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers


class GarbageCollector(Controller):
    name = "garbagecollector"
    manager = "generic-garbage-collector"
    workers = 1

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None, resources: tuple[str, ...] = DEFAULT_RESOURCES) -> None:
        self._resources = resources
        super().__init__(as_manager(client, self.manager), informers, config, trace)

    # ------------------------------------------------------------------------------------------- graph
    def setup(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids (owner may be unobserved)
        for res in self._resources:
            try:
                self.client.resource(res)
            except ApiError:
                continue  # not served by this cluster
            self._watch(res)

    def _watch(self, resource: str) -> None:
        def on_add(obj: Obj) -> None:
            self._observe(resource, obj)

        def on_update(old: Obj, new: Obj) -> None:
            self._observe(resource, new)

        self.informers.informer(resource).add_handler(on_add, on_update, self._forget)

    def _observe(self, resource: str, obj: Obj) -> None:
        uid = uid_of(obj)
        if not uid:
            return
        m = meta(obj)
        prev = self.nodes.get(uid)
        node = Node(uid, resource, m.get("namespace"), str(m.get("name")), owner_refs(obj),
                    bool(m.get("deletionTimestamp")), tuple(m.get("finalizers") or ()))
        self.nodes[uid] = node
        old_owners = {str(r.get("uid")) for r in (prev.owners if prev else [])}
        new_owners = {str(r.get("uid")) for r in node.owners}
        for o in old_owners - new_owners:
            self.dependents.get(o, set()).discard(uid)
        for o in new_owners:
            self.dependents.setdefault(o, set()).add(uid)
        # owners we have never seen (or that are gone): check this dependent by reading them live
        if any(o not in self.nodes for o in new_owners):
            self.enqueue_key(f"dep/{uid}")
        if node.deleting_dependents or node.orphaning:
            self.enqueue_key(f"own/{uid}")
            if node.deleting_dependents and not (prev and prev.deleting_dependents):
                for dep in self.dependents.get(uid, ()):
                    self.enqueue_key(f"dep/{dep}")
        # an owner waiting for its dependents may be unblocked by this change
        for o in old_owners | new_owners:
            owner = self.nodes.get(o)
            if owner is not None and (owner.deleting_dependents or owner.orphaning):
                self.enqueue_key(f"own/{o}")

    def _forget(self, obj: Obj) -> None:
        uid = uid_of(obj)
        node = self.nodes.pop(uid, None)
        if node is None:
            return
        for r in node.owners:
            o = str(r.get("uid"))
            self.dependents.get(o, set()).discard(uid)
            owner = self.nodes.get(o)
            if owner is not None and owner.deleting_dependents:
                self.enqueue_key(f"own/{o}")
            if not self.dependents.get(o) and owner is None:
                self.dependents.pop(o, None)
        for dep in self.dependents.get(uid, ()):  # the owner is gone: its dependents may be garbage now
            self.enqueue_key(f"dep/{dep}")

    # ------------------------------------------------------------------------------------------- sync
    async def sync(self, key: str) -> None:
        kind, _, uid = key.partition("/")
        if kind == "dep":
            self.attempt_to_delete(uid)
        elif kind == "own":
            self.process_owner(uid)

    def _live(self, node: Node) -> Obj | None:
        obj = self.client.try_get(node.resource, node.name, node.namespace)
        return obj if obj is not None and uid_of(obj) == node.uid else None

    def owner_state(self, ref: Obj, namespace: str | None) -> str:
        """'solid', 'dangling' (gone, or another object under that name) or 'waiting' (deleting dependents)."""
        rt = self._owner_type(ref)
        if rt is None:
            return "solid"  # unknown kind: never delete on a guess
        ns = namespace if rt.namespaced else None
        owner = self.client.try_get(f"{rt.plural}.{rt.group}" if rt.group else rt.plural, str(ref.get("name")), ns)
        if owner is None or uid_of(owner) != ref.get("uid"):
            return "dangling"
        m = meta(owner)
        if m.get("deletionTimestamp") and FOREGROUND in (m.get("finalizers") or []):
            return "waiting"
        return "solid"

    def _owner_type(self, ref: Obj) -> ResourceType | None:
        return self.client.ctx.resources.by_api_version_kind(str(ref.get("apiVersion") or ""),
                                                             str(ref.get("kind") or ""))

    def attempt_to_delete(self, uid: str) -> None:
        node = self.nodes.get(uid)
        if node is None:
            return
        obj = self._live(node)
        if obj is None:
            return
        m = meta(obj)
        if m.get("deletionTimestamp") and FOREGROUND not in (m.get("finalizers") or []):
            return  # already going
        refs = owner_refs(obj)
        if not refs:
            return
        states = {str(r.get("uid")): self.owner_state(r, node.namespace) for r in refs}
        solid = [u for u, s in states.items() if s == "solid"]
        gone = {u for u, s in states.items() if s in ("dangling", "waiting")}
        if solid:
            if gone:  # keep the object; drop the references to owners that are gone or going
                self._set_refs(node, obj, [r for r in refs if str(r.get("uid")) not in gone])
                self.emit("remove-owner-refs", obj, owners=sorted(gone))
            return
        waiting = any(s == "waiting" for s in states.values())
        if waiting and self.dependents.get(uid):
            policy = "Foreground"  # an owner waits for us and we have dependents: delete them first
        elif ORPHAN in (m.get("finalizers") or []):
            policy = "Orphan"
        elif FOREGROUND in (m.get("finalizers") or []):
            policy = "Foreground"
        else:
            policy = "Background"
        self.client.delete(node.resource, node.name, node.namespace, propagation_policy=policy,
                           preconditions={"uid": uid})
        self.emit("delete", obj, reason="OwnerGone" if not waiting else "OwnerDeletingDependents",
                  message=f"propagationPolicy={policy}")

    def process_owner(self, uid: str) -> None:
        node = self.nodes.get(uid)
        if node is None:
            return
        obj = self._live(node)
        if obj is None or not meta(obj).get("deletionTimestamp"):
            return
        finalizers = list(meta(obj).get("finalizers") or [])
        if ORPHAN in finalizers:
            for dep_uid in list(self.dependents.get(uid, ())):
                dep = self.nodes.get(dep_uid)
                live = self._live(dep) if dep is not None else None
                if dep is None or live is None:
                    continue
                refs = owner_refs(live)
                kept = [r for r in refs if r.get("uid") != uid]
                if len(kept) != len(refs):
                    self._set_refs(dep, live, kept)
                    self.emit("orphan", live, owner=node.name)
            self._remove_finalizer(node, ORPHAN)
            return
        if FOREGROUND in finalizers:
            blocking = []
            for dep_uid in self.dependents.get(uid, ()):
                dep = self.nodes.get(dep_uid)
                if dep is None:
                    continue
                if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in dep.owners):
                    blocking.append(dep_uid)
            if not blocking:
                self._remove_finalizer(node, FOREGROUND)
                return
            for dep_uid in blocking:
                dep = self.nodes[dep_uid]
                if not dep.deleting or dep.deleting_dependents:
                    self.enqueue_key(f"dep/{dep_uid}")

    # ------------------------------------------------------------------------------------------- writes
    def _set_refs(self, node: Node, obj: Obj, refs: list[Obj]) -> None:
        new = dict(obj)
        m = dict(meta(obj))
        if refs:
            m["ownerReferences"] = refs
        else:
            m.pop("ownerReferences", None)
        new["metadata"] = m
        try:
            self.client.update(node.resource, new)
        except ApiError as e:
            if e.code != 404:
                raise

    def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        for _ in range(5):  # read-modify-write; others may be editing finalizers too
            obj = self._live(node)
            if obj is None or finalizer not in (meta(obj).get("finalizers") or []):
                return
            new = dict(obj)
            m = dict(meta(obj))
            m["finalizers"] = [f for f in m.get("finalizers") or [] if f != finalizer]
            new["metadata"] = m
            try:
                self.client.update(node.resource, new)
                self.emit("remove-finalizer", obj, message=finalizer)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409:
                    raise
        raise ApiError(409, "Conflict", f"could not remove finalizer {finalizer} from {node.name}")
