"""The process runtime's image catalogue: what a known image runs when no image is unpacked.

A real runtime unpacks the image's layers and runs its ENTRYPOINT/CMD inside them. The process runtime has no
registry and no layers, so each known image is a *profile*: which tools its processes find on PATH (the host's
own root filesystem is the container's, see ``fs``), its default command, and, for server images, a server
the runtime itself serves on the pod IP (an asyncio server: no extra process, a few KB per pod).

===========================  ==================================  ==================================  ==========================================
image                        tools on PATH                       default command (ENTRYPOINT + CMD)   what runs
===========================  ==================================  ==================================  ==========================================
busybox                      busybox applets, then host tools    ``sh``                               the command, as a process under proot
alpine                       busybox applets, then host tools    ``/bin/sh``                          the command, as a process under proot
debian, ubuntu, bash         host shell and tools                ``bash``                             the command, as a process under proot
python                       host python3 (python, python3)      ``python3``                          the command, as a process under proot
nginx                        host tools (``:alpine``: busybox)   ``/docker-entrypoint.sh nginx -g     HTTP on <pod IP>:80 serving
                                                                 'daemon off;'``                      /usr/share/nginx/html ("Welcome to nginx!"),
                                                                                                      an access-log line per request
httpd                        host tools (``:alpine``: busybox)   ``httpd-foreground``                 HTTP on <pod IP>:80 serving
                                                                                                      /usr/local/apache2/htdocs ("It works!")
hashicorp/http-echo          host tools                          ``/http-echo`` (``-text``,           HTTP on <pod IP>:5678 (``-listen``)
                                                                 ``-listen :5678``, ``-status-code``) answering the text
traefik/whoami               host tools                          ``/whoami`` (``-port 80``)           HTTP answering hostname, IPs, request
registry.k8s.io/pause        host tools                          ``/pause``                           nothing: runs until stopped
===========================  ==================================  ==================================  ==========================================

Kubernetes' rules pick the command: ``command`` replaces the ENTRYPOINT, ``args`` the CMD, ``$(VAR)`` expands.
A server image whose command is not its server (``nginx`` with ``command: [sh, -c, ...]``) runs that command
as a process with the image's tools. A volume mounted at a server's document root is served instead of the
welcome page. Any other image (redis, postgres, your own) runs *simulated*, as the simulated runtime would.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from kubelab.kubelet import images
from kubelab.kubelet.programs import expand_kubernetes_vars

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Profile:
    repo: str  # fully qualified repository: docker.io/library/nginx
    tools: str  # "busybox" | "python" | "host": the helper bin dir first on PATH ("host": none)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    server: str = ""  # "nginx" | "httpd" | "http-echo" | "whoami" | "pause": served by the runtime
    server_commands: frozenset[str] = frozenset()  # argv[0] basenames that mean "the image's server"
    docroot: str = ""
    working_dir: str = "/"
    env: tuple[tuple[str, str], ...] = ()

    @property
    def short(self) -> str:
        return self.repo.removeprefix("docker.io/").removeprefix("library/")


@dataclass(frozen=True)
class Launch:
    """What a container runs: ``argv`` as a process, or (``server`` set) the runtime's server with ``argv[1:]``
    as its arguments."""

    argv: list[str]
    server: str = ""


def _p(repo: str, tools: str, **kw: object) -> Profile:
    return Profile(repo, tools, **kw)  # type: ignore[arg-type]


CATALOGUE: dict[str, Profile] = {p.repo: p for p in (
    _p("docker.io/library/busybox", "busybox", cmd=("sh",)),
    _p("docker.io/library/alpine", "busybox", cmd=("/bin/sh",)),
    _p("docker.io/library/debian", "host", cmd=("bash",)),
    _p("docker.io/library/ubuntu", "host", cmd=("/bin/bash",)),
    _p("docker.io/library/bash", "busybox", entrypoint=("docker-entrypoint.sh",), cmd=("bash",)),
    _p("docker.io/library/python", "python", cmd=("python3",), env=(("LANG", "C.UTF-8"),)),
    _p("docker.io/library/nginx", "host", entrypoint=("/docker-entrypoint.sh",),
       cmd=("nginx", "-g", "daemon off;"), server="nginx",
       server_commands=frozenset({"nginx", "nginx-debug"}), docroot="/usr/share/nginx/html",
       env=(("NGINX_VERSION", "1.29.3"),)),
    _p("docker.io/library/httpd", "host", cmd=("httpd-foreground",), server="httpd",
       server_commands=frozenset({"httpd-foreground", "httpd", "apachectl"}),
       docroot="/usr/local/apache2/htdocs", working_dir="/usr/local/apache2",
       env=(("HTTPD_PREFIX", "/usr/local/apache2"), ("HTTPD_VERSION", "2.4.65"))),
    _p("docker.io/hashicorp/http-echo", "host", entrypoint=("/http-echo",), server="http-echo",
       server_commands=frozenset({"http-echo"})),
    _p("docker.io/traefik/whoami", "host", entrypoint=("/whoami",), server="whoami",
       server_commands=frozenset({"whoami"})),
    _p("registry.k8s.io/pause", "host", entrypoint=("/pause",), server="pause",
       server_commands=frozenset({"pause"})),
)}
_ENTRYPOINT_SCRIPTS = frozenset({"docker-entrypoint.sh"})


def profile_for(image: str) -> Profile | None:
    """The image's profile, or None when it is not in the catalogue (it then runs simulated)."""
    try:
        ref = images.parse(image)
    except images.InvalidImageName:
        return None
    p = CATALOGUE.get(ref.name)
    if p is not None and p.tools == "host" and "alpine" in ref.tag and p.server in ("nginx", "httpd"):
        p = dataclasses.replace(p, tools="busybox")
    return p


def catalogue_names() -> list[str]:
    return [p.short for p in CATALOGUE.values()]


def launch(profile: Profile, command: list[str], args: list[str], env: dict[str, str]) -> Launch:
    """Kubernetes' command rules (command replaces ENTRYPOINT, args replace CMD, $(VAR) expanded), then: is it
    the image's server, or a process?"""
    command = [expand_kubernetes_vars(a, env) for a in command]
    args = [expand_kubernetes_vars(a, env) for a in args]
    if command:
        argv = command + args
    else:
        argv = list(profile.entrypoint) + (args if args else list(profile.cmd))
    if argv and os.path.basename(argv[0]) in _ENTRYPOINT_SCRIPTS:
        argv = argv[1:]  # the images' entrypoint scripts end with exec "$@"
    if profile.server and (not argv or os.path.basename(argv[0]) in profile.server_commands):
        return Launch(argv or [profile.server], profile.server)
    return Launch(argv)


def path_env(profile: Profile) -> str:
    from kubelab.kubelet.process.fs import BIN_MOUNT
    return HOST_PATH if profile.tools == "host" else f"{BIN_MOUNT}:{HOST_PATH}"
