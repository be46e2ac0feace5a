"""``python -m kubelab``: the same as the ``kubelab`` console script (used by ``kubelab up --detach``)."""

from __future__ import annotations

from kubelab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
