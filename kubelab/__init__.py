"""kubelab: a Jupyter-native Kubernetes learning lab and kubectl companion.

The public facade: ``create_cluster``, ``connect``, ``Cluster`` and IPython's ``load_ipython_extension`` (for
``%load_ext kubelab``). They are imported on first use, so ``kubelab up`` does not pay for pandas and the
official client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kubelab.ipython import load_ipython_extension
    from kubelab.lab import Cluster, connect, create_cluster

_LAZY = {"Cluster": "kubelab.lab", "connect": "kubelab.lab", "create_cluster": "kubelab.lab",
         "load_ipython_extension": "kubelab.ipython"}
_SUBMODULES = {"exercises"}  # ``kubelab.exercises`` works after a bare ``import kubelab``

__all__ = ["Cluster", "__version__", "connect", "create_cluster", "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"kubelab.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kubelab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
