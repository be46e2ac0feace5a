"""Clusters and kubeconfig: a kubeconfig file of your own, contexts, namespaces, cluster-info, nodes by role.

The kubeconfig exercises work on the file ``practice.kubeconfig`` in the exercises folder
(:func:`kubelab.exercises.workdir`), so the learner's real ``~/.kube/config`` is never at risk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kubelab.exercises.model import Unmet, exercise
from kubelab.exercises.view import View, is_control_plane, workdir

FILE = "practice.kubeconfig"
_HIDDEN = ("DATA+OMITTED", "REDACTED")


def practice_file() -> Path:
    return workdir() / FILE


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise Unmet(f"the file {path} does not exist yet")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise Unmet(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("kind") != "Config":
        raise Unmet(f"{path} is not a kubeconfig (no 'kind: Config' mapping)")
    return data


def _entry(data: dict[str, Any], section: str, name: str) -> dict[str, Any] | None:
    for item in data.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            return dict(item.get(section[:-1]) or {})
    return None


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def _resolve_context(data: dict[str, Any], context: str, url: str, path: Path) -> dict[str, Any]:
    ctx = _entry(data, "contexts", context)
    if ctx is None:
        names = [c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)]
        raise Unmet(f"{path.name} has no context named {context!r} (contexts: {names or 'none'})")
    cluster = _entry(data, "clusters", str(ctx.get("cluster")))
    if cluster is None:
        raise Unmet(f"context {context!r} refers to cluster {ctx.get('cluster')!r}, which {path.name} does not define")
    if _entry(data, "users", str(ctx.get("user"))) is None:
        raise Unmet(f"context {context!r} refers to user {ctx.get('user')!r}, which {path.name} does not define")
    server = str(cluster.get("server") or "")
    if not _same_server(server, url):
        raise Unmet(f"context {context!r} points at server {server!r}; this cluster's API server is elsewhere "
                    "(kubectl cluster-info)")
    return ctx


@exercise(
    "clusters-01", "A kubeconfig file of your own",
    task="""
A kubeconfig file holds **clusters** (server URL and CA), **users** (credentials) and **contexts** (a cluster
plus a user, and maybe a namespace). Write a **self-contained kubeconfig for this cluster** to the file
**`practice.kubeconfig`** in your exercises folder (`kubelab.exercises.workdir()`; the set-up cell prints the
path as `KCFG`). It must work on its own: certificates included, a current context set.""",
    tool="lab.kubectl",
    nudge="kubectl config view prints the kubeconfig; --minify keeps only the current context, and "
          "--flatten (or --raw) includes the certificate data instead of DATA+OMITTED.",
    where='KCFG.write_text(lab.kubectl("config view --minify --flatten")), then '
          "%kube get nodes --kubeconfig {KCFG}",
)
def clusters_01(v: View) -> str:
    path = practice_file()
    data = _load(path)
    text = path.read_text(encoding="utf-8")
    if any(h in text for h in _HIDDEN):
        raise Unmet(f"{path.name} holds placeholders ({' / '.join(_HIDDEN)}) instead of certificates: "
                    "kubectl config view hides them unless you add --flatten (or --raw)")
    current = str(data.get("current-context") or "")
    if not current:
        raise Unmet(f"{path.name} has no current-context")
    _resolve_context(data, current, v.cluster.url, path)
    try:
        from kubernetes import config as kconfig

        client = kconfig.new_client_from_config(config_file=str(path), context=current)
        params = client.param_serialize("GET", "/version", header_params={"Accept": "application/json"})
        resp = client.call_api(*params)
        if int(resp.status) >= 400:
            raise Unmet(f"the API server refused the credentials in {path.name} ({resp.status})")
    except Unmet:
        raise
    except Exception as e:
        raise Unmet(f"kubectl could not use {path.name}: {type(e).__name__}: {str(e)[:200]}") from None
    return f"{path} works on its own (context {current})."


@exercise(
    "clusters-02", "Add a context",
    task="""
In **`practice.kubeconfig`** (exercise clusters-01), add a **context named `practice`** that uses the cluster
and the user already defined in that file. Use `kubectl config` commands with `--kubeconfig`, not an
editor.""",
    tool="%kube",
    nudge="kubectl config set-context NAME --cluster=... --user=... writes a context; "
          "kubectl config get-clusters / get-users show what the file defines.",
    where="%kube config get-contexts --kubeconfig {KCFG}  and  %kube config set-context practice --cluster=... "
          "--user=... --kubeconfig {KCFG}",
)
def clusters_02(v: View) -> str:
    path = practice_file()
    data = _load(path)
    ctx = _resolve_context(data, "practice", v.cluster.url, path)
    return f"context practice = cluster {ctx.get('cluster')} + user {ctx.get('user')}."


@exercise(
    "clusters-03", "A default namespace for a context",
    task="""
