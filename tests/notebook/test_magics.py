"""``%kube`` / ``%%kube`` in a real IPython shell, judged by real kubectl against a real embedded cluster.

The cluster tests run twice: once against an embedded server made here (so the magic is covered whatever
state the Python API is in) and once through ``%kube create cluster`` (skipped until ``kubelab.lab`` exists).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from kubelab.notebook import magics
from kubelab.notebook.magics import parse_table, verb_index, yaml_error
from tests.helpers import THREE_NODES

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  greeting: hello
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: z
data:
  greeting: bonjour
"""

BAD_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
 data: [1, 2
"""


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "kubelab.ipython")
    yield shell
    magics.set_current_cluster(None)


def run(ip: InteractiveShell, line: str, cell: str | None = None) -> tuple[Any, str, str]:
    with capture_output() as out:
        result = ip.run_cell_magic("kube", line, cell) if cell is not None else ip.run_line_magic("kube", line)
    return result, out.stdout, out.stderr


# ------------------------------------------------------------------------------------- without a cluster
def test_parse_table_keeps_kubectl_columns() -> None:
    text = ("NAME    READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES\n"
            "web-1   1/1     Running   0          5s    10.244.1.2   worker   <none>           <none>\n")
    df = parse_table(text)
    assert df is not None
    assert list(df.columns) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                                "READINESS GATES"]
    assert df.iloc[0].tolist() == ["web-1", "1/1", "Running", "0", "5s", "10.244.1.2", "worker", "<none>",
                                   "<none>"]


def test_parse_table_refuses_several_tables() -> None:
    assert parse_table("NAME   AGE\na      1s\n\nNAME   AGE\nb      2s\n") is None
    assert parse_table("") is None


def test_verb_is_found_after_global_flags() -> None:
    assert verb_index(["-n", "dev", "--context=x", "get", "pods"]) == 3
    assert verb_index(["--namespace", "dev"]) is None


def test_yaml_error_names_the_line() -> None:
    problem = yaml_error(BAD_YAML)
    assert problem is not None and "line 5" in problem
    assert yaml_error(CONFIGMAP) is None
    assert yaml_error("- a\n- b\n") is not None


def test_bad_yaml_cell_prints_one_line_with_the_line_number(ip: InteractiveShell) -> None:
    result, out, err = run(ip, "", BAD_YAML)
    assert result is None and out == ""
    assert err.startswith("kube: YAML error at line 5")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_cluster_explains_how_to_create_one(ip: InteractiveShell) -> None:
    magics.set_current_cluster(None)
    result, _, err = run(ip, "get pods")
    assert result is None
    assert "%kube create cluster" in err and err.count("\n") == 1


def test_crictl_without_a_cluster_explains_how_to_create_one(ip: InteractiveShell) -> None:
    magics.set_current_cluster(None)
    _, _, err = run(ip, "crictl local-control-plane ps")
    assert "%kube create cluster" in err and err.count("\n") == 1


def test_bad_cluster_arguments_print_one_line(ip: InteractiveShell) -> None:
    _, _, err = run(ip, "create cluster --name x --backend nope")
    assert err.startswith("kube: error: %kube create cluster: argument --backend")
    assert err.count("\n") == 1


def test_unbalanced_quotes_print_one_line(ip: InteractiveShell) -> None:
    _, _, err = run(ip, "get pods -l 'app=web")
    assert err.startswith("kube: error: cannot split the arguments")


def test_bare_kube_prints_usage(ip: InteractiveShell) -> None:
    _, out, _ = run(ip, "")
    assert out.startswith("usage: %kube")


def test_extension_loads_through_the_facade_when_exported() -> None:
    import kubelab

    if not hasattr(kubelab, "load_ipython_extension"):
        pytest.skip("kubelab/__init__.py does not re-export load_ipython_extension yet")
    from kubelab.ipython import load_ipython_extension

    assert kubelab.load_ipython_extension is load_ipython_extension


# ---------------------------------------------------------------------------------------- with a cluster
@dataclass
class ServerCluster:
    """An embedded server with the attributes ``%kube`` reads from a Cluster: name, context, kubeconfig."""

    name: str
    context: str
    kubeconfig: Path
    server: Any

    def delete_cluster(self) -> None:
        self.server.stop()


def _make_server_cluster(ip: InteractiveShell, d: Path) -> None:
    from kubelab.backends.embedded import EmbeddedServer, ServerConfig
    from kubelab.kubeconfig import write_context

    srv = EmbeddedServer(ServerConfig(name="magic", cluster_config=d / "kind.yml")).start()
    kc = Path(os.environ["KUBECONFIG"])
    write_context(kc, "kubelab-magic", srv.url, srv.pki.ca_cert_pem, srv.pki.admin_cert_pem,
                  srv.pki.admin_key_pem)
    magics.set_current_cluster(ServerCluster("magic", "kubelab-magic", kc, srv))


def _make_lab_cluster(ip: InteractiveShell, d: Path) -> None:
    try:
        import kubelab.lab  # noqa: F401
    except ImportError as e:
        pytest.skip(f"kubelab.lab is not importable yet ({e}): %kube create cluster needs it")
    result, out, err = run(ip, f"create cluster --name magic --config {d / 'kind.yml'}")
    assert err == "", err
    assert "magic" in out and magics.current_cluster() is not None


@pytest.fixture(scope="module", params=["embedded-server", "create-cluster"])
def magic_cluster(request: pytest.FixtureRequest, ip: InteractiveShell,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp(f"magic-{request.param}")
    (d / "kind.yml").write_text(THREE_NODES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUBECONFIG", str(d / "kubeconfig"))  # ~/.kube/config stays untouched
        mp.setenv("KUBECACHEDIR", str(d / "cache"))
        (_make_server_cluster if request.param == "embedded-server" else _make_lab_cluster)(ip, d)
        try:
            yield request.param
        finally:
            if magics.current_cluster() is not None:
                run(ip, "delete cluster --name magic")


def test_get_nodes_is_a_dataframe(ip: InteractiveShell, magic_cluster: str) -> None:
    df, _, err = run(ip, "get nodes")
    assert isinstance(df, pd.DataFrame), err
    assert list(df.columns) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(df) == 3
    assert sorted(df["NAME"]) == ["magic-control-plane", "magic-worker", "magic-worker2"]


def test_cell_applies_yaml_then_get_json_prints_it(ip: InteractiveShell, magic_cluster: str) -> None:
    result, out, err = run(ip, "", CONFIGMAP)
    assert result is None and err == ""
    assert "configmap/x" in out and "configmap/z" in out
    result, out, err = run(ip, "get configmap x -o json")
    assert result is None and err == ""
    assert json.loads(out)["data"] == {"greeting": "hello"}


def test_cell_first_line_carries_arguments(ip: InteractiveShell, magic_cluster: str) -> None:
    run(ip, "create namespace dev")
    _, out, err = run(ip, "apply -n dev", CONFIGMAP)
    assert err == "" and "configmap/x" in out
    df, _, _ = run(ip, "-n dev get configmaps")
    assert isinstance(df, pd.DataFrame) and {"x", "z"} <= set(df["NAME"])


def test_unknown_resource_prints_kubectl_error_in_one_line(ip: InteractiveShell, magic_cluster: str) -> None:
    result, out, err = run(ip, "get frobnicators")
    assert result is None and out == ""
    assert err.startswith("kube: error: the server doesn't have a resource type")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_not_found_prints_api_error_in_one_line(ip: InteractiveShell, magic_cluster: str) -> None:
    _, _, err = run(ip, "get configmap nope")
    assert err.startswith("kube: Error from server (NotFound)") and err.count("\n") == 1


def test_other_verbs_print_what_kubectl_prints(ip: InteractiveShell, magic_cluster: str) -> None:
    result, out, _ = run(ip, "get nodes -o name")
    assert result is None and "node/magic-worker" in out


def test_use_connects_to_a_context(ip: InteractiveShell, magic_cluster: str) -> None:
    pytest.importorskip("kubelab.lab", reason="%kube use needs kubelab.connect")
    before = magics.current_cluster()
    try:
        _, out, err = run(ip, "use kubelab-magic")
        assert err == "" and "kubelab-magic" in out
        assert magics.current_cluster().context == "kubelab-magic"
        if magic_cluster == "create-cluster":  # the kernel's own cluster object, so crictl and flow keep working
            assert magics.current_cluster() is before
        df, _, _ = run(ip, "get nodes")
        assert isinstance(df, pd.DataFrame) and len(df) == 3
        _, _, err = run(ip, "use no-such-context")
        assert err.startswith("kube: error: ") and err.count("\n") == 1
    finally:
        magics.set_current_cluster(before)


def test_crictl_on_a_node(ip: InteractiveShell, magic_cluster: str) -> None:
    if magic_cluster != "create-cluster":
        pytest.skip("crictl needs a kubelab Cluster (its node runtimes)")
    _, out, err = run(ip, "crictl magic-control-plane ps")
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD", "ID", "POD",
                                "NAMESPACE"]
    assert any(line.split()[-2:] == ["kube-apiserver-magic-control-plane", "kube-system"] for line in lines[1:])
    _, _, err = run(ip, "crictl magic-control-plane inspect ffffffffff")
    assert err.startswith("FATA[0000] get the status of containers: ") and err.count("\n") == 1
    _, _, err = run(ip, "crictl no-such-node ps")
    assert err.startswith("kube: crictl: ") and "no-such-node" in err and err.count("\n") == 1


def test_flow_never_prints_a_traceback(ip: InteractiveShell, magic_cluster: str) -> None:
    _, _, err = run(ip, "flow")
    assert "Traceback" not in err and err.count("\n") <= 1


def test_delete_cluster(ip: InteractiveShell, magic_cluster: str) -> None:
    _, out, err = run(ip, "delete cluster --name magic")
    assert err == "" and "Deleted cluster 'magic'" in out
    assert magics.current_cluster() is None
    _, _, err = run(ip, "get pods")
    assert "%kube create cluster" in err
