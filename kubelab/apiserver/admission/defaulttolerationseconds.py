"""The DefaultTolerationSeconds admission plugin, with the lab's timing.

Mirrors plugin/pkg/admission/defaulttolerationseconds: every new pod that does not tolerate the
``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` NoExecute taints gets a toleration for
each, ``tolerationSeconds: 300`` (the kube-apiserver flags --default-not-ready-toleration-seconds and
--default-unreachable-toleration-seconds). That is how long a pod stays on a dead node before the taint eviction
controller deletes it.

kubelab's defaulter (kubelab.api.defaults) already adds these tolerations with upstream's 300 s; this hook
rewrites the ones the defaulter added to ``LabConfig.default_toleration_seconds`` (10 s in the lab, 300 s with
``LabConfig.realistic()``), so a node-failure lesson runs in seconds.

Simplified: the hook sees the pod after defaulting, so it recognises the added tolerations by their exact shape
at the end of the list; a user who wrote exactly that toleration (300 s) as the last one gets the lab value too.
"""

from __future__ import annotations

from kubelab.api.defaults import DEFAULT_TOLERATION_SECONDS
from kubelab.api.resources import ResourceType
from kubelab.apiserver.admission._common import Obj
from kubelab.apiserver.registry import WriteOptions
from kubelab.config import LabConfig

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _added_shape(key: str) -> Obj:
    return {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}


class DefaultTolerationSeconds:
    """Admission hook ``(rt, new, old, opts)`` for new pods."""

    name = "DefaultTolerationSeconds"

    def __init__(self, config: LabConfig) -> None:
        self.seconds = int(config.default_toleration_seconds)

    def __call__(self, rt: ResourceType, new: Obj, old: Obj | None, opts: WriteOptions) -> None:
        if old is not None or rt.group != "" or rt.kind != "Pod" or self.seconds == DEFAULT_TOLERATION_SECONDS:
            return
        spec = new.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("tolerations"), list):
            return
        tols = spec["tolerations"]
        shapes = [_added_shape(NOT_READY), _added_shape(UNREACHABLE)]
        # the defaulter appends not-ready then unreachable (either may be missing): look at the last two only
        start = max(len(tols) - 2, 0)
        out = list(tols)
        for i in range(start, len(tols)):
            if tols[i] in shapes:
                out[i] = dict(tols[i], tolerationSeconds=self.seconds)
        spec["tolerations"] = out
