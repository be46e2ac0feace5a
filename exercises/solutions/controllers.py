"""Model solutions: controllers (spoilers)."""


def controllers_01(lab):
    lab.kubectl("scale deployment web --replicas=5")
    lab.kubectl("rollout status deployment/web --timeout=60s")


def controllers_02(lab):
    lab.kubectl("set image deployment/shop shop=nginx:1.27")
    lab.kubectl("rollout status deployment/shop --timeout=60s")


def controllers_03(lab):
    print(lab.kubectl("rollout history deployment/api"))
    lab.kubectl("rollout undo deployment/api")
    lab.kubectl("rollout status deployment/api --timeout=60s")


def controllers_04(lab):
    lab.apply("""
apiVersion: batch/v1
kind: Job
metadata:
  name: squares
spec:
  completions: 3
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: square
        image: busybox:1.36
        command: [sh, -c, "echo $((7*7))"]
""")
    lab.wait("job/squares", timeout=60)


def controllers_05(lab):
    lab.kubectl("rollout status deployment/healer --timeout=60s")
    pod = lab.kubectl("get pods -l app=healer -o jsonpath={.items[0].metadata.name}")
    lab.kubectl(f"delete pod {pod}")
    lab.kubectl("rollout status deployment/healer --timeout=60s")
    print(lab.kubectl("get events --field-selector reason=SuccessfulCreate"))


def controllers_06(lab):
    lab.apply("""
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      containers:
      - name: agent
        image: busybox:1.36
        command: [sleep, "3600"]
""")
    lab.kubectl("rollout status daemonset/node-agent --timeout=60s")
