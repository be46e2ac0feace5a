"""Model solutions: real clusters (spoilers). Every manifest here works unchanged on kind, AKS, EKS and GKE."""


def real_clusters_01(lab):
    lab.apply("""
apiVersion: v1
kind: Namespace
metadata:
  name: sandbox
  labels: {team: shop}
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: sandbox-quota
  namespace: sandbox
spec:
  hard:
    pods: "10"
""")


def real_clusters_02(lab):
    lab.kubectl(["patch", "deployment", "pinned", "-n", "shop", "--type=json", "-p",
                 '[{"op": "remove", "path": "/spec/template/spec/nodeName"}]'])
    lab.kubectl("rollout status deployment/pinned -n shop --timeout=60s")


def real_clusters_03(lab):
    # kubectl describe rs -n budget: "forbidden: failed quota: compute: must specify limits.memory ... requests.cpu"
    lab.kubectl("set resources deployment catalog -n budget --requests=cpu=100m,memory=64Mi --limits=memory=128Mi")
    lab.kubectl("rollout status deployment/catalog -n budget --timeout=60s")


def real_clusters_04(lab):
    lab.apply("""
apiVersion: v1
kind: Service
metadata:
  name: storefront
  namespace: shop
spec:
  selector: {app: storefront, track: stable}
  ports:
  - port: 80
    targetPort: 80
""")
    lab.kubectl("rollout status deployment/storefront -n shop --timeout=60s")


def real_clusters_05(lab):
    lab.kubectl("set image deployment/frontend -n shop web=nginx:1.27")
    lab.kubectl("rollout status deployment/frontend -n shop --timeout=60s")


def real_clusters_06(lab):
    lab.apply("""
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 1Gi}
---
apiVersion: v1
kind: Pod
metadata:
  name: data-user
  namespace: shop
spec:
  containers:
  - name: web
    image: nginx:1.27
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
""")
    lab.wait("pod/data-user", namespace="shop", timeout=60)
