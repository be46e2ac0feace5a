"""The pod's /etc/hosts and /etc/resolv.conf, kept by the kubelet in the pod's directory.

Mirrors kubelet_pods.go (``ensureHostsFile``/``managedHostsFileContent``: the "Kubernetes-managed hosts file"
with localhost lines, the pod's own ``<podIP> <hostname>`` line and hostAliases) and pkg/kubelet/network/dns
(``GetPodDNS``: the search path ``<ns>.svc.cluster.local svc.cluster.local cluster.local``, the cluster DNS
nameserver, ``ndots:5``; dnsPolicy ClusterFirst, ClusterFirstWithHostNet, Default and None, plus dnsConfig).
Both files are mounted into every container of a pod that does not use the host's network.

THIS HOSTS FILE STANDS IN FOR CoreDNS. A process cluster runs no DNS server, so the kubelet also writes one
line per Service: ``<clusterIP> <svc>.<ns>.svc.cluster.local <svc>.<ns>.svc <svc>.<ns>``, with the short name
``<svc>`` added for Services in the pod's own namespace (resolvers look a name up in /etc/hosts as written,
before any search domain), so ``wget -qO- http://web`` and ``http://web.default.svc.cluster.local`` work in a
pod as they would with cluster DNS. A headless Service maps to its ready endpoints' addresses (and
``<hostname>.<svc>.<ns>.svc.cluster.local`` for endpoints with a hostname, as StatefulSet pods have). The
kubelet watches Services and EndpointSlices (only with a real runtime) and rewrites every pod's hosts file when
they change. resolv.conf still names the kube-dns Service IP, as on a real cluster, followed by the machine's
own nameservers so names outside the cluster resolve; ``timeout:1 attempts:1`` keeps a lookup that nobody
answers from hanging for long (without them a musl resolver waits 5s per search domain).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubelab.client import Client
from kubelab.client.informer import Informer
from kubelab.kubelet.runtime import Mount

log = logging.getLogger(__name__)
Obj = dict[str, Any]

CLUSTER_DOMAIN = "cluster.local"
DEFAULT_CLUSTER_DNS = "10.96.0.10"  # kind's --cluster-dns, used until the kube-dns Service is seen
SLICES = "endpointslices.discovery.k8s.io"
MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
SERVICES_HEADER = ("\n# Services (kubelab: no cluster DNS server runs in this lab, so these lines stand in for "
                   "CoreDNS).\n")
_LOCALHOST = ("127.0.0.1\tlocalhost\n"
              "::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\n"
              "fe00::0\tip6-mcastprefix\n"
              "fe00::1\tip6-allnodes\n"
              "fe00::2\tip6-allrouters\n")
MAX_NAMESERVERS, MAX_SEARCH = 3, 32


# ------------------------------------------------------------------------------------------------ content
def pod_hostname(pod: Obj) -> tuple[str, str]:
    """(hostname, domain): spec.hostname or the pod name (at most 63 characters); the domain when
    spec.subdomain is set."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    host = (spec.get("hostname") or meta.get("name") or "")[:63].rstrip("-.")
    ns = meta.get("namespace") or "default"
    domain = f"{spec['subdomain']}.{ns}.svc.{CLUSTER_DOMAIN}" if spec.get("subdomain") else ""
    return host, domain


def hosts_content(pod: Obj, pod_ips: list[str], service_lines: list[str]) -> str:
    """managedHostsFileContent, then the Services section (see the module docstring)."""
    host, domain = pod_hostname(pod)
    out = [MANAGED_HEADER, _LOCALHOST]
    for ip in pod_ips:
        out.append(f"{ip}\t{host}.{domain}\t{host}\n" if domain else f"{ip}\t{host}\n")
    aliases = (pod.get("spec") or {}).get("hostAliases") or []
    if aliases:
        out.append("\n# Entries added by HostAliases.\n")
        for a in aliases:
            out.append(f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or []) + "\n")
    if service_lines:
        out.append(SERVICES_HEADER)
        out.extend(line + "\n" for line in service_lines)
    return "".join(out)


def service_lines(services: list[Obj], ready_ips: dict[tuple[str, str], list[tuple[str, str]]],
                  namespace: str) -> list[str]:
    """Hosts lines for ``services``; ``ready_ips`` maps (ns, headless service) to its ready (ip, hostname)."""
    out = []
    for svc in sorted(services, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])):
        meta, spec = svc["metadata"], svc.get("spec") or {}
        ns, name = meta.get("namespace") or "default", meta["name"]
        fqdn = f"{name}.{ns}.svc.{CLUSTER_DOMAIN}"
        names = [fqdn, f"{name}.{ns}.svc", f"{name}.{ns}"] + ([name] if ns == namespace else [])
        if spec.get("type") == "ExternalName":
            continue  # a CNAME: not expressible in a hosts file
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            out.append(f"{ip}\t" + " ".join(names))
            continue
        for addr, hostname in ready_ips.get((ns, name), []):
            out.append(f"{addr}\t" + " ".join(names))
            if hostname:
                out.append(f"{addr}\t{hostname}.{fqdn}")
    return out


def host_resolv_conf(path: str = "/etc/resolv.conf") -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search, options) of the machine, as the kubelet's --resolv-conf reads them."""
    ns: list[str] = []
    search: list[str] = []
    opts: list[str] = []
    try:
        text = Path(path).read_text()
    except OSError:
        return ns, search, opts
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            ns.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            opts += words[1:]
    return ns, search, opts