Create the namespace **`team-a`** in the cluster. Then, in **`practice.kubeconfig`**, set the **namespace of
context `practice`** to `team-a` and make `practice` the file's **current context**, so that
`kubectl --kubeconfig <file> get pods` lists the pods of team-a.""",
    tool="%kube",
    nudge="A context can carry a namespace; commands without -n use it. use-context changes current-context.",
    where="%kube create namespace team-a, %kube config set-context practice --namespace=team-a --kubeconfig "
          "{KCFG}, %kube config use-context practice --kubeconfig {KCFG}",
)
def clusters_03(v: View) -> str:
    if v.get("namespace", "team-a") is None:
        raise Unmet("the namespace team-a does not exist in the cluster yet")
    path = practice_file()
    data = _load(path)
    ctx = _resolve_context(data, "practice", v.cluster.url, path)
    if ctx.get("namespace") != "team-a":
        raise Unmet(f"context practice has namespace {ctx.get('namespace')!r}; the task asks for team-a")
    if data.get("current-context") != "practice":
        raise Unmet(f"the current context of {path.name} is {data.get('current-context')!r}, not practice")
    return "context practice is current and defaults to namespace team-a."


@exercise(
    "clusters-04", "Where is the API server?",
    task="""
Every kubeconfig context points at one **API server URL**. Find the URL of this cluster's API server and
record it:

```python
kubelab.exercises.answer("clusters-04", "<https://...>")
```""",
    tool="%kube",
    nudge="kubectl can tell you where the control plane is running.",
    where="%kube cluster-info  (or %kube config view --minify: clusters[].cluster.server)",
)
def clusters_04(v: View) -> str:
    given = v.need_answer("clusters-04")
    if _same_server(given, v.cluster.url):
        return f"the API server is at {given}."
    if "CoreDNS" in given or "/proxy" in given:
        raise Unmet("that is the CoreDNS proxy URL; the task asks for the control plane's URL")
    raise Unmet(f"your answer {given!r} is not this cluster's API server URL (scheme, host and port)")


_ROLE = re.compile(r"(control-plane|controlplane|master|workers?)\s*[=:]\s*(\d+)", re.IGNORECASE)


@exercise(
    "clusters-05", "Count the nodes by role",
    task="""
How many **control-plane** nodes and how many **worker** nodes does this cluster have? Record both in the form
`control-plane=N worker=M`:

```python
kubelab.exercises.answer("clusters-05", "control-plane=N worker=M")
```""",
    tool="%kube",
    nudge="Control-plane nodes carry the label node-role.kubernetes.io/control-plane; in kind, workers carry "
          "no role label (ROLES <none>).",
    where="%kube get nodes  (ROLES), %kube get nodes -l node-role.kubernetes.io/control-plane",
)
def clusters_05(v: View) -> str:
    nodes = v.nodes()
    cp = sum(1 for n in nodes if is_control_plane(n))
    workers = len(nodes) - cp
    given = v.need_answer("clusters-05")
    found: dict[str, int] = {}
    for role, n in _ROLE.findall(given):
        found["worker" if role.lower().startswith("worker") else "control-plane"] = int(n)
    if set(found) != {"control-plane", "worker"}:
        raise Unmet(f"your answer {given!r} is not in the form 'control-plane=N worker=M'")
    wrong = [r for r, n in (("control-plane", cp), ("worker", workers)) if found[r] != n]
    if wrong:
        raise Unmet(f"the count of {' and '.join(wrong)} nodes in your answer {given!r} is not right")
    return f"{cp} control-plane node(s) and {workers} worker(s)."


@exercise(
    "clusters-06", "The cluster's DNS service",
    task="""
`kubectl cluster-info` also shows where **CoreDNS** is reachable: through the Service `kube-dns` in
`kube-system`. Every pod's `/etc/resolv.conf` points at that Service's **ClusterIP**. Record it:

```python
kubelab.exercises.answer("clusters-06", "<cluster IP>")
```""",
    tool="%kube",
    nudge="The DNS service is an ordinary Service in kube-system.",
    where="%kube get service -n kube-system kube-dns",
)
def clusters_06(v: View) -> str:
    svc = v.get("service", "kube-dns", "kube-system")
    if svc is None:
        raise Unmet("this cluster has no Service kube-dns in kube-system")
    truth = str(svc["spec"].get("clusterIP"))
    given = v.need_answer("clusters-06")
    if given != truth:
        raise Unmet(f"your answer {given!r} is not the ClusterIP of kube-dns")
    return f"pods resolve names through {truth} (Service kube-dns)."
