"""Which container runtime a new embedded cluster's kubelets use: ``process`` or ``simulated``.

- ``process``: containers are local processes (under proot), Services are forwarded by kube-proxy, ``kubectl
  exec`` and probes really run. Costs the memory of what runs (a busybox ``sleep`` is a few MB; nginx more).
- ``simulated``: containers are records played on the clock; nothing listens. Costs almost nothing per pod, so
  clusters of hundreds of pods stay cheap (tests, benchmarks, scheduling lessons).

Lab default (``create_cluster``, ``kubelab up``, ``%kube create cluster``): ``process`` where it can run here,
else ``simulated`` with a one-line note saying why. ``$KUBELAB_RUNTIME`` overrides that default (a Binder image
can pin ``simulated`` to keep memory low). The low-level ``ServerConfig`` defaults to ``simulated``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

RUNTIMES = ("process", "simulated")


def process_unavailable_reason() -> str | None:
    """Why the process runtime cannot run on this machine, or None when it can."""
    from kubelab.kubelet.process import process_runtime_unavailable_reason

    return process_runtime_unavailable_reason()


def choose_runtime(requested: str | None, note: Callable[[str], None] | None = None) -> str:
    """The runtime to use: ``requested`` when given (``process`` must be able to run here, else ValueError);
    otherwise ``$KUBELAB_RUNTIME`` when set, else ``process`` when it can run, else ``simulated`` after telling
    ``note`` why."""
    if requested is None and os.environ.get("KUBELAB_RUNTIME", "").strip():
        requested = os.environ["KUBELAB_RUNTIME"].strip()
    if requested is not None:
        if requested not in RUNTIMES:
            raise ValueError(f"unknown runtime {requested!r}; choose one of {', '.join(RUNTIMES)}")
        if requested == "process":
            reason = process_unavailable_reason()
            if reason is not None:
                raise ValueError(f"the process runtime cannot run here: {reason}. Use runtime \"simulated\" "
                                 "(containers are simulated, nothing runs) or fix the cause above.")
        return requested
    reason = process_unavailable_reason()
    if reason is None:
        return "process"
    if note is not None:
        note(f"kubelab: pods will be simulated (nothing really runs): {reason}. Fix that to run them as processes, "
             "or choose the simulated runtime explicitly to hide this note.")
    return "simulated"
