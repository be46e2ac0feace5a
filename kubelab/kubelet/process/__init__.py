"""The process runtime: a CRI runtime whose containers are real local processes (see ``runtime``).

Layers, as in containerd: ``runtime`` (the CRI services) -> ``container`` (container + task) -> ``proc`` (the
process group, its stdio and exit) and ``fs`` (proot: the container's filesystem view); ``profiles`` is the
image catalogue, ``webserver`` the server images, ``crilog`` the log file format, ``session`` exec/attach.
"""

from kubelab.kubelet.process.runtime import ProcessRuntime, process_runtime_unavailable_reason

__all__ = ["ProcessRuntime", "process_runtime_unavailable_reason"]
