"""Model solutions: clusters and kubeconfig (spoilers).

``%kube config ... --kubeconfig {KCFG}`` in a notebook runs the same kubectl commands as ``_config`` below.
"""

import subprocess

from kubelab.exercises import answer, workdir
from kubelab.lab.cluster import find_kubectl

KCFG = workdir() / "practice.kubeconfig"


def _config(*args):
    """kubectl config ... against the practice file only (never your real kubeconfig)."""
    return subprocess.run([find_kubectl(), "config", *args, "--kubeconfig", str(KCFG)],
                          check=True, capture_output=True, text=True).stdout.strip()


def clusters_01(lab):
    # --minify: only this cluster's context; --flatten: certificates inline instead of DATA+OMITTED
    KCFG.write_text(lab.kubectl("config view --minify --flatten"))
    print(lab.kubectl(f"get nodes --kubeconfig {KCFG} --context {lab.context}"))


def clusters_02(lab):
    if not KCFG.exists():
        clusters_01(lab)
    cluster = _config("get-clusters").splitlines()[1]  # the first line is the header NAME
    user = _config("get-users").splitlines()[1]
    _config("set-context", "practice", f"--cluster={cluster}", f"--user={user}")


def clusters_03(lab):
    clusters_02(lab)
    lab.kubectl("create namespace team-a")
    _config("set-context", "practice", "--namespace=team-a")
    _config("use-context", "practice")


def clusters_04(lab):
    # kubectl cluster-info: "Kubernetes control plane is running at https://127.0.0.1:PORT"
    server = lab.kubectl("config view --minify -o jsonpath={.clusters[0].cluster.server}")
    answer("clusters-04", server, cluster=lab)


def clusters_05(lab):
    control = lab.kubectl("get nodes -l node-role.kubernetes.io/control-plane -o name").split()
    workers = lab.kubectl("get nodes -l !node-role.kubernetes.io/control-plane -o name").split()
    answer("clusters-05", f"control-plane={len(control)} worker={len(workers)}", cluster=lab)


def clusters_06(lab):
    ip = lab.kubectl("get service kube-dns -n kube-system -o jsonpath={.spec.clusterIP}")
    answer("clusters-06", ip, cluster=lab)
