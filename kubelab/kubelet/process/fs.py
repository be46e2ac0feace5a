"""A container's filesystem view without privileges: proot bind mounts over the host's root.

Mirrors what runc does with the OCI spec's ``mounts`` (bind each CRI Mount's host path at its container path)
and ``process.cwd``, but with proot (ptrace-based path translation) instead of mount namespaces, so it works
for an unprivileged user with no Docker. The root filesystem is a directory of the container's own (private
/tmp and /root) into which the host's top-level directories are bound: a container sees the host's /usr,
/etc... with the pod's volumes, /etc/hosts and /etc/resolv.conf bound on top. Mount points are faked: /data
never appears on the host (proot's placeholder for it lives in the container's rootfs). A missing mount point
*nested* in a host directory (a configMap at /etc/config) is, when the user may write there (root), an empty
placeholder directory on the host while proot runs, removed when it exits; unprivileged, proot keeps it in its
own temporary directory. proot itself is never SIGKILLed first (its tracees are), so it always cleans up.

What is simplified, and why:

* read-only mounts are not enforced (proot has no read-only bind): ``readOnly: true`` volumes are writable;
* proot 5.1 (Debian/Ubuntu) does not translate the paths of newer syscalls (statx, faccessat2, openat2,
  fchmodat2) and may lose clone3 children, so the child gets a seccomp filter that answers them ENOSYS: glibc
  then falls back to the older calls, which proot does translate (without it ``ls -l /data`` fails);
* memory limits are a per-process RLIMIT_DATA (heap and private mappings), not a cgroup: an allocation over
  the limit fails (MemoryError, "out of memory") instead of the container being OOMKilled with exit 137;
* no PID, network, UTS or user namespace (see ``kubelab.kubelet.process.runtime``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kubelab.kubelet.runtime import Mount

PROOT = "/usr/bin/proot"  # tests monkeypatch this to check the "proot missing" path
SETPRIV = "/usr/bin/setpriv"  # util-linux: gives the container's main process PDEATHSIG (optional)
BUSYBOX = "/usr/bin/busybox"
BIN_MOUNT = "/.kubelab/bin"  # where a profile's helper bin dir (busybox applets, python) appears in the container
# proot's exit status is that of the last tracee that *exited* (a main process killed by a signal after any child
# exited normally reads as that child's status), so proot runs verbose with its notices on a stderr of their own
# ("pid N: exited with status S", "pid N: terminated with signal S"): ProcGroup reads the main process's fate
# there. The container's own stderr is handed down on another fd, which this wrapper (run first, under proot,
# then exec'd away: the main process keeps its pid) puts back at fd 2. ``{fd}`` is filled in by ProcGroup.
STDERR_WRAPPER = 'exec 2>&{fd} {fd}>&-; exec "$@"'

_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 1, 38, 22
_SECCOMP_MODE_FILTER = 2
# (audit arch, syscalls answered ENOSYS): statx, faccessat2, openat2, clone3, fchmodat2
_FILTERED = {"x86_64": (0xC000003E, (332, 439, 437, 435, 452)),
             "aarch64": (0xC00000B7, (291, 439, 437, 435, 452))}


def unavailable_reason() -> str | None:
    """Why containers cannot run here (None when they can)."""
    if not sys.platform.startswith("linux"):
        return f"the process runtime needs Linux (this is {sys.platform})"
    if not (os.path.isfile(PROOT) and os.access(PROOT, os.X_OK)):
        return (f"proot is not installed ({PROOT} not found): run `bash scripts/setup.sh` or "
                "`apt-get install proot`")
    return None


# ------------------------------------------------------------------------------------------------ rootfs
PRIVATE = {"tmp": 0o1777, "root": 0o700}  # a container's own /tmp and /root, in its rootfs dir


def make_rootfs(rootfs: Path) -> list[Mount]:
    """The container's root: a directory of its own holding the host's top-level symlinks (/bin -> usr/bin) and
    private /tmp and /root; every other top-level host entry is bound into it (``proot_argv``). proot creates
    placeholders for mount points that do not exist (as root: in the rootfs; /data never appears on the host).
    Returns the private dirs as mounts, for resolving container paths on the host."""
    rootfs.mkdir(parents=True, exist_ok=True)
    for name in os.listdir("/"):
        if name in PRIVATE:
            (rootfs / name).mkdir(mode=PRIVATE[name], exist_ok=True)
            os.chmod(rootfs / name, PRIVATE[name])
        elif os.path.islink("/" + name) and not os.path.lexists(rootfs / name):
            os.symlink(os.readlink("/" + name), rootfs / name)
    return [Mount("/" + name, str(rootfs / name)) for name in PRIVATE]


def make_mount_points(rootfs: Path, mounts: Sequence[Mount]) -> None:
    """Mount points outside the host's top-level entries (/data, /.kubelab/bin), made in the rootfs before any
    proot runs there. proot removes the placeholders it made itself when it exits: an exec'd process's proot
    that made one first would take it away from under the container (its next ``exec`` of a tool then fails
    with ENOENT)."""
    for m in mounts:
        rel = os.path.normpath(m.container_path).lstrip("/")
        top = rel.split("/", 1)[0]
        if not rel or top in PRIVATE or os.path.lexists("/" + top):
            continue  # a host entry (proot binds it) or the container's own /tmp, /root
        target = rootfs / rel
        try:
            if os.path.isdir(m.host_path) or not os.path.exists(m.host_path):
                target.mkdir(parents=True, exist_ok=True)
            elif not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
        except OSError:
            pass  # proot makes it then


def _host_binds(mounts: Sequence[Mount]) -> list[str]:
    taken = {os.path.normpath(m.container_path) for m in mounts}
    out = []
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name in PRIVATE or path in taken or os.path.islink(path) or name.startswith(".kubelab"):
            continue
        out += ["-b", path]
    return out


# ------------------------------------------------------------------------------------------------ proot argv
def proot_argv(mounts: Sequence[Mount], cwd: str, argv: Sequence[str], *, rootfs: str,
               bin_dir: str = "") -> list[str]:
    """``proot [-v 1] -r rootfs -b /usr ... -b host:container ... -w cwd [busybox sh -c STDERR_WRAPPER sh]
    [setpriv --pdeathsig KILL --] argv`` (the wrapper when busybox is there, see ``STDERR_WRAPPER``)."""
    notices = os.path.isfile(BUSYBOX)
    out = [PROOT, *(["-v", "1"] if notices else []), "-r", rootfs, *_host_binds(mounts)]
    if bin_dir:
        out += ["-b", f"{bin_dir}:{BIN_MOUNT}"]
    for m in mounts:
        out += ["-b", f"{m.host_path}:{m.container_path}"]
    out += ["-w", cwd or "/"]
    if notices:
        out += [BUSYBOX, "sh", "-c", STDERR_WRAPPER, "sh"]
    if os.path.isfile(SETPRIV):
        # the main process dies with proot (proot does not kill its tracees when it is SIGKILLed itself)
        out += [SETPRIV, "--pdeathsig", "KILL", "--"]
    return out + list(argv)


def to_host(mounts: Sequence[Mount], path: str) -> str:
    """The host path behind a container path: the deepest mount that contains it, else the host's own."""
    path = os.path.normpath("/" + path.lstrip("/"))
    best: Mount | None = None
    for m in mounts:
        cp = os.path.normpath(m.container_path)
        if (path == cp or path.startswith(cp.rstrip("/") + "/")) and (best is None or len(cp) > len(
                os.path.normpath(best.container_path))):
            best = m
    if best is None:
        return path
    rest = os.path.relpath(path, os.path.normpath(best.container_path))
    return best.host_path if rest == "." else os.path.join(best.host_path, rest)


