"""Model solutions: pods (spoilers)."""


def pods_01(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: frontend}
spec:
  containers:
  - name: web
    image: nginx:1.27
""")
    lab.wait("pod/web")


def pods_02(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  volumes:
  - name: data
    emptyDir: {}
  containers:
  - name: writer
    image: busybox:1.36
    command: [sh, -c, "while true; do date >> /data/log; sleep 5; done"]
    volumeMounts: [{name: data, mountPath: /data}]
  - name: reader
    image: busybox:1.36
    command: [tail, -f, /data/log]
    volumeMounts: [{name: data, mountPath: /data}]
""")
    lab.wait("pod/shared")


def pods_03(lab):
    lab.apply("""
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  GREETING: hello
---
apiVersion: v1
kind: Pod
metadata:
  name: configured
spec:
  containers:
  - name: app
    image: nginx:1.27
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {name: app-config, key: GREETING}
""")
    lab.wait("pod/configured")


def pods_04(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: limited
spec:
  containers:
  - name: web
    image: nginx:1.27
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 200m, memory: 128Mi}
""")
    lab.wait("pod/limited")
    print(lab.kubectl("get pod limited -o jsonpath={.status.qosClass}"))  # Burstable


def pods_05(lab):
    lab.apply("""
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  containers:
  - name: web
    image: nginx:1.27
    readinessProbe:
      httpGet: {path: /, port: 80}
      initialDelaySeconds: 1
""")
    lab.wait("pod/probed")


def pods_06(lab):
    lab.kubectl("label pod legacy env=dev")
    lab.kubectl("annotate pod legacy owner=platform-team")
    print(lab.kubectl("get pods -l env=dev"))
