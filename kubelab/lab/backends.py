"""Where a ``Cluster`` comes from: the embedded control plane, kind, or any existing kubeconfig context.

All three end the same way: a kubeconfig context, loaded by the official client's config loader, so the lab
layer above has one code path (the official client plus real kubectl).

- **embedded** starts an ``EmbeddedServer`` (its own thread and asyncio loop) and writes context
  ``kubelab-<name>``. A module-level registry lets a notebook re-run ``create_cluster`` cell after cell: the same
  name and configuration reuse the running cluster; a changed configuration stops it and starts a fresh one.
- **kind** runs ``kind create cluster`` (argv list, never a shell) when Docker and kind are usable, then
  connects to ``kind-<name>``; otherwise it explains what is missing.
- **auto** picks kind when usable, else embedded.

An embedded cluster's ``runtime`` is ``"process"`` (pods are local processes) or ``"simulated"``; by default the
process runtime when it can run here, else the simulated one with a printed note saying why
(``kubelab.backends.runtimes``).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from kubelab import kubeconfig as kc
from kubelab.config import LabConfig
from kubelab.lab.cluster import Cluster

BACKENDS = ("embedded", "kind", "auto")


class BackendError(RuntimeError):
    """A backend cannot be used here (for example kind without Docker), or it failed to start."""


# ------------------------------------------------------------------------------------------------ registry

_registry: dict[str, tuple[Cluster, str]] = {}
_lock = threading.RLock()


def _config_path(config: str | os.PathLike[str] | dict[str, Any] | None) -> Path | None:
    """A kind cluster config as a file: paths pass through; YAML text or a dict is written to a temp file."""
    if config is None:
        return None
    if isinstance(config, dict):
        text = yaml.safe_dump(config, sort_keys=False)
    elif isinstance(config, str) and "\n" in config:
        text = config
    else:
        path = Path(config).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"cluster config {str(path)!r} not found")
        return path.resolve()
    fd, name = tempfile.mkstemp(prefix="kubelab-cluster-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(name)


def _signature(backend: str, config: Path | None, kubeconfig: Path, lab: LabConfig | None,
               runtime: str | None = None) -> str:
    """What decides whether a running cluster can be reused: backend, config content, kubeconfig, lab, runtime."""
    content = config.read_text(encoding="utf-8") if config is not None else ""
    raw = repr((backend, content, str(kubeconfig), repr(lab), runtime))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _forget(name: str, cluster: Cluster) -> None:
    with _lock:
        entry = _registry.get(name)
        if entry is not None and entry[0] is cluster:
            del _registry[name]


def running() -> dict[str, Cluster]:
    """The clusters this process created and has not deleted, by name."""
    with _lock:
        return {name: c for name, (c, _) in _registry.items()}


@atexit.register
def _stop_embedded_at_exit() -> None:
    """Embedded clusters die with the kernel: drop their contexts so kubectl is not left pointing at dead ports."""
    for cluster in list(running().values()):
        if cluster.backend == "embedded":
            with contextlib.suppress(Exception):
                cluster.delete_cluster()


def _on_sigterm(signum: int, frame: Any) -> None:
    """A kernel stopped with SIGTERM (Jupyter's shutdown fallback) skips atexit: stop the clusters first, then
    die of the signal as before."""
    _stop_embedded_at_exit()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _guard_sigterm() -> None:
    """Install ``_on_sigterm`` when nothing else handles SIGTERM (main thread only), so process clusters do
    not leave container processes behind when the kernel is terminated."""
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)


# ------------------------------------------------------------------------------------------------ kind


def kind_unavailable_reason() -> str | None:
    """Why the kind backend cannot run here, or ``None`` when ``kind`` and a working Docker are available."""
    hint = 'backend="embedded" runs the whole control plane in this process and needs no Docker.'
    if shutil.which("docker") is None:
        return f"Docker is not installed (no `docker` on PATH), and kind runs its nodes in Docker. {hint}"
    if shutil.which("kind") is None:
        return f"the `kind` binary is not on PATH (see https://kind.sigs.k8s.io). {hint}"
    try:
        p = subprocess.run([str(shutil.which("docker")), "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`docker info` failed ({e}): Docker is not usable. {hint}"
    if p.returncode != 0:
        return f"`docker info` failed: the Docker daemon is not reachable ({p.stderr.strip()[:200]}). {hint}"
    return None


def _kind(args: list[str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kind")
    if binary is None:
        raise BackendError("the `kind` binary is not on PATH")
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BackendError(f"kind {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def _create_kind(name: str, config: Path | None, kubeconfig: Path) -> Cluster:
    reason = kind_unavailable_reason()
    if reason is not None:
        raise BackendError(f"cannot use the kind backend: {reason}")
    args = ["create", "cluster", "--name", name]
    if config is not None:
        args += ["--config", str(config)]
    args += ["--kubeconfig", str(kubeconfig)]
    _kind(args)

    def delete() -> None:
        _kind(["delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)])

    cluster = connect(context=f"kind-{name}", kubeconfig=kubeconfig)
    cluster._set_backend("kind", name, on_delete=delete)
    return cluster


# ------------------------------------------------------------------------------------------------ embedded


def _create_embedded(name: str, config: Path | None, kubeconfig: Path, lab: LabConfig | None,
                     runtime: str = "simulated") -> Cluster:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig

    cfg = ServerConfig(name=name, cluster_config=config, control_plane=True, lab=lab or LabConfig(),
                       runtime=runtime)
    server = EmbeddedServer(cfg).start()
    if runtime == "process":
        _guard_sigterm()
    context = f"kubelab-{name}"
    try:
        kc.write_context(kubeconfig, context, server.url, server.pki.ca_cert_pem, server.pki.admin_cert_pem,
                         server.pki.admin_key_pem)
    except BaseException:
        server.stop()
        raise

    def delete() -> None:
        server.stop()
        kc.remove_context(kubeconfig, context)

    cluster = connect(context=context, kubeconfig=kubeconfig)
    cluster._set_backend("embedded", name, on_delete=delete, server=server)
    return cluster


def _alive(cluster: Cluster) -> bool:
    server = cluster.server
    if server is None:
        return True
    thread = getattr(server, "_thread", None)
    return thread is not None and thread.is_alive()


# ------------------------------------------------------------------------------------------------ public


def create_cluster(name: str = "local", config: str | os.PathLike[str] | dict[str, Any] | None = None,
                   backend: str = "embedded", kubeconfig: str | os.PathLike[str] | None = None,
                   lab: LabConfig | None = None, runtime: str | None = None) -> Cluster:
    """Create (or reuse) cluster ``name``; ``config`` is a kind cluster config (path, YAML text or dict).

    ``runtime`` (embedded only): ``"process"`` runs pods as local processes, ``"simulated"`` plays them on the
    clock; None picks the process runtime when it can run here, else the simulated one (printing why)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "kind" if kind_unavailable_reason() is None else "embedded"
    if backend == "kind" and runtime is not None:
        raise ValueError("runtime= applies to embedded clusters only: kind's nodes run containerd")
    path = Path(kubeconfig).expanduser() if kubeconfig is not None else kc.default_path()
    cfg = _config_path(config)
    if backend == "embedded":
        from kubelab.backends.runtimes import choose_runtime

        runtime = choose_runtime(runtime, note=lambda text: print(text, file=sys.stderr))
    sig = _signature(backend, cfg, path, lab, runtime)
    with _lock:
        entry = _registry.get(name)
        if entry is not None:
            old, old_sig = entry
            if old_sig == sig and _alive(old):
                return old
            old.delete_cluster()  # a changed config (or a dead server): start fresh
        if backend == "kind":
            cluster = _create_kind(name, cfg, path)
        else:
            cluster = _create_embedded(name, cfg, path, lab, runtime or "simulated")
        cluster._registry_forget = lambda: _forget(name, cluster)
        _registry[name] = (cluster, sig)
        return cluster


def connect(context: str | None = None, kubeconfig: str | os.PathLike[str] | None = None) -> Cluster:
    """A ``Cluster`` for an existing kubeconfig context (the current one when ``context`` is None)."""
    from kubernetes import config as kconfig

    path: Path | None = Path(kubeconfig).expanduser() if kubeconfig is not None else None
    if path is None and len([e for e in os.environ.get("KUBECONFIG", "").split(os.pathsep) if e.strip()]) <= 1:
        path = kc.default_path()
    if path is not None:
        data = kc.read(path)
        names = [str(c.get("name")) for c in data["contexts"] if isinstance(c, dict)]
        current_name = str(data.get("current-context") or "")
    else:  # several files in $KUBECONFIG: the official loader merges them
        contexts, current = kconfig.list_kube_config_contexts()
        names = [str(c["name"]) for c in contexts]
        current_name = str((current or {}).get("name") or "")
    if context is None:
        if not current_name:
            raise ValueError(f"{path or '$KUBECONFIG'} has no current context; pass context=")
        context = current_name
    if context not in names:
        raise ValueError(f"context {context!r} not found in {path or '$KUBECONFIG'}; known: {', '.join(names)}")
    api_client = kconfig.new_client_from_config(config_file=str(path) if path else None, context=context)
    return Cluster(api_client=api_client, context=context, kubeconfig=path)
