"""The ``kubelab`` command: start, stop and list embedded clusters, and open the lab.

``kubelab up`` runs an embedded cluster in the foreground (Ctrl+C stops it) or, with ``--detach``, in a
background process that outlives the command, as ``kind create cluster`` leaves its containers running. Either
way it writes the context ``kubelab-<name>`` into the kubeconfig, so plain
``kubectl --context kubelab-<name>`` works.

Each running cluster has, under ``$KUBELAB_HOME/clusters`` (default ``~/.kubelab/clusters``, mode 0700):
- ``<name>.json`` (0600): pid, url, kubeconfig path, context, start time, CA certificate and admin token;
- ``<name>.lock``: held (``fcntl.flock``) by the serving process for its whole life, so "is it running?" does
  not depend on pids, which the OS reuses; ``down`` signals a pid only while its lock is held;
- ``<name>.log``: output of a detached server.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import errno
import fcntl
import importlib.util
import inspect
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, cast

from kubelab import __version__, kubeconfig

DEFAULT_NAME = "local"
DETACH_TIMEOUT = 30.0
DOWN_TIMEOUT = 10.0
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# ------------------------------------------------------------------------------------------------ backend


class _PKI(Protocol):
    ca_cert_pem: bytes
    admin_cert_pem: bytes
    admin_key_pem: bytes


class _Server(Protocol):
    url: str
    pki: _PKI
    token: str

    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def wait(self) -> None: ...


def load_backend() -> tuple[Callable[..., _Server], Callable[..., Any]]:  # (server class, config class)
    """``(EmbeddedServer, ServerConfig)``; imported lazily so ``kubelab status``/``down`` stay fast."""
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig

    return cast("Callable[..., _Server]", EmbeddedServer), ServerConfig


# ------------------------------------------------------------------------------------------------ state


def kubelab_home() -> Path:
    home = os.environ.get("KUBELAB_HOME", "").strip()
    return Path(home).expanduser() if home else Path.home() / ".kubelab"


def clusters_dir(create: bool = False) -> Path:
    """``$KUBELAB_HOME/clusters``; with ``create``, made (with a new ``$KUBELAB_HOME``) private: mode 0700."""
    home = kubelab_home()
    d = home / "clusters"
    if create:
        if not home.exists():
            home.mkdir(parents=True, mode=0o700)
        d.mkdir(exist_ok=True, mode=0o700)
        os.chmod(d, 0o700)
    return d


def state_path(name: str) -> Path:
    return clusters_dir() / f"{name}.json"


def log_path(name: str) -> Path:
    return clusters_dir() / f"{name}.log"


def lock_path(name: str) -> Path:
    return clusters_dir() / f"{name}.lock"


def context_name(name: str) -> str:
    return f"kubelab-{name}"


@dataclass
class ClusterState:
    name: str
    pid: int
    url: str
    kubeconfig: str
    context: str
    started: str
    ca_cert_pem: str = ""
    token: str = ""
    runtime: str = ""
    marker: str = ""  # process runtime: the nodes' directory, which every container process carries

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterState:
        return cls(
            name=str(data["name"]), pid=int(data["pid"]), url=str(data["url"]),
            kubeconfig=str(data["kubeconfig"]), context=str(data["context"]), started=str(data["started"]),
            ca_cert_pem=str(data.get("ca_cert_pem", "")), token=str(data.get("token", "")),
            runtime=str(data.get("runtime", "")), marker=str(data.get("marker", "")),
        )


def read_state(name: str) -> ClusterState | None:
    """The state file of cluster ``name``, or ``None`` if there is none (or it is unreadable)."""
    try:
        data = json.loads(state_path(name).read_text(encoding="utf-8"))
        return ClusterState.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(state: ClusterState) -> Path:
    """Atomically write the state file with mode 0600 (it holds the admin token)."""
    target = clusters_dir(create=True) / f"{state.name}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{state.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(state.to_json())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def remove_state(name: str, pid: int | None = None) -> None:
    """Delete the state file; with ``pid``, only if it still belongs to that process."""
    if pid is not None:
        state = read_state(name)
        if state is not None and state.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        state_path(name).unlink()


def list_states() -> list[ClusterState]:
    d = clusters_dir()
    if not d.is_dir():
        return []
    states = []
    for p in sorted(d.glob("*.json")):
        state = read_state(p.stem)
        if state is not None:
            states.append(state)
    return states


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie waiting to be reaped counts as exited)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    # Format: "pid (comm) state ..."; comm may contain spaces and parentheses, so split after the last ')'.
    fields = stat_line.rsplit(")", 1)[-1].split()
    return not (fields and fields[0] in ("Z", "X"))


def lock_held(name: str) -> bool:
    """Whether some process holds cluster ``name``'s lock (i.e. a server for it is alive)."""
    try:
        fd = os.open(lock_path(name), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def is_running(state: ClusterState) -> bool:
    return pid_alive(state.pid) and lock_held(state.name)


@contextlib.contextmanager
def hold_cluster_lock(name: str, wait: float = 1.0) -> Iterator[bool]:
    """Take cluster ``name``'s lock for the duration; yields False if another process holds it."""
    clusters_dir(create=True)
    fd = os.open(lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    acquired = False
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                # `kubelab status` probes with a shared lock for an instant; only a real holder persists.
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        yield acquired
    finally:
        if acquired:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def probe_ready(url: str, ca_pem: str, token: str, timeout: float = 2.0) -> bool:
    """GET ``<url>/readyz`` over HTTPS, verifying the server against the cluster CA; True on 200."""
    if not ca_pem:
        return False
    try:
        ctx = ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError):
        return False
    req = urllib.request.Request(url.rstrip("/") + "/readyz")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError, ValueError):
        return False


