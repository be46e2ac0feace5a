"""Model solutions: architecture (spoilers)."""

from kubelab.exercises import answer


def architecture_01(lab):
    # the etcd pod is a static pod in kube-system; its spec.nodeName is the control-plane node
    node = lab.kubectl("get pods -n kube-system -l component=etcd -o jsonpath={.items[0].spec.nodeName}")
    answer("architecture-01", node, cluster=lab)


def architecture_02(lab):
    # `kubectl version` prints "Server Version: v1.x.y"; -o json has it as serverVersion.gitVersion
    import json

    version = json.loads(lab.kubectl("version -o json"))["serverVersion"]["gitVersion"]
    answer("architecture-02", version, cluster=lab)


def architecture_03(lab):
    lab.apply("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
""")
    lab.wait("deployment/hello", condition="Available")


def architecture_04(lab):
    architecture_03(lab)  # needs the Deployment of exercise 03
    pod = lab.kubectl("get pods -l app=hello -o jsonpath={.items[0].metadata.name}")
    owner = lab.kubectl(f"get pod {pod} -o jsonpath={{.metadata.ownerReferences[0].name}}")
    answer("architecture-04", owner, cluster=lab)


def architecture_05(lab):
    # `kubectl api-resources` lists cronjobs with APIVERSION batch/v1
    print(lab.kubectl("api-resources --api-group=batch"))
    answer("architecture-05", "batch/v1", cluster=lab)


def architecture_06(lab):
    names = lab.kubectl("get leases -n kube-node-lease -o name").split()
    answer("architecture-06", len(names), cluster=lab)
