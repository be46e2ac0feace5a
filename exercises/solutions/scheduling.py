"""Model solutions: scheduling (spoilers)."""


def _worker(lab, n):
    """The n-th worker node's name (kind names them <cluster>-worker, <cluster>-worker2, ...)."""
    names = lab.kubectl("get nodes -l !node-role.kubernetes.io/control-plane -o name").split()
    return sorted(names)[n].removeprefix("node/")


def scheduling_01(lab):
    lab.kubectl(f"label node {_worker(lab, 1)} disk=ssd --overwrite")
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: fast
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: web
    image: nginx:1.27
""")
    lab.wait("pod/fast")


def scheduling_02(lab):
    # describe says: 0/3 nodes are available: 1 node(s) had untolerated taint(s) {node-role.kubernetes.io/control-plane: }
    # Tolerations may be added to an existing pod (only added, never removed).
    lab.kubectl(["patch", "pod", "on-control-plane", "--type=json", "-p",
                 '[{"op": "add", "path": "/spec/tolerations/-", "value": {"key": "node-role.kubernetes.io/control-plane",'
                 ' "operator": "Exists", "effect": "NoSchedule"}}]'])
    lab.wait("pod/on-control-plane")


def scheduling_03(lab):
    lab.apply("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: spread
spec:
  replicas: 2
  selector:
    matchLabels: {app: spread}
  template:
    metadata:
      labels: {app: spread}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: spread}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: web
        image: nginx:1.27
""")
    lab.kubectl("rollout status deployment/spread --timeout=60s")


def scheduling_04(lab):
    # describe pod: "0/3 nodes are available: ... 2 Insufficient cpu"; the workers have 4 CPUs, the pod asks for 16
    lab.kubectl("set resources deployment hungry --requests=cpu=500m")
    lab.kubectl("rollout status deployment/hungry --timeout=60s")


def scheduling_05(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: zoned
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: [zone-b]
  containers:
  - name: web
    image: nginx:1.27
""")
    lab.wait("pod/zoned")


def scheduling_06(lab):
    # describe pod mystery: Node-Selectors: disktype=nvme; "0/3 nodes are available: ... didn't match Pod's node affinity/selector"
    lab.kubectl(f"label node {_worker(lab, 0)} disktype=nvme --overwrite")
    lab.wait("pod/mystery")