def which(cmd: str, path_env: str, mounts: Sequence[Mount], bin_dir: str = "") -> str | None:
    """Resolve argv[0] as execvp would, in the container's view (None: "executable file not found")."""
    view = [*mounts, Mount(BIN_MOUNT, bin_dir)] if bin_dir else list(mounts)
    if "/" in cmd:
        host = to_host(view, cmd)
        return cmd if os.path.isfile(host) and os.access(host, os.X_OK) else None
    for d in path_env.split(":"):
        if not d:
            continue
        host = to_host(view, os.path.join(d, cmd))
        if os.path.isfile(host) and os.access(host, os.X_OK):
            return os.path.join(d, cmd)
    return None


# ------------------------------------------------------------------------------------------------ bin dirs
def build_bin_dirs(root: Path) -> dict[str, str]:
    """Helper bin dirs, built once per runtime: "busybox" (a symlink per ``busybox --list`` applet) and
    "python" (python3/python pointing at the host interpreter). Missing tools leave a dir empty: the host's
    PATH entries come next, so the host tools are the fallback."""
    dirs = {"busybox": root / "bin" / "busybox", "python": root / "bin" / "python"}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    if os.path.isfile(BUSYBOX):
        try:
            applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, timeout=10).stdout.split()
        except (OSError, subprocess.SubprocessError):
            applets = []
        for a in applets:
            if "/" not in a:
                _symlink(BUSYBOX, dirs["busybox"] / a)
    py = host_python()
    for name in ("python3", "python"):
        _symlink(py, dirs["python"] / name)
    return {k: str(v) for k, v in dirs.items()}


def host_python() -> str:
    for p in ("/usr/local/bin/python3", "/usr/bin/python3"):
        if os.path.isfile(p):
            return p
    return os.path.realpath(sys.executable)


def _symlink(target: str, link: Path) -> None:
    try:
        if link.is_symlink() and os.readlink(link) == target:
            return
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    except OSError:
        pass


# ------------------------------------------------------------------------------------------------ the child
def _seccomp_program() -> bytes:
    arch, nrs = _FILTERED.get(platform.machine(), (0, ()))
    if not nrs:
        return b""

    def ins(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)
    ld_abs, jeq, ret = 0x20, 0x15, 0x06
    allow, enosys = 0x7FFF0000, 0x00050000 | errno.ENOSYS
    prog = ins(ld_abs, 0, 0, 4) + ins(jeq, 1, 0, arch) + ins(ret, 0, 0, allow) + ins(ld_abs, 0, 0, 0)
    for nr in nrs:
        prog += ins(jeq, 0, 1, nr) + ins(ret, 0, 0, enosys)
    return prog + ins(ret, 0, 0, allow)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PROG = _seccomp_program()
_PROG_BUF = ctypes.create_string_buffer(_PROG, len(_PROG) or 1)
_FPROG = _SockFprog(len(_PROG) // 8, ctypes.addressof(_PROG_BUF))
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def child_setup(*, memory_limit: int | None, tty: bool) -> Callable[[], None]:
    """The preexec_fn run in the forked child (after setsid): die with the parent thread (PDEATHSIG), the
    seccomp filter above, RLIMIT_DATA, and for a tty the pty as controlling terminal. Everything it needs is
    prepared here, so the child only makes system calls."""
    parent = os.getpid()

    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before PDEATHSIG was armed
                os._exit(137)
            if _PROG:
                _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
                _LIBC.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_FPROG), 0, 0)
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_DATA, (memory_limit, memory_limit))
        if tty:
            import fcntl
            import termios
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return setup
