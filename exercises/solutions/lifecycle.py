"""Model solutions: the life of a pod (spoilers)."""

from kubelab.exercises import answer


def lifecycle_01(lab):
    lab.wait("pod/placed")
    node = lab.kubectl("get pod placed -o jsonpath={.spec.nodeName}")
    answer("lifecycle-01", node, cluster=lab)


def lifecycle_02(lab):
    # the events say: Failed to pull image "nginx:1.277": ... not found. A pod's image may be changed in place.
    print(lab.describe("pod", "typo"))
    lab.kubectl("set image pod/typo web=nginx:1.27")
    lab.wait("pod/typo")


def lifecycle_03(lab):
    # kubectl logs says: "You must specify POSTGRES_PASSWORD to a non-empty value for the superuser".
    # (A Secret is the better home for a password: kubectl create secret generic db --from-literal=...
    #  and env valueFrom.secretKeyRef; set env keeps this short.)
    lab.kubectl("set env deployment/db POSTGRES_PASSWORD=change-me")
    lab.kubectl("rollout status deployment/db --timeout=60s")


def lifecycle_04(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: ordered
spec:
  initContainers:
  - name: first
    image: busybox:1.36
    command: [sh, -c, "echo first"]
  - name: second
    image: busybox:1.36
    command: [sh, -c, "echo second"]
  containers:
  - name: app
    image: nginx:1.27
""")
    lab.wait("pod/ordered")


def lifecycle_05(lab):
    rv = lab.kubectl("get configmap settings -o jsonpath={.metadata.resourceVersion}")
    answer("lifecycle-05", rv, cluster=lab)


def lifecycle_06(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: once
spec:
  restartPolicy: Never
  containers:
  - name: job
    image: busybox:1.36
    command: [sh, -c, "echo done"]
""")
    lab.kubectl("wait pod/once --for=jsonpath={.status.phase}=Succeeded --timeout=60s")
