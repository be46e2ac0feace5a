"""Admission plugins: what kube-apiserver does to a write between decoding it and storing it.

Mirrors the built-in plugins of plugin/pkg/admission that a default cluster enables, in their upstream order
(after NamespaceLifecycle, which kubelab's bootstrap installs):

* DefaultTolerationSeconds (lab timing for the not-ready/unreachable tolerations the defaulter adds);
* DefaultStorageClass (a claim without a class gets the default one);
* LimitRanger (default requests/limits from LimitRanges; min/max checks);
* ResourceQuota (refuse what would exceed a quota; always last);

and the PodDisruptionBudget check of pods/eviction (``check_eviction``), which upstream lives in the eviction
REST storage rather than in a plugin.

``install(ctx, config)`` appends the plugins, as hooks ``(rt, new, old_or_None, opts)``, to
``ctx.registry.mutating_hooks``; call it once per server. Simplified: kubelab has one hook list, run before the
registry's own validation; the validating plugins stand aside when validation will reject the object (see
``_common.invalid``), so the answers are the ones a real API server gives.
"""

from __future__ import annotations

from kubelab.apiserver.admission.defaultstorageclass import DefaultStorageClass
from kubelab.apiserver.admission.defaulttolerationseconds import DefaultTolerationSeconds
from kubelab.apiserver.admission.eviction import check_eviction
from kubelab.apiserver.admission.limitranger import LimitRanger
from kubelab.apiserver.admission.resourcequota import ResourceQuotaAdmission
from kubelab.apiserver.context import ServerContext
from kubelab.apiserver.registry import Hook
from kubelab.config import LabConfig


def plugins(ctx: ServerContext, config: LabConfig | None = None) -> list[Hook]:
    """The admission hooks in upstream order."""
    cfg = config or LabConfig()
    return [DefaultTolerationSeconds(cfg), DefaultStorageClass(ctx), LimitRanger(ctx), ResourceQuotaAdmission(ctx)]


def install(ctx: ServerContext, config: LabConfig | None = None) -> None:
    """Append the admission plugins to ``ctx.registry.mutating_hooks`` (once per server)."""
    if getattr(ctx.registry, "_kubelab_admission", False):
        return
    ctx.registry.mutating_hooks.extend(plugins(ctx, config))
    ctx.registry._kubelab_admission = True  # type: ignore[attr-defined]


__all__ = ["DefaultStorageClass", "DefaultTolerationSeconds", "LimitRanger", "ResourceQuotaAdmission",
           "check_eviction", "install", "plugins"]
