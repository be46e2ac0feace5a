"""Reading and merging kubeconfig files, the way ``kind`` and ``kubectl config`` do.

``write_context`` adds (or replaces) one cluster, one user and one context, all with the same name (for
example ``kubelab-local``), and leaves every other entry of the file untouched. Credentials are embedded as
``*-data`` base64 fields, so the file is self-contained.

Safety:
- the file is always mode 0600 (it holds private keys and tokens); a pre-existing file with a looser mode is
  tightened and a warning is logged;
- writes are atomic (a temporary file in the same directory, then ``os.replace``), so readers never see half a
  file; a symlinked kubeconfig is followed and its target replaced;
- concurrent writers serialize on an ``fcntl`` lock on a private sidecar file (``.<name>.kubelab-lock``),
  and while writing we also hold client-go's own ``<file>.lock`` (created with O_EXCL, as
  ``kubectl config`` does), so kubectl and kubelab do not overwrite each other's changes.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_CLIENT_GO_LOCK_WAIT = 3.0  # seconds to wait for a concurrent kubectl to release <file>.lock


def default_path() -> Path:
    """The kubeconfig kubectl would write to: the first entry of ``$KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    for entry in env.split(os.pathsep):
        if entry.strip():
            return Path(entry.strip()).expanduser()
    return Path.home() / ".kube" / "config"


def empty_config() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "users": [],
        "contexts": [],
        "current-context": "",
    }


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a kubeconfig (YAML or JSON). A missing or empty file gives an empty config.

    Raises ``ValueError`` if the file is not a mapping (so callers never overwrite a file they cannot read).
    """
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_config()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not a valid kubeconfig: {exc}") from exc
    if data is None:
        return empty_config()
    if not isinstance(data, dict):
        raise ValueError(f"{p}: not a valid kubeconfig (top level is {type(data).__name__}, not a mapping)")
    config = empty_config()
    config.update(data)
    for key in ("clusters", "users", "contexts"):
        if config.get(key) is None:
            config[key] = []
        elif not isinstance(config[key], list):
            raise ValueError(f"{p}: not a valid kubeconfig ({key!r} is not a list)")
    if config.get("current-context") is None:
        config["current-context"] = ""
    return config


def _b64(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def _upsert(entries: list[Any], name: str, key: str, value: dict[str, Any]) -> None:
    """Replace the entry named ``name`` in a kubeconfig list (keeping its position), or append it."""
    new = {"name": name, key: value}
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("name") == name:
            entries[i] = new
            return
    entries.append(new)


def _drop(entries: list[Any], name: str) -> tuple[list[Any], bool]:
    kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
    return kept, len(kept) != len(entries)


def write_context(
    path: str | os.PathLike[str],
    name: str,
    server: str,
    ca_pem: bytes | str,
    client_cert_pem: bytes | str | None = None,
    client_key_pem: bytes | str | None = None,
    token: str | None = None,
    namespace: str | None = None,
    set_current: bool = True,
) -> Path:
    """Merge cluster, user and context ``name`` into the kubeconfig at ``path``; returns the file written.

    The file and its directory are created if needed. Other clusters, users and contexts are kept as they are.
    """
    if not name:
        raise ValueError("context name must not be empty")
    if (client_cert_pem is None) != (client_key_pem is None):
        raise ValueError("client_cert_pem and client_key_pem go together")
    cluster: dict[str, Any] = {"server": server, "certificate-authority-data": _b64(ca_pem)}
    user: dict[str, Any] = {}
    if client_cert_pem is not None and client_key_pem is not None:
        user["client-certificate-data"] = _b64(client_cert_pem)
        user["client-key-data"] = _b64(client_key_pem)
    if token:
        user["token"] = token
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace

    target = _resolve(path)
    with _locked(target):
        config = read(target)
        _upsert(config["clusters"], name, "cluster", cluster)
        _upsert(config["users"], name, "user", user)
        _upsert(config["contexts"], name, "context", context)
        if set_current or not config.get("current-context"):
            config["current-context"] = name
        _atomic_write(target, config)
    return target


def remove_context(path: str | os.PathLike[str], name: str) -> bool:
    """Remove cluster, user and context ``name``; clears ``current-context`` if it pointed there.

    Returns whether anything was removed. A missing file is left missing.
    """
    target = _resolve(path)
    if not target.exists():
        return False
    with _locked(target):
        config = read(target)
        changed = False
        for key in ("clusters", "users", "contexts"):
            config[key], dropped = _drop(config[key], name)
            changed = changed or dropped
        if config.get("current-context") == name:
            config["current-context"] = ""
            changed = True
        if changed:
            _atomic_write(target, config)
    return changed


def context_names(path: str | os.PathLike[str]) -> list[str]:
    """Names of the contexts in the kubeconfig at ``path``."""
    return [str(c["name"]) for c in read(path)["contexts"] if isinstance(c, dict) and "name" in c]


# ------------------------------------------------------------------------------------------------ internals


def _resolve(path: str | os.PathLike[str]) -> Path:
    """Absolute path with symlinks followed, so the atomic replace updates the link's target."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _ensure_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(parents=True, mode=DIR_MODE)


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Serialize writers: our fcntl lock (blocking), then client-go's ``<file>.lock`` (best effort)."""
    _ensure_dir(target.parent)
    lock_path = target.with_name(f".{target.name}.kubelab-lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with _client_go_lock(target):
            yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def _client_go_lock(target: Path) -> Iterator[None]:
    """Hold ``<file>.lock`` as client-go's clientcmd.ModifyConfig does (O_EXCL create, remove when done).

    If another process keeps it for longer than a few seconds (or left it behind), go on without it rather
    than failing; kubectl itself would refuse to write until that stale file is removed.
    """
    lock_path = target.with_name(target.name + ".lock")
    deadline = time.monotonic() + _CLIENT_GO_LOCK_WAIT
    fd: int | None = None
    while True:
        try:
            fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            break
        except FileExistsError:
            if time.monotonic() >= deadline:
                log.warning("%s exists (held by another kubectl, or stale); writing %s anyway",
                            lock_path, target)
                break
            time.sleep(0.05)
        except OSError:
            break  # e.g. read-only directory: the write below reports the real problem
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)


def _atomic_write(target: Path, config: dict[str, Any]) -> None:
    """Write ``config`` as YAML to a 0600 temporary file next to ``target`` and move it into place."""
    try:
        old_mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        old_mode = None
    if old_mode is not None and old_mode != FILE_MODE:
        log.warning("%s had mode %o; setting it to 0600 (it holds credentials)", target, old_mode)
    text = yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