# ------------------------------------------------------------------------------------------------ output


def _err(message: str) -> None:
    print(f"kubelab: {message}", file=sys.stderr, flush=True)


def usage_text(name: str, url: str, kubeconfig_path: Path, detached: bool) -> str:
    ctx = context_name(name)
    kc_flag = "" if kubeconfig_path == kubeconfig.default_path() else f" --kubeconfig {kubeconfig_path}"
    down = "kubelab down" + ("" if name == DEFAULT_NAME else f" --name {name}")
    lines = [
        f"Cluster '{name}' is running at {url}",
        f"Context '{ctx}' is in {kubeconfig_path} (now the current context).",
        "",
        "Try:",
        f"  kubectl{kc_flag} --context {ctx} get nodes",
        f"  kubectl{kc_flag} --context {ctx} get pods -A",
        f"  kubectl{kc_flag} --context {ctx} create deployment web --image=nginx --replicas=2",
        "",
        f"Stop it with: {down}" if detached else "Press Ctrl+C to stop it.",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ commands


def _validate_name(name: str) -> str | None:
    if not _NAME_RE.match(name):
        return (f"invalid cluster name {name!r}: use lower-case letters, digits and '-', starting and ending "
                "with a letter or digit (at most 63 characters)")
    return None


def _check_up_args(args: argparse.Namespace) -> int | None:
    """Shared validation for foreground and detached ``up``; returns an exit code on error."""
    problem = _validate_name(args.name)
    if problem:
        _err(problem)
        return 2
    if not 0 <= args.port <= 65535:
        _err(f"--port must be between 0 and 65535, not {args.port}")
        return 2
    if args.config is not None:
        cfg = Path(args.config).expanduser()
        if not cfg.is_file():
            _err(f"--config {args.config}: no such file")
            return 2
        args.config = str(cfg.resolve())
    if args.data_dir is not None:
        args.data_dir = str(Path(args.data_dir).expanduser().absolute())
        _err("note: --data-dir holds the nodes' directories; the API state is still kept in memory")
    if not getattr(args, "detached_child", False):
        from kubelab.backends.runtimes import choose_runtime

        try:
            args.runtime = choose_runtime(getattr(args, "runtime", None), note=lambda text: _err(
                text.removeprefix("kubelab: ")))
        except ValueError as exc:
            _err(str(exc))
            return 2
    args.kubeconfig = str(Path(args.kubeconfig).expanduser().absolute() if args.kubeconfig
                          else kubeconfig.default_path())
    return None


def _already_running(name: str) -> ClusterState | None:
    state = read_state(name)
    if state is not None and is_running(state):
        return state
    if state is None and lock_held(name):  # a server is starting and has not written its state yet
        return ClusterState(name=name, pid=0, url="", kubeconfig="", context=context_name(name), started="")
    return None


def _report_running(state: ClusterState) -> int:
    if state.url:
        what = f"is already running at {state.url}" + (f" (pid {state.pid})" if state.pid else "")
    else:
        what = "is already starting in another process"
    _err(f"cluster '{state.name}' {what}; stop it with: kubelab down --name {state.name}")
    return 1


def cmd_up(args: argparse.Namespace) -> int:
    code = _check_up_args(args)
    if code is not None:
        return code
    running = _already_running(args.name)
    if running is not None:
        return _report_running(running)
    if args.detach:
        return _up_detached(args)
    return _up_foreground(args)


def _up_foreground(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    name: str = args.name
    kc_path = Path(args.kubeconfig)
    ctx = context_name(name)
    with hold_cluster_lock(name) as acquired:
        if not acquired:
            return _report_running(_already_running(name) or ClusterState(
                name=name, pid=0, url="", kubeconfig="", context=ctx, started=""))
        stale = read_state(name)
        if stale is not None:
            remove_state(name)
        try:
            server_cls, config_cls = load_backend()
        except ImportError as exc:
            _err(f"the embedded backend is not available: {exc}")
            return 1
        options: dict[str, Any] = {"runtime": getattr(args, "runtime", None) or "simulated",
                                   "data_dir": Path(args.data_dir) if getattr(args, "data_dir", None) else None}
        accepted = inspect.signature(config_cls).parameters
        config = config_cls(name=name, host="127.0.0.1", port=args.port,
                            cluster_config=Path(args.config) if args.config else None,
                            **{k: v for k, v in options.items() if k in accepted})
        try:
            server = server_cls(config)
        except ValueError as exc:  # kindconfig.ConfigError: the cluster config file is not usable
            _err(str(exc))
            return 1
        ignored = getattr(getattr(server, "plan", None), "ignored", None)
        if ignored:
            _err(f"note: ignoring fields kubelab does not use: {', '.join(ignored)}")
        try:
            server.start()
        except Exception as exc:  # any start-up failure is reported to the user
            cause = f" ({type(exc.__cause__).__name__}: {exc.__cause__})" if exc.__cause__ else ""
            _err(f"cluster '{name}' failed to start: {exc}{cause}")
            with contextlib.suppress(Exception):
                server.stop()
            return 1

        stop = stop or threading.Event()
        previous = _install_stop_handlers(stop)
        written_context = False
        try:
            try:
                kubeconfig.write_context(
                    kc_path, ctx, server.url, server.pki.ca_cert_pem,
                    client_cert_pem=server.pki.admin_cert_pem, client_key_pem=server.pki.admin_key_pem,
                )
                written_context = True
            except (OSError, ValueError) as exc:
                _err(f"could not write the kubeconfig {kc_path}: {exc}")
                return 1
            write_state(ClusterState(
                name=name, pid=os.getpid(), url=server.url, kubeconfig=str(kc_path), context=ctx,
                started=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                ca_cert_pem=server.pki.ca_cert_pem.decode("ascii"), token=server.token,
                runtime=getattr(args, "runtime", None) or "simulated",
                marker=str(getattr(getattr(server, "control_plane", None), "marker", "") or ""),
            ))
            print(usage_text(name, server.url, kc_path, detached=args.detached_child), flush=True)

            def _watch_server() -> None:
                server.wait()
                stop.set()

            threading.Thread(target=_watch_server, name="kubelab-watch", daemon=True).start()
            while not stop.wait(0.5):
                pass
            print(f"\nStopping cluster '{name}'...", flush=True)
            return 0
        finally:
            with contextlib.suppress(Exception):
                server.stop()
            if written_context:
                with contextlib.suppress(OSError, ValueError):
                    kubeconfig.remove_context(kc_path, ctx)
            remove_state(name, pid=os.getpid())
            _restore_handlers(previous)


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    """SIGINT/SIGTERM/SIGHUP set ``stop``; returns the previous handlers (main thread only)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in _STOP_SIGNALS:
        previous[sig] = signal.signal(sig, _handler)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _child_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "kubelab", "up", "--name", args.name, "--port", str(args.port),
            "--kubeconfig", args.kubeconfig, "--detached-child"]
    if getattr(args, "runtime", None):
        argv += ["--runtime", args.runtime]
    if args.config:
        argv += ["--config", args.config]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    return argv


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _up_detached(args: argparse.Namespace) -> int:
    name: str = args.name
    clusters_dir(create=True)
    log = log_path(name)
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        child = subprocess.Popen(
            _child_argv(args), stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
            start_new_session=True, close_fds=True, env=env,
        )
    finally:
        os.close(log_fd)

    deadline = time.monotonic() + DETACH_TIMEOUT
    while time.monotonic() < deadline:
        rc = child.poll()
        if rc is not None:
            _err(f"cluster '{name}' failed to start (exit code {rc}); last lines of {log}:")
            print(_tail(log), file=sys.stderr, flush=True)
            return 1
        state = read_state(name)
        ready = state is not None and state.pid == child.pid and probe_ready(
            state.url, state.ca_cert_pem, state.token
        )
        if ready and state is not None:
            print(usage_text(name, state.url, Path(state.kubeconfig), detached=True), flush=True)
            return 0
        time.sleep(0.1)

    _err(f"cluster '{name}' did not become ready within {DETACH_TIMEOUT:.0f}s; last lines of {log}:")
    print(_tail(log), file=sys.stderr, flush=True)
    with contextlib.suppress(ProcessLookupError):
        child.terminate()
    try:
        child.wait(DOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    return 1


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):  # reap it if it happens to be our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return not pid_alive(pid)


def cmd_down(args: argparse.Namespace) -> int:
    name: str = args.name
    problem = _validate_name(name)
    if problem:
        _err(problem)
        return 2
    state = read_state(name)
    if state is None:
        _err(f"no cluster named '{name}' (see: kubelab status)")
        return 1
    if is_running(state):
        try:
            os.kill(state.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not _wait_gone(state.pid, DOWN_TIMEOUT):
            _err(f"cluster '{name}' (pid {state.pid}) did not stop within {DOWN_TIMEOUT:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pid, signal.SIGKILL)
            _wait_gone(state.pid, 5.0)
        if state.marker:  # container processes a killed server could not stop
            from kubelab.backends.processes import reap

            reap(state.marker)
        message = f"Cluster '{name}' stopped."
    else:
        # Never signal a pid whose lock is not held: the process is gone and the pid may belong to another.
        message = f"Cluster '{name}' was not running; removed its stale state."
    with contextlib.suppress(OSError, ValueError):
        kubeconfig.remove_context(state.kubeconfig, state.context)
    remove_state(name, pid=state.pid)
    print(message, flush=True)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    states = list_states()
    if not states:
        print("No kubelab clusters. Start one with: kubelab up")
        return 0
    rows = [("NAME", "STATUS", "URL", "CONTEXT", "PID")]
    for s in states:
        rows.append((s.name, "running" if is_running(s) else "stale", s.url, s.context, str(s.pid)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _lessons_root() -> Path | None:
    """The folder holding notebooks/ (and exercises/ beside it): the current one, else the source checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / "notebooks").is_dir():
            return base
    return None


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab on the first lesson, rooted where notebooks/ and exercises/ both are (the lessons link to
    their exercise notebooks as ../exercises/...)."""
    if importlib.util.find_spec("jupyterlab") is None:
        _err("JupyterLab is not installed: pip install jupyterlab (bash scripts/start.sh installs it and opens "
             "the lessons)")
        return 1
    root = _lessons_root()
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root or Path.cwd()}",
            "--ServerApp.ip=127.0.0.1"]
    if root is not None and (root / "notebooks" / "01-architecture.ipynb").is_file():
        argv.append("--LabApp.default_url=/lab/tree/notebooks/01-architecture.ipynb")
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 130


# ------------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubelab",
        description="A Kubernetes learning lab: an embedded cluster that real kubectl talks to.",
    )
    parser.add_argument("--version", action="version", version=f"kubelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    up = sub.add_parser("up", help="start an embedded cluster", description=(
        "Start an embedded cluster and write the context kubelab-<name> into the kubeconfig."))
    up.add_argument("--name", default=DEFAULT_NAME, help="cluster name (default: %(default)s)")
    up.add_argument("--config", metavar="FILE", help="kind cluster YAML (kind: Cluster) describing the nodes")
    up.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (default: any free port)")
    up.add_argument("--kubeconfig", metavar="PATH",
                    help="kubeconfig to write the context into (default: $KUBECONFIG or ~/.kube/config)")
    up.add_argument("--data-dir", metavar="DIR",
                    help="directory for the nodes' files (default: a temporary directory)")
    up.add_argument("--runtime", choices=["process", "simulated"], default=None,
                    help="what runs pods: local processes, or a simulation (default: process when it can run "
                         "here, else simulated)")
    up.add_argument("--detach", action="store_true", help="run in the background; return once it is ready")
    up.add_argument("--detached-child", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop a cluster started with kubelab up")
    down.add_argument("--name", default=DEFAULT_NAME, help="cluster name (default: %(default)s)")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="list clusters started with kubelab up")
    status.set_defaults(func=cmd_status)

    lab = sub.add_parser("lab", help="open JupyterLab on the lesson notebooks")
    lab.set_defaults(func=cmd_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "detached_child", False):
        args.detach = False
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