def resolv_conf(pod: Obj, cluster_dns: str, host: tuple[list[str], list[str], list[str]]) -> str:
    """GetPodDNS for ``pod`` as resolv.conf text."""
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_ns, host_search, host_opts = host
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"  # ClusterFirst falls back to the node's DNS for host-network pods
    servers: list[str] = []
    search: list[str] = []
    opts: list[str] = []
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [cluster_dns] + [s for s in host_ns if s != cluster_dns]
        search = [f"{ns}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN] + host_search
        opts = ["ndots:5", "timeout:1", "attempts:1"]
    elif policy == "Default":
        servers, search, opts = list(host_ns), list(host_search), list(host_opts)
    cfg = spec.get("dnsConfig") or {}
    servers += [s for s in cfg.get("nameservers") or [] if s not in servers]
    search += [s for s in cfg.get("searches") or [] if s not in search]
    for o in cfg.get("options") or []:
        name = o.get("name", "")
        opts = [x for x in opts if x.split(":")[0] != name]
        opts.append(f"{name}:{o['value']}" if o.get("value") is not None else name)
    lines = []
    if search:
        lines.append("search " + " ".join(search[:MAX_SEARCH]))
    lines += [f"nameserver {s}" for s in servers[:MAX_NAMESERVERS]]
    if opts:
        lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write in place (a bind mount of the file keeps seeing it); False when it already says ``text``."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return True


# ------------------------------------------------------------------------------------------------ the manager
class PodDNSFiles:
    """The kubelet's part: Services and EndpointSlices from two informers (started only for a real runtime),
    each pod's two files in its directory, and their mounts. ``on_change`` is called once per loop turn after a
    change that may alter hosts files."""

    def __init__(self, client: Client, pod_dir: Callable[[str], Path], on_change: Callable[[], None]) -> None:
        self.client = client
        self.pod_dir = pod_dir
        self._on_change = on_change
        self.services: Informer | None = None
        self.slices: Informer | None = None
        self._pending = False
        self._cache: list[Obj] | None = None
        self._ready: dict[tuple[str, str], list[tuple[str, str]]] | None = None
        self._lines: dict[str, list[str]] = {}  # namespace -> hosts lines, until the next change
        self.host_dns: tuple[list[str], list[str], list[str]] = ([], [], [])

    def start(self) -> None:
        self.host_dns = host_resolv_conf()
        self.services, self.slices = Informer(self.client, "services"), Informer(self.client, SLICES)
        for inf in (self.services, self.slices):
            inf.add_handler(lambda o: self._changed(), self._changed_if, lambda o: self._changed())
            inf.start()

    def stop(self) -> None:
        for inf in (self.services, self.slices):
            if inf is not None:
                inf.stop()
        self.services = self.slices = None
        self._cache = self._ready = None
        self._lines = {}

    def _changed_if(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec") or old.get("endpoints") != new.get("endpoints"):
            self._changed()

    def _changed(self) -> None:
        self._cache = self._ready = None
        self._lines = {}
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._pending = False
        try:
            self._on_change()
        except Exception:
            log.exception("rewriting hosts files failed")

    def cluster_dns(self) -> str:
        svc = self.services.get("kube-dns", "kube-system") if self.services is not None else None
        ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        return ip if ip and ip != "None" else DEFAULT_CLUSTER_DNS

    def lines(self, namespace: str) -> list[str]:
        if self.services is None or self.slices is None:
            return []
        if namespace in self._lines:
            return self._lines[namespace]
        if self._cache is None:
            self._cache = self.services.list()
        if self._ready is None:
            self._ready = {}
            headless = {(s["metadata"].get("namespace"), s["metadata"]["name"]) for s in self._cache
                        if (s.get("spec") or {}).get("clusterIP") == "None"}
            for sl in self.slices.list():
                key = (sl["metadata"].get("namespace") or "default",
                       (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name", ""))
                if key not in headless:
                    continue
                for ep in sl.get("endpoints") or []:
                    if (ep.get("conditions") or {}).get("ready") is False:
                        continue
                    for addr in ep.get("addresses") or []:
                        self._ready.setdefault(key, []).append((addr, ep.get("hostname") or ""))
        out = self._lines[namespace] = service_lines(self._cache, self._ready, namespace)
        return out

    def write(self, pod: Obj, key: str, pod_ip: str) -> None:
        """Write (or rewrite) the pod's hosts and resolv.conf files."""
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        d = self.pod_dir(key)
        write_if_changed(d / "etc-hosts", hosts_content(pod, [pod_ip], self.lines(ns)))
        write_if_changed(d / "resolv.conf", resolv_conf(pod, self.cluster_dns(), self.host_dns))

    def mounts(self, key: str, container: Obj) -> list[Mount]:
        """/etc/hosts and /etc/resolv.conf for one container, unless it mounts its own there."""
        taken = {m.get("mountPath") for m in container.get("volumeMounts") or []}
        d = self.pod_dir(key)
        return [Mount(path, str(d / name)) for path, name in (("/etc/hosts", "etc-hosts"),
                                                              ("/etc/resolv.conf", "resolv.conf"))
                if path not in taken]
