"""The DefaultStorageClass admission plugin: a new claim that names no StorageClass gets the default one.

Mirrors plugin/pkg/admission/storage/storageclass/setdefault: on PersistentVolumeClaim create, when
``spec.storageClassName`` is absent (an explicit ``""`` means "no class" and is kept), it is set to the class
annotated ``storageclass.kubernetes.io/is-default-class: "true"`` (the newest one when several are). On a fresh
kubelab cluster that is ``standard`` (rancher.io/local-path), as on kind, so a bare claim gets provisioned.
"""

from __future__ import annotations

from kubelab.api.resources import ResourceType
from kubelab.apiserver.admission._common import Obj, list_objects
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import WriteOptions

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def default_class(ctx: ServerContext) -> Obj | None:
    """GetDefaultClass: the default StorageClass (the newest, then the first by name, when several are)."""
    defaults = [sc for sc in list_objects(ctx, "storage.k8s.io", "storageclasses", None)
                if any(((sc.get("metadata") or {}).get("annotations") or {}).get(a) == "true"
                       for a in DEFAULT_CLASS_ANNOTATIONS)]
    if not defaults:
        return None
    defaults.sort(key=lambda sc: (sc["metadata"].get("creationTimestamp") or "", sc["metadata"]["name"]))
    newest = defaults[-1]["metadata"].get("creationTimestamp")
    return next(sc for sc in defaults if sc["metadata"].get("creationTimestamp") == newest)


class DefaultStorageClass:
    """Admission hook ``(rt, new, old, opts)`` for new claims."""

    name = "DefaultStorageClass"

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def __call__(self, rt: ResourceType, new: Obj, old: Obj | None, opts: WriteOptions) -> None:
        if old is not None or rt.group != "" or rt.kind != "PersistentVolumeClaim":
            return
        spec = new.get("spec")
        if not isinstance(spec, dict) or spec.get("storageClassName") is not None:
            return
        ann = (new.get("metadata") or {}).get("annotations") or {}
        if "volume.beta.kubernetes.io/storage-class" in ann:
            return
        sc = default_class(self.ctx)
        if sc is not None:
            spec["storageClassName"] = sc["metadata"]["name"]
