"""Model solutions: the node (spoilers)."""

from kubelab.exercises import answer


def node_01(lab):
    lab.kubectl("expose deployment backend --port 80 --target-port 80")
    lab.kubectl("rollout status deployment/backend --timeout=60s")


def node_02(lab):
    lab.apply("""
apiVersion: v1
kind: Service
metadata:
  name: backend-nodeport
spec:
  type: NodePort
  selector: {app: backend}
  ports:
  - port: 80
    targetPort: 80
    nodePort: 30080
""")
    lab.kubectl("rollout status deployment/backend --timeout=60s")


def node_03(lab):
    runtime = lab.kubectl("get nodes -o jsonpath={.items[0].status.nodeInfo.containerRuntimeVersion}")
    answer("node-03", runtime, cluster=lab)


def node_04(lab):
    lab.wait("pod/addressed")
    node = lab.kubectl("get pod addressed -o jsonpath={.spec.nodeName}")
    cidr = lab.kubectl(f"get node {node} -o jsonpath={{.spec.podCIDR}}")
    answer("node-04", cidr, cluster=lab)


def node_05(lab):
    lab.kubectl("rollout status daemonset/kube-proxy -n kube-system --timeout=60s")
    pods = lab.kubectl("get pods -n kube-system -l k8s-app=kube-proxy --field-selector status.phase=Running -o name")
    answer("node-05", len(pods.split()), cluster=lab)


def node_06(lab):
    # describe pod: "Readiness: http-get http://:80/ delay=3600s": the probe only starts after an hour
    lab.kubectl(["patch", "deployment", "flaky", "--type=json", "-p",
                 '[{"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/initialDelaySeconds",'
                 ' "value": 2}]'])
    lab.kubectl("rollout status deployment/flaky --timeout=60s")


def node_07(lab):
    workers = sorted(lab.kubectl("get nodes -l !node-role.kubernetes.io/control-plane -o name").split())
    node = workers[1].removeprefix("node/")
    # --force: bare pods (no controller) are deleted too; without it kubectl refuses to drain
    lab.kubectl(f"drain {node} --ignore-daemonsets --delete-emptydir-data --force --timeout=60s")
    # afterwards: lab.kubectl(f"uncordon {node}")
