"""The IPython extension entry point: ``%load_ext kubelab`` registers the ``%kube`` / ``%%kube`` magics.

IPython looks for ``load_ipython_extension`` on the module named in ``%load_ext``; the ``kubelab`` facade
re-exports this function, and ``%load_ext kubelab.ipython`` works too.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ip: Any) -> None:
    """Register :class:`kubelab.notebook.magics.KubeMagics` with the shell ``ip``."""
    from kubelab.notebook.magics import KubeMagics

    ip.register_magics(KubeMagics)
