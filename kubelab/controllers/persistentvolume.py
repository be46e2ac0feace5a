"""The persistent volume controller: bind claims to volumes, ask provisioners for new ones, reclaim released ones.

``PersistentVolumeController`` mirrors kube-controller-manager's PV controller
(pkg/controller/volume/persistentvolume/pv_controller.go, event source ``persistentvolume-controller``):

* a Pending claim is bound to the smallest Available volume that fits (same storageClassName, access modes
  included, capacity >= request, volumeMode, the claim's selector); a volume pre-bound to the claim (its
  ``claimRef`` names it, as a provisioner's volume does) wins. Binding writes ``pv.spec.claimRef``, the volume's
  phase Bound, ``pvc.spec.volumeName`` with the annotations ``pv.kubernetes.io/bind-completed`` and
  ``pv.kubernetes.io/bound-by-controller``, then the claim's phase Bound with capacity and access modes;
* no match and a StorageClass: with ``volumeBindingMode: WaitForFirstConsumer`` the claim waits (event
  WaitForFirstConsumer "waiting for first consumer to be created before binding", or WaitForPodScheduled) until a
  pod using it is on a node (``volume.kubernetes.io/selected-node``); then, or at once with Immediate binding,
  the claim is annotated ``volume.kubernetes.io/storage-provisioner: <provisioner>`` (event ExternalProvisioning)
  for an external provisioner to create a volume;
* a claim without a class gets the default class (retroactively); without class and volume: FailedBinding;
* a bound claim whose volume vanished becomes Lost (ClaimLost); a volume whose claim was deleted becomes Released
  and is reclaimed per ``persistentVolumeReclaimPolicy``: Retain keeps it, Delete deletes it (through its
  provisioner; a hand-made hostPath volume can only be deleted under /tmp, else it turns Failed with upstream's
  VolumeFailedDelete message), Recycle makes it Available again.

The provisioner behind kind's default ``standard`` class is ``kubelab.controllers.localpath``.

Simplified: upstream the scheduler's VolumeBinding plugin picks the node and sets ``selected-node`` (and binds
local volumes) before binding the pod; here the binder notices a scheduled pod using a waiting claim, sets the
annotation itself, and binds a matching static volume whose node affinity allows that node, or asks for
provisioning. No pv-/pvc-protection finalizers, no resizing, no volume attributes classes.
"""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from typing import Any

from kubelab.api.selectors import label_selector_from_dict
from kubelab.api.validation.quantity import parse_quantity
from kubelab.client import Client, InformerFactory
from kubelab.client.informer import meta_key
from kubelab.clock import rfc3339
from kubelab.config import LabConfig
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

Obj = dict[str, Any]

ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"

PVC, PV, SC = "persistentvolumeclaims", "persistentvolumes", "storageclasses.storage.k8s.io"


