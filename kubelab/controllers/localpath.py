"""A local-path provisioner like kind's: rancher.io/local-path, behind the default ``standard`` StorageClass.

Mirrors rancher/local-path-provisioner (provisioner.go) driven by sigs.k8s.io/sig-storage-lib-external-provisioner,
as kind deploys it in ``local-path-storage``. For a claim the PV controller annotated
``volume.kubernetes.io/storage-provisioner: rancher.io/local-path`` (with WaitForFirstConsumer, once
``volume.kubernetes.io/selected-node`` names a node) it creates the volume ``pvc-<claim uid>``: hostPath
``/var/local-path-provisioner/pvc-<uid>_<namespace>_<claim>`` (DirectoryOrCreate), node affinity to that node
(``kubernetes.io/hostname``), the class's reclaim policy, pre-bound to the claim through ``claimRef``; events
Provisioning and ProvisioningSucceeded (ProvisioningFailed with the provisioner's reason). The PV controller
then completes the binding. A Released volume of its own with reclaim policy Delete is deleted.

Simplified: no helper pods create or remove directories (kubelab's runtime keeps no files for volumes); the
provisioner's config map (paths per node) is fixed to the default path.
"""

from __future__ import annotations

from kubelab.api.errors import ApiError
from kubelab.client import Client, InformerFactory
from kubelab.client.informer import meta_key
from kubelab.config import LabConfig
from kubelab.controllers.persistentvolume import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_PROVISIONED_BY,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    PV,
    PVC,
    SC,
    WAIT_FOR_FIRST_CONSUMER,
    Obj,
    annotations_of,
    claim_class,
    with_manager,
)
from kubelab.controllers.runner import Controller
from kubelab.trace import TraceBus

LOCAL_PATH = "rancher.io/local-path"
LOCAL_PATH_BASE = "/var/local-path-provisioner"
LOCAL_PATH_SELECTED_NODE = "local.path.provisioner/selected-node"


class LocalPathProvisioner(Controller):
    """rancher.io/local-path. Keys ``pvc:<ns>/<name>`` and ``pv:<name>``; writes and events carry
    ``rancher.io/local-path``."""

    name = "local-path-provisioner"
    manager = LOCAL_PATH
    provisioner = LOCAL_PATH

    def __init__(self, client: Client, informers: InformerFactory, config: LabConfig,
                 trace: TraceBus | None = None) -> None:
        super().__init__(with_manager(client, self.manager), informers, config, trace)

    def setup(self) -> None:
        self.claims = self.informers.informer(PVC)
        self.volumes = self.informers.informer(PV)
        self.classes = self.informers.informer(SC)
        self.nodes = self.informers.informer("nodes")
        self.claims.add_handler(self._claim, lambda old, new: self._claim(new), None)
        self.volumes.add_handler(self._volume, lambda old, new: self._volume(new), None)

    def _claim(self, claim: Obj) -> None:
        self.enqueue_key("pvc:" + meta_key(claim))

    def _volume(self, pv: Obj) -> None:
        self.enqueue_key("pv:" + pv["metadata"]["name"])

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "pvc":
            claim = self.claims.get_key(rest)
            if claim is not None:
                self.provision(claim)
        else:
            pv = self.volumes.get(rest)
            if pv is not None:
                self.delete_released(pv)

    def provision(self, claim: Obj) -> None:
        ann = annotations_of(claim)
        if ann.get(ANN_STORAGE_PROVISIONER, ann.get(ANN_BETA_STORAGE_PROVISIONER)) != self.provisioner:
            return
        if (claim.get("spec") or {}).get("volumeName") or claim["metadata"].get("deletionTimestamp"):
            return
        sc = self.classes.get(claim_class(claim))
        if sc is None or sc.get("provisioner") != self.provisioner:
            return
        pv_name = f"pvc-{claim['metadata']['uid']}"
        if self.volumes.get(pv_name) is not None or self.client.try_get(PV, pv_name) is not None:
            return
        node_name = ann.get(ANN_SELECTED_NODE)
        if sc.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER and not node_name:
            return  # the binder has not seen a consumer yet
        m = claim["metadata"]
        self.client.event(claim, "Provisioning",
                          f'External provisioner is provisioning volume for claim "{m["namespace"]}/{m["name"]}"')
        try:
            pv = self.volume_for(claim, sc, pv_name, node_name)
        except ValueError as e:
            self.client.event(claim, "ProvisioningFailed",
                              f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": {e}',
                              "Warning")
            return
        try:
            self.client.create(PV, pv)
        except ApiError as e:
            if e.code != 409:
                raise
            return
        self.client.event(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}")
        self.emit("provision", claim, node=str(node_name), volume=pv_name,
                  message=f"created {pv_name} at {node_name}:{pv['spec']['hostPath']['path']}")

    def volume_for(self, claim: Obj, sc: Obj, pv_name: str, node_name: str | None) -> Obj:
        """LocalPathProvisioner.Provision: the PersistentVolume object for this claim on this node."""
        spec = claim.get("spec") or {}
        if spec.get("selector") is not None:
            raise ValueError("claim.Spec.Selector is not supported")
        if any(mode not in ("ReadWriteOnce", "ReadWriteOncePod") for mode in spec.get("accessModes") or []):
            raise ValueError("Only support ReadWriteOnce access mode")
        if not node_name:
            raise ValueError("configuration error, no node was specified")
        node = self.nodes.get(node_name)
        hostname = ((node or {}).get("metadata") or {}).get("labels", {}).get("kubernetes.io/hostname", node_name)
        m = claim["metadata"]
        path = f"{LOCAL_PATH_BASE}/{pv_name}_{m['namespace']}_{m['name']}"
        return {
            "metadata": {"name": pv_name, "annotations": {
                ANN_PROVISIONED_BY: self.provisioner, LOCAL_PATH_SELECTED_NODE: node_name}},
            "spec": {
                "accessModes": list(spec.get("accessModes") or []),
                "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")},
                "hostPath": {"path": path, "type": "DirectoryOrCreate"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [hostname]}]}]}},
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": "Filesystem",
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": m["namespace"], "name": m["name"],
                             "uid": m.get("uid"), "apiVersion": "v1", "resourceVersion": m.get("resourceVersion")},
            },
        }

    def delete_released(self, pv: Obj) -> None:
        """The provisioner deletes its volumes once Released with policy Delete (the directory with them)."""
        if annotations_of(pv).get(ANN_PROVISIONED_BY) != self.provisioner or pv["metadata"].get("deletionTimestamp"):
            return
        if (pv.get("status") or {}).get("phase") != "Released":
            return
        if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Delete":
            return
        self.client.delete(PV, pv["metadata"]["name"])
        self.emit("delete-volume", pv, message=f"removed {((pv.get('spec') or {}).get('hostPath') or {}).get('path')}")