# ------------------------------------------------------------------------------------------------ pure helpers
def annotations_of(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def claim_class(claim: Obj) -> str:
    return annotations_of(claim).get(ANN_BETA_CLASS) or (claim.get("spec") or {}).get("storageClassName") or ""


def volume_class(pv: Obj) -> str:
    return annotations_of(pv).get(ANN_BETA_CLASS) or (pv.get("spec") or {}).get("storageClassName") or ""


def storage_of(rl: Any) -> Fraction:
    q = parse_quantity((rl or {}).get("storage")) if isinstance(rl, dict) else None
    return q.value if q is not None else Fraction(0)


def is_bound_to(pv: Obj, claim: Obj) -> bool:
    """IsVolumeBoundToClaim: claimRef names the claim (and its uid, once set)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    m = claim["metadata"]
    if not ref or ref.get("name") != m["name"] or ref.get("namespace") != m["namespace"]:
        return False
    return not ref.get("uid") or ref.get("uid") == m.get("uid")


def _requirement_matches(req: Obj, labels: dict[str, str]) -> bool:
    key, op, values = req.get("key", ""), req.get("operator", ""), list(req.get("values") or [])
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_affinity_allows(pv: Obj, node: Obj) -> bool:
    """CheckNodeAffinity: some term of ``spec.nodeAffinity.required`` matches the node's labels (and name)."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    labels = dict((node.get("metadata") or {}).get("labels") or {})
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in required.get("nodeSelectorTerms") or []:
        exprs, field_exprs = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not field_exprs:
            continue
        if all(_requirement_matches(e, labels) for e in exprs) and all(
                _requirement_matches(e, fields) for e in field_exprs):
            return True
    return False


def volume_mismatch(pv: Obj, claim: Obj) -> str | None:
    """checkVolumeSatisfyClaim: why this volume cannot serve this claim (None: it can)."""
    cs, vs = claim.get("spec") or {}, pv.get("spec") or {}
    if storage_of(vs.get("capacity")) < storage_of((cs.get("resources") or {}).get("requests")):
        return "requested PV is too small"
    if volume_class(pv) != claim_class(claim):
        return "storageClassName does not match"
    if (vs.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
        return "incompatible volumeMode"
    if not set(cs.get("accessModes") or []) <= set(vs.get("accessModes") or []):
        return "incompatible accessMode"
    return None


def find_best_match(volumes: list[Obj], claim: Obj, delay_binding: bool, node: Obj | None = None) -> Obj | None:
    """findBestMatchForClaim: a volume pre-bound to the claim, else the smallest Available one that fits,
    preferring volumes with fewer access modes. With delayed binding only pre-bound volumes are taken unless a
    node is given (the scheduler's path), and then node affinity must allow it."""
    cs = claim.get("spec") or {}
    want_modes = set(cs.get("accessModes") or [])
    requested = storage_of((cs.get("resources") or {}).get("requests"))
    selector = cs.get("selector")
    sel = label_selector_from_dict(selector) if selector is not None else None
    best: tuple[int, Fraction, str] | None = None
    chosen: Obj | None = None
    for pv in volumes:
        vs = pv.get("spec") or {}
        if vs.get("claimRef") and not is_bound_to(pv, claim):
            continue
        capacity = storage_of(vs.get("capacity"))
        if capacity < requested or (vs.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
            continue
        if pv["metadata"].get("deletionTimestamp") or not want_modes <= set(vs.get("accessModes") or []):
            continue
        affinity_ok = node is None or node_affinity_allows(pv, node)
        if is_bound_to(pv, claim):
            return pv if affinity_ok else None
        if node is None and delay_binding:
            continue
        if (pv.get("status") or {}).get("phase") != "Available" or not affinity_ok:
            continue
        if sel is not None and not sel.matches(pv["metadata"].get("labels") or {}):
            continue
        if volume_class(pv) != claim_class(claim):
            continue
        rank = (len(vs.get("accessModes") or []), capacity, pv["metadata"]["name"])
        if best is None or rank < best:
            best, chosen = rank, pv
    return chosen


def claim_names(pod: Obj) -> list[str]:
    """The claims a pod uses: persistentVolumeClaim volumes and generic ephemeral volumes (<pod>-<volume>)."""
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if (v.get("persistentVolumeClaim") or {}).get("claimName"):
            out.append(v["persistentVolumeClaim"]["claimName"])
        elif v.get("ephemeral"):
            out.append(f"{pod['metadata']['name']}-{v.get('name')}")
    return out


def _terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def with_manager(client: Client, manager: str) -> Client:
    return client if client.manager == manager else Client(client.ctx, manager)


# ------------------------------------------------------------------------------------------------ the binder
class PersistentVolumeController(Controller):
    """Keys ``pvc:<ns>/<name>`` and ``pv:<name>``. Writes and events carry ``persistentvolume-controller``."""

    name = "persistentvolume-binder"
    manager = "persistentvolume-controller"

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        super().__init__(with_manager(client, self.manager), informers, config, trace)

    def setup(self) -> None:
        self.claims = self.informers.informer(PVC)
        self.volumes = self.informers.informer(PV)
        self.classes = self.informers.informer(SC)
        self.pods = self.informers.informer("pods")
        self.nodes = self.informers.informer("nodes")
        self.claims.add_handler(self._claim, lambda old, new: self._claim(new), self._claim_deleted)
        self.volumes.add_handler(self._volume, lambda old, new: self._volume(new), self._volume)
        self.pods.add_handler(self._pod, lambda old, new: self._pod(new, old), None)
        self.classes.add_handler(self._class, lambda old, new: self._class(new), None)

    def _claim(self, claim: Obj) -> None:
        self.enqueue_key("pvc:" + meta_key(claim))

    def _claim_deleted(self, claim: Obj) -> None:
        if (claim.get("spec") or {}).get("volumeName"):
            self.enqueue_key("pv:" + claim["spec"]["volumeName"])
        for pv in self.volumes.list():
            if is_bound_to(pv, claim):
                self.enqueue_key("pv:" + pv["metadata"]["name"])

    def _volume(self, pv: Obj) -> None:
        self.enqueue_key("pv:" + pv["metadata"]["name"])
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref and ref.get("name"):
            self.enqueue_key(f"pvc:{ref.get('namespace')}/{ref['name']}")
        elif (pv.get("status") or {}).get("phase") == "Available":
            # upstream finds it on the next periodic resync of waiting claims (15 s); the lab looks at once
            for claim in self.claims.list():
                if (claim.get("status") or {}).get("phase") == "Pending":
                    self._claim(claim)

    def _pod(self, pod: Obj, old: Obj | None = None) -> None:
        if old is not None and (old.get("spec") or {}).get("nodeName") == (pod.get("spec") or {}).get("nodeName"):
            return
        for name in claim_names(pod):
            self.enqueue_key(f"pvc:{pod['metadata']['namespace']}/{name}")

    def _class(self, sc: Obj) -> None:
        for claim in self.claims.list():
            if (claim.get("status") or {}).get("phase") == "Pending":
                self._claim(claim)

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "pvc":
            claim = self.claims.get_key(rest)
            if claim is not None:
                self.sync_claim(claim)
        else:
            pv = self.volumes.get(rest)
            if pv is not None:
                self.sync_volume(pv)

    # -------------------------------------------------------------------------------------------- claims
    def sync_claim(self, claim: Obj) -> None:
        if ANN_BIND_COMPLETED in annotations_of(claim):
            self.sync_bound_claim(claim)
        else:
            self.sync_unbound_claim(claim)

    def _class_of(self, claim: Obj) -> Obj | None:
        name = claim_class(claim)
        return self.classes.get(name) if name else None

    def sync_unbound_claim(self, claim: Obj) -> None:
        spec = claim.get("spec") or {}
        if spec.get("volumeName"):
            self._sync_prebound_claim(claim, spec["volumeName"])
            return
        sc = self._class_of(claim)
        delay = sc is not None and sc.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER
        node_name = annotations_of(claim).get(ANN_SELECTED_NODE)
        node = self.nodes.get(node_name) if node_name else None
        pv = find_best_match(self.volumes.list(), claim, delay, node if delay else None)
        if pv is not None:
            self.bind(pv, claim)
            return
        if spec.get("storageClassName") is None and ANN_BETA_CLASS not in annotations_of(claim):
            if self.assign_default_class(claim):
                return
        if delay and not node_name:
            node_name = self.selected_node(claim)
            if node_name:
                new = copy.deepcopy(claim)
                new["metadata"].setdefault("annotations", {})[ANN_SELECTED_NODE] = node_name
                self.client.update(PVC, new)  # the update event brings the claim back here
                self.emit("select-node", claim, node=node_name,
                          message="a pod using the claim is scheduled (upstream: the scheduler sets this)")
                return
            self.wait_for_consumer(claim)
        elif claim_class(claim):
            self.provision_claim(claim, sc)
        else:
            self.client.event(claim, "FailedBinding",
                              "no persistent volumes available for this claim and no storage class is set")
        self.update_claim_status(claim, "Pending", None)

    def _sync_prebound_claim(self, claim: Obj, volume_name: str) -> None:
        pv = self.volumes.get(volume_name)
        if pv is None:
            self.update_claim_status(claim, "Pending", None)
            return
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref:
            why = volume_mismatch(pv, claim)
            if why:
                self.client.event(claim, "VolumeMismatch", f'Cannot bind to requested volume "{volume_name}": {why}',
                                  "Warning")
                self.update_claim_status(claim, "Pending", None)
                return
            self.bind(pv, claim)
        elif is_bound_to(pv, claim):
            self.bind(pv, claim)
        else:
            self.client.event(claim, "FailedBinding", f'volume "{volume_name}" already bound to a different claim.',
                              "Warning")
            self.update_claim_status(claim, "Pending", None)

    def sync_bound_claim(self, claim: Obj) -> None:
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name:
            self._lose(claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume "
                                           "is lost!")
            return
        pv = self.volumes.get(volume_name)
        if pv is None:
            self._lose(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
            return
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or ref.get("uid") == claim["metadata"].get("uid"):
            self.bind(pv, claim)
        else:
            self._lose(claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
                                               "incorrectly")

    def _lose(self, claim: Obj, reason: str, message: str) -> None:
        if (claim.get("status") or {}).get("phase") != "Lost":
            out = self.update_claim_status(claim, "Lost", None)
            self.client.event(out, reason, message, "Warning")

    def selected_node(self, claim: Obj) -> str | None:
        """Lab stand-in for the scheduler's VolumeBinding plugin: the node of a scheduled pod using the claim."""
        ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
        for pod in sorted(self.pods.list(ns), key=lambda p: p["metadata"].get("creationTimestamp") or ""):
            node = (pod.get("spec") or {}).get("nodeName")
            if node and not _terminated(pod) and name in claim_names(pod):
                return str(node)
        return None

    def wait_for_consumer(self, claim: Obj) -> None:
        """emitEventForUnboundDelayBindingClaim."""
        ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
        waiting = sorted(p["metadata"]["name"] for p in self.pods.list(ns)
                         if name in claim_names(p) and not _terminated(p) and not (p.get("spec") or {}).get("nodeName"))
        if not waiting:
            self.client.event(claim, WAIT_FOR_FIRST_CONSUMER, "waiting for first consumer to be created before binding")
        elif len(waiting) == 1:
            self.client.event(claim, "WaitForPodScheduled", f"waiting for pod {waiting[0]} to be scheduled")
        else:
            self.client.event(claim, "WaitForPodScheduled", f"waiting for pods {','.join(waiting)} to be scheduled")

    def assign_default_class(self, claim: Obj) -> bool:
        defaults = [sc for sc in self.classes.list() if annotations_of(sc).get(
            "storageclass.kubernetes.io/is-default-class") == "true" or annotations_of(sc).get(
            "storageclass.beta.kubernetes.io/is-default-class") == "true"]
        if not defaults:
            return False
        defaults.sort(key=lambda sc: (sc["metadata"].get("creationTimestamp") or "", sc["metadata"]["name"]))
        new = copy.deepcopy(claim)
        new["spec"]["storageClassName"] = defaults[-1]["metadata"]["name"]
        self.client.update(PVC, new)
        return True

    def provision_claim(self, claim: Obj, sc: Obj | None) -> None:
        """provisionClaim for an external provisioner: annotate the claim and say who is expected to act."""
        if sc is None:
            self.client.event(claim, "ProvisioningFailed",
                              f'storageclass.storage.k8s.io "{claim_class(claim)}" not found', "Warning")
            return
        provisioner = str(sc.get("provisioner") or "")
        if provisioner.startswith("kubernetes.io/"):  # in-tree plugins: none in the lab
            self.client.event(claim, "ProvisioningFailed", f"no volume plugin matched name: {provisioner}", "Warning")
            return
        ann = annotations_of(claim)
        if ann.get(ANN_STORAGE_PROVISIONER) != provisioner or ann.get(ANN_BETA_STORAGE_PROVISIONER) != provisioner:
            new = copy.deepcopy(claim)
            new["metadata"].setdefault("annotations", {}).update(
                {ANN_STORAGE_PROVISIONER: provisioner, ANN_BETA_STORAGE_PROVISIONER: provisioner})
            claim = self.client.update(PVC, new)
        self.client.event(claim, "ExternalProvisioning", (
            f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by "
            "the system administrator. If volume creation is delayed, please verify that the provisioner is "
            "running and correctly registered."))

    # -------------------------------------------------------------------------------------------- binding
    def bind(self, pv: Obj, claim: Obj) -> None:
        """Volume first (claimRef, phase Bound), then the claim (volumeName + annotations, phase Bound)."""
        m = claim["metadata"]
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if (ref.get("name"), ref.get("namespace"), ref.get("uid")) != (m["name"], m["namespace"], m.get("uid")):
            new = copy.deepcopy(pv)
            if not is_bound_to(pv, claim):
                new["metadata"].setdefault("annotations", {})[ANN_BOUND_BY_CONTROLLER] = "yes"
            new.setdefault("spec", {})["claimRef"] = {
                "kind": "PersistentVolumeClaim", "namespace": m["namespace"], "name": m["name"], "uid": m.get("uid"),
                "apiVersion": "v1", "resourceVersion": m.get("resourceVersion")}
            pv = self.client.update(PV, new)
        pv = self.update_volume_phase(pv, "Bound")
        ann = annotations_of(claim)
        if (claim.get("spec") or {}).get("volumeName") != pv["metadata"]["name"] or ANN_BIND_COMPLETED not in ann:
            new = copy.deepcopy(claim)
            new_ann = new["metadata"].setdefault("annotations", {})
            if new["spec"].get("volumeName") != pv["metadata"]["name"]:
                new["spec"]["volumeName"] = pv["metadata"]["name"]
                new_ann.setdefault(ANN_BOUND_BY_CONTROLLER, "yes")
            new_ann.setdefault(ANN_BIND_COMPLETED, "yes")
            claim = self.client.update(PVC, new)
            self.emit("bind", claim, message=f"bound to {pv['metadata']['name']}", volume=pv["metadata"]["name"])
        self.update_claim_status(claim, "Bound", pv)

    def update_claim_status(self, claim: Obj, phase: str, pv: Obj | None) -> Obj:
        status = dict(claim.get("status") or {})
        new_status = dict(status, phase=phase)
        if pv is None:
            new_status.pop("accessModes", None)
            new_status.pop("capacity", None)
        else:
            new_status["accessModes"] = list((pv.get("spec") or {}).get("accessModes") or [])
            if status.get("phase") != phase:
                new_status["capacity"] = dict((pv.get("spec") or {}).get("capacity") or {})
        if new_status == status:
            return claim
        return self.client.update_status(PVC, dict(claim, status=new_status))

    def update_volume_phase(self, pv: Obj, phase: str, message: str = "") -> Obj:
        status = dict(pv.get("status") or {})
        if status.get("phase") == phase:
            return pv
        status.update(phase=phase, lastPhaseTransitionTime=rfc3339(self.clock.now()))
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        return self.client.update_status(PV, dict(pv, status=status))

    # -------------------------------------------------------------------------------------------- volumes
    def sync_volume(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            self.update_volume_phase(pv, "Available")  # unused, or reserved for a claim not bound yet
            return
        claim = self.claims.get(str(ref.get("name")), ref.get("namespace"))
        if claim is None:
            claim = self.client.try_get(PVC, str(ref.get("name")), ref.get("namespace"))  # not in the cache yet?
        if claim is not None and claim["metadata"].get("uid") != ref.get("uid"):
            claim = None  # deleted, and another with the same name created
        if claim is None:
            phase = (pv.get("status") or {}).get("phase")
            if phase not in ("Released", "Failed"):
                pv = self.update_volume_phase(pv, "Released")
                self.emit("release", pv, message=f"claim {ref.get('namespace')}/{ref.get('name')} is gone; "
                          f"reclaim policy {(pv.get('spec') or {}).get('persistentVolumeReclaimPolicy')}")
            self.reclaim(pv)
            return
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name:
            self.enqueue_key("pvc:" + meta_key(claim))  # binding in progress: the claim's sync finishes it
        elif volume_name == pv["metadata"]["name"]:
            self.update_volume_phase(pv, "Bound")
        elif ANN_PROVISIONED_BY in annotations_of(pv) and (pv.get("spec") or {}).get(
                "persistentVolumeReclaimPolicy") == "Delete":
            if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
                pv = self.update_volume_phase(pv, "Released")
            self.reclaim(pv)
        else:
            self.unbind(pv)

    def unbind(self, pv: Obj) -> None:
        new = copy.deepcopy(pv)
        ann = new["metadata"].get("annotations") or {}
        if ANN_BOUND_BY_CONTROLLER in ann:
            new["spec"].pop("claimRef", None)
            ann.pop(ANN_BOUND_BY_CONTROLLER, None)
            if not ann:
                new["metadata"].pop("annotations", None)
        else:
            new["spec"]["claimRef"] = {k: v for k, v in new["spec"]["claimRef"].items() if k != "uid"}
        self.update_volume_phase(self.client.update(PV, new), "Available")

    def reclaim(self, pv: Obj) -> None:
        """reclaimVolume."""
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain":
            return
        if policy == "Recycle":
            if (pv.get("spec") or {}).get("hostPath") or (pv.get("spec") or {}).get("nfs"):
                self.client.event(pv, "VolumeRecycled", "Volume recycled")
                self.unbind(pv)
            else:
                self._fail(pv, "VolumeFailedRecycle", "No recycler plugin found for the volume!")
            return
        if policy != "Delete":
            self._fail(pv, "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy")
            return
        if pv["metadata"].get("deletionTimestamp"):
            return
        provisioned_by = annotations_of(pv).get(ANN_PROVISIONED_BY, "")
        if provisioned_by and not provisioned_by.startswith("kubernetes.io/"):
            return  # an external provisioner deletes its own volumes
        path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path")
        if path is None:
            self._fail(pv, "VolumeFailedDelete", f'error getting deleter volume plugin for volume "'
                       f'{pv["metadata"]["name"]}": no deletable volume plugin matched')
        elif not re.search(r"/tmp/.+", path):
            self._fail(pv, "VolumeFailedDelete", f"host_path deleter only supports /tmp/.+ but received provided {path}")
        else:
            self.client.delete(PV, pv["metadata"]["name"])
            self.emit("delete-volume", pv, message=f"reclaim policy Delete: removed {path}")

    def _fail(self, pv: Obj, reason: str, message: str) -> None:
        if (pv.get("status") or {}).get("phase") != "Failed":
            out = self.update_volume_phase(pv, "Failed", message)
            self.client.event(out, reason, message, "Warning")
