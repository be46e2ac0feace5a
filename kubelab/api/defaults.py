"""Defaulting of objects as kube-apiserver stores them: apply_defaults(rt, obj) mutates a JSON dict in place.

Mirrors, per kind, what a real API server adds before an object is stored and returned:
  * the scheme defaulters: pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec, SetDefaults_Pod,
    SetDefaults_Container, SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_Volume,
    SetDefaults_*VolumeSource, SetDefaults_Service, SetDefaults_Secret, SetDefaults_Namespace(Status),
    SetDefaults_PersistentVolume(Claim)(Spec), SetDefaults_Endpoints, SetDefaults_ObjectFieldSelector,
    SetDefaults_LimitRangeItem, SetDefaults_NodeStatus, SetDefaults_ResourceList),
    pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go, pkg/apis/networking/v1, rbac/v1,
    scheduling/v1, storage/v1, discovery/v1, autoscaling/v2 and apiextensions/v1 defaults, and the declarative
    `+default` markers (ports protocol TCP, replicas 1, ...);
  * the registry strategies' PrepareForCreate: Pod status (phase Pending, qosClass from
    pkg/apis/core/helper/qos), Namespace finalizers and phase, Job selector and labels generation
    (pkg/registry/batch/job/strategy.go);
  * the admission plugins every cluster runs: ServiceAccount (serviceAccountName "default"), Priority
    (priority, preemptionPolicy), DefaultTolerationSeconds (not-ready/unreachable NoExecute tolerations,
    300s);
  * what serialization shows for zero-valued non-pointer fields that kubectl then prints: `resources: {}`,
    `creationTimestamp: null` in embedded templates, `status: {loadBalancer: {}}`, `divisor: "0"`, the
    `serviceAccount` mirror of `serviceAccountName`, canonical quantity strings ("0.5" -> "500m").

Simplified: the ServiceAccount plugin's kube-api-access-xxxxx projected volume is not added by apply_defaults
(add_service_account_token_volume does it for a caller that wants it, with a caller-chosen suffix); priority
for a non-system priorityClassName is left to the caller (it needs the PriorityClass object); Job selector
generation needs metadata.uid and is skipped without it; Service ipFamilies/ipFamilyPolicy assume a
single-stack IPv4 cluster. Kinds not listed are left alone.
"""

from __future__ import annotations

import base64
import copy
import re
from typing import Any

from kubelab.api.resources import ResourceType
from kubelab.api.validation.quantity import canonicalize, parse_quantity

Obj = dict[str, Any]

DEFAULT_TOLERATION_SECONDS = 300
SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


# ---- helpers -----------------------------------------------------------------------------------------------


def _dict(parent: Obj, key: str) -> Obj:
    """parent[key] as a dict, created when missing (left alone, and a throwaway returned, when not a dict)."""
    v = parent.get(key)
    if v is None:
        v = {}
        parent[key] = v
    return v if isinstance(v, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[Obj]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _setdefault(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _canonical_resource_list(rl: Any) -> None:
    """SetDefaults_ResourceList rounds to milli precision; the server then serializes the canonical form."""
    if not isinstance(rl, dict):
        return
    for k, v in list(rl.items()):
        rl[k] = canonicalize(v, round_milli=True)


def _canonical_quantity(obj: Obj, key: str) -> None:
    if obj.get(key) is not None:
        obj[key] = canonicalize(obj[key])


def _template_metadata(tmpl: Obj) -> None:
    """An embedded ObjectMeta serializes its zero creationTimestamp as null (kubectl shows it)."""
    meta = _dict(tmpl, "metadata")
    if "creationTimestamp" not in meta:
        meta["creationTimestamp"] = None


# ---- containers and pod specs ------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"@[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+$")


def image_tag(image: str) -> str:
    """parsers.ParseImageName's tag: 'latest' when neither tag nor digest is given, '' when unparseable."""
    has_digest = bool(_DIGEST_RE.search(image))
    name = _DIGEST_RE.sub("", image)
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    repo = name[: len(name) - len(tag) - 1] if tag else name
    first, _, rest = repo.partition("/")
    path = rest if rest and ("." in first or ":" in first or first == "localhost") else repo
    if not image or path != path.lower():
        return ""
    if not tag and not has_digest:
        return "latest"
    return tag


def _default_http_get(action: Any) -> None:
    if isinstance(action, dict):
        _setdefault(action, "path", "/")
        _setdefault(action, "scheme", "HTTP")


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for k, v in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(k):
            probe[k] = v
    _default_http_get(probe.get("httpGet"))


def _default_env(env: Any) -> None:
    for ev in _dicts(env):
        vf = ev.get("valueFrom")
        if not isinstance(vf, dict):
            continue
        if isinstance(vf.get("fieldRef"), dict):
            _setdefault(vf["fieldRef"], "apiVersion", "v1")
        if isinstance(vf.get("resourceFieldRef"), dict):
            rf = vf["resourceFieldRef"]
            rf["divisor"] = canonicalize(rf["divisor"]) if rf.get("divisor") is not None else "0"


def _default_container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = (
            "Always" if image_tag(str(c.get("image") or "")) == "latest" else "IfNotPresent"
        )
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    res = _dict(c, "resources")
    _canonical_resource_list(res.get("limits"))
    _canonical_resource_list(res.get("requests"))
    for port in _dicts(c.get("ports")):
        _setdefault(port, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    lc = c.get("lifecycle")
    if isinstance(lc, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lc.get(hook), dict):
                _default_http_get(lc[hook].get("httpGet"))
    _default_env(c.get("env"))


_VOLUME_SOURCE_KEYS = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)


def _default_downward_items(items: Any) -> None:
    for item in _dicts(items):
        if isinstance(item.get("fieldRef"), dict):
            _setdefault(item["fieldRef"], "apiVersion", "v1")
        if isinstance(item.get("resourceFieldRef"), dict):
            rf = item["resourceFieldRef"]
            rf["divisor"] = canonicalize(rf["divisor"]) if rf.get("divisor") is not None else "0"


def _default_volume(vol: Obj) -> None:
    if not any(vol.get(k) is not None for k in _VOLUME_SOURCE_KEYS):
        vol["emptyDir"] = {}
    for k in ("secret", "configMap", "downwardAPI", "projected"):
        src = vol.get(k)
        if isinstance(src, dict):
            _setdefault(src, "defaultMode", 420)
    if isinstance(vol.get("emptyDir"), dict):
        _canonical_quantity(vol["emptyDir"], "sizeLimit")
    if isinstance(vol.get("hostPath"), dict):
        _setdefault(vol["hostPath"], "type", "")
    if isinstance(vol.get("downwardAPI"), dict):
        _default_downward_items(vol["downwardAPI"].get("items"))
    if isinstance(vol.get("projected"), dict):
        for src in _dicts(vol["projected"].get("sources")):
            if isinstance(src.get("serviceAccountToken"), dict):
                _setdefault(src["serviceAccountToken"], "expirationSeconds", 3600)
            if isinstance(src.get("downwardAPI"), dict):
                _default_downward_items(src["downwardAPI"].get("items"))
    eph = vol.get("ephemeral")
    if isinstance(eph, dict) and isinstance(eph.get("volumeClaimTemplate"), dict):
        _default_pvc_spec(_dict(eph["volumeClaimTemplate"], "spec"))


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the nested container/volume/probe defaulters (every PodSpec, templates too)."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    _setdefault(spec, "securityContext", {})
    _setdefault(spec, "terminationGracePeriodSeconds", 30)
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for c in _dicts(spec.get(group)):
            _default_container(c)
    for vol in _dicts(spec.get("volumes")):
        _default_volume(vol)
    _canonical_resource_list(spec.get("overhead"))
    if isinstance(spec.get("resources"), dict):
        _canonical_resource_list(spec["resources"].get("limits"))
        _canonical_resource_list(spec["resources"].get("requests"))
    # v1 conversion keeps the deprecated serviceAccount field in step with serviceAccountName.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]


def _default_pod_template(tmpl: Any) -> None:
    if not isinstance(tmpl, dict):
        return
    _template_metadata(tmpl)
    default_pod_spec(_dict(tmpl, "spec"))


# ---- Pod ---------------------------------------------------------------------------------------------------


def _requests_from_limits(c: Obj) -> None:
    res = _dict(c, "resources")
    limits = res.get("limits")
    if not isinstance(limits, dict) or not limits:
        return
    req = _dict(res, "requests")
    for k, v in limits.items():
        if k not in req:
            req[k] = v


def compute_qos_class(spec: Obj) -> str:
    """qos.ComputePodQOS: BestEffort, Burstable or Guaranteed from cpu/memory requests and limits."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    pod_res = spec.get("resources")
    if isinstance(pod_res, dict) and (pod_res.get("requests") or pod_res.get("limits")):
        containers: list[Obj] = [{"resources": pod_res}]
    else:
        containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    for c in containers:
        res = _map(c.get("resources"))
        for name, raw in _map(res.get("requests")).items():
            q = parse_quantity(raw)
            if name in ("cpu", "memory") and q is not None and q.value > 0:
                requests[name] = requests.get(name, 0) + q.value
        found: set[str] = set()
        for name, raw in _map(res.get("limits")).items():
            q = parse_quantity(raw)
            if name in ("cpu", "memory") and q is not None and q.value > 0:
                found.add(name)
                limits[name] = limits.get(name, 0) + q.value
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, v in requests.items():
            if limits.get(name) != v:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _default_tolerations(spec: Obj) -> None:
    """The DefaultTolerationSeconds admission plugin."""
    tolerations = _list(spec.get("tolerations"))
    not_ready = unreachable = False
    for t in _dicts(tolerations):
        k, eff = t.get("key") or "", t.get("effect") or ""
        if k in ("node.kubernetes.io/not-ready", "") and eff in ("NoExecute", ""):
            not_ready = True
        if k in ("node.kubernetes.io/unreachable", "") and eff in ("NoExecute", ""):
            unreachable = True
    added = []
    if not not_ready:
        added.append(
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }
        )
    if not unreachable:
        added.append(
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }
        )
    if added:
        spec["tolerations"] = tolerations + added


def _default_pod(pod: Obj) -> None:
    spec = _dict(pod, "spec")
    default_pod_spec(spec)
    # SetDefaults_Pod: only real pods, not templates
    for group in ("containers", "initContainers"):
        for c in _dicts(spec.get(group)):
            _requests_from_limits(c)
    _setdefault(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for group in ("containers", "initContainers"):
            for c in _dicts(spec.get(group)):
                for port in _dicts(c.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    # ServiceAccount admission
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    spec["serviceAccount"] = spec["serviceAccountName"]
    # Priority admission (only the built-in classes are known here)
    pcn = spec.get("priorityClassName")
    if not pcn:
        _setdefault(spec, "priority", 0)
    elif pcn in SYSTEM_PRIORITIES:
        _setdefault(spec, "priority", SYSTEM_PRIORITIES[pcn])
    _setdefault(spec, "preemptionPolicy", "PreemptLowerPriority")
    _default_tolerations(spec)
    # pod strategy PrepareForCreate
    status = _dict(pod, "status")
    _setdefault(status, "phase", "Pending")
    _setdefault(status, "qosClass", compute_qos_class(spec))


def add_service_account_token_volume(pod: Obj, suffix: str) -> None:
    """What the ServiceAccount admission plugin adds to a pod that automounts its token: the projected
    kube-api-access-<suffix> volume and a read-only mount of it in every container and init container."""
    spec = _dict(pod, "spec")
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    if any(
        m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH
        for c in containers
        for m in _dicts(c.get("volumeMounts"))
    ):
        return
    name = f"kube-api-access-{suffix}"
    vols = _list(spec.get("volumes"))
    vols.append(
        {
            "name": name,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                }
                            ]
                        }
                    },
                ],
            },
        }
    )
    spec["volumes"] = vols
    for c in containers:
        mounts = _list(c.get("volumeMounts"))
        mounts.append({"name": name, "mountPath": SERVICE_ACCOUNT_MOUNT_PATH, "readOnly": True})
        c["volumeMounts"] = mounts


# ---- apps --------------------------------------------------------------------------------------------------


def _default_deployment(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _setdefault(spec, "replicas", 1)
    strategy = _dict(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        _setdefault(ru, "maxUnavailable", "25%")
        _setdefault(ru, "maxSurge", "25%")
    _setdefault(spec, "revisionHistoryLimit", 10)
    _setdefault(spec, "progressDeadlineSeconds", 600)
    _default_pod_template(spec.get("template"))


def _default_replica_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    _setdefault(spec, "replicas", 1)
    _default_pod_template(spec.get("template"))


def _default_statefulset(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    us = _dict(spec, "updateStrategy")
    if not us.get("type"):
        us["type"] = "RollingUpdate"
        _setdefault(us, "rollingUpdate", {})
    if us["type"] == "RollingUpdate" and isinstance(us.get("rollingUpdate"), dict):
        _setdefault(us["rollingUpdate"], "partition", 0)
    pol = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    if not pol.get("whenDeleted"):
        pol["whenDeleted"] = "Retain"
    if not pol.get("whenScaled"):
        pol["whenScaled"] = "Retain"
    _setdefault(spec, "replicas", 1)
    _setdefault(spec, "revisionHistoryLimit", 10)
    _default_pod_template(spec.get("template"))
    for pvc in _dicts(spec.get("volumeClaimTemplates")):
        _setdefault(pvc, "apiVersion", "v1")
        _setdefault(pvc, "kind", "PersistentVolumeClaim")
        _template_metadata(pvc)
        _default_pvc(pvc)


def _default_daemonset(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    us = _dict(spec, "updateStrategy")
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        ru = _dict(us, "rollingUpdate")
        _setdefault(ru, "maxUnavailable", 1)
        _setdefault(ru, "maxSurge", 0)
    _setdefault(spec, "revisionHistoryLimit", 10)
    _default_pod_template(spec.get("template"))


# ---- batch -------------------------------------------------------------------------------------------------

JOB_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"


def _default_job_spec_common(spec: Obj) -> None:
    pfp = spec.get("podFailurePolicy")
    if isinstance(pfp, dict):
        for rule in _dicts(pfp.get("rules")):
            for pat in _dicts(rule.get("onPodConditions")):
                if not pat.get("status"):
                    pat["status"] = "True"
    _default_pod_template(spec.get("template"))


def _default_job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _setdefault(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    _setdefault(spec, "completionMode", "NonIndexed")
    _setdefault(spec, "suspend", False)
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = (
            "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
        )
    _default_job_spec_common(spec)
    meta = _dict(obj, "metadata")
    uid, name = meta.get("uid"), meta.get("name") or ""
    if spec.get("manualSelector") is not True and uid:
        tmpl = _dict(spec, "template")
        labels = _dict(_dict(tmpl, "metadata"), "labels")
        for k in ("job-name", JOB_NAME):
            labels.setdefault(k, name)
        for k in ("controller-uid", JOB_CONTROLLER_UID):
            labels.setdefault(k, uid)
        sel = _dict(spec, "selector")
        _dict(sel, "matchLabels").setdefault(JOB_CONTROLLER_UID, uid)
    tlabels = _map(_map(spec.get("template")).get("metadata")).get("labels")
    if isinstance(tlabels, dict) and not meta.get("labels"):
        meta["labels"] = dict(tlabels)


def _default_cronjob(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    _setdefault(spec, "suspend", False)
    _setdefault(spec, "successfulJobsHistoryLimit", 3)
    _setdefault(spec, "failedJobsHistoryLimit", 1)
    jt = _dict(spec, "jobTemplate")
    _template_metadata(jt)
    _default_job_spec_common(_dict(jt, "spec"))


# ---- core: Service and friends -----------------------------------------------------------------------------


def _externally_accessible(spec: Obj) -> bool:
    t = spec.get("type")
    return t in ("LoadBalancer", "NodePort") or (t == "ClusterIP" and bool(spec.get("externalIPs")))


def init_ip_family_fields(svc: Obj) -> None:
    """The non-failing part of the allocator's initIPFamilyFields on a single-stack IPv4 cluster: policy
    (RequireDualStack for headless selectorless, else SingleStack) and families (inferred from the IPs)."""
    spec = _dict(svc, "spec")
    if spec.get("type") == "ExternalName":
        return
    headless_selectorless = spec.get("clusterIP") == "None" and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_selectorless else "SingleStack"
    fams = spec.get("ipFamilies")
    if not isinstance(fams, list) or not fams:
        fams = []
        for ip in _list(spec.get("clusterIPs")):
            if ip == "None" or not isinstance(ip, str):
                break
            if ":" in ip:
                return  # an IPv6 request: leave it to the allocator, which rejects it on this cluster
            fams.append("IPv4")
        if not fams:
            fams = ["IPv4"]
        if headless_selectorless and spec["ipFamilyPolicy"] != "SingleStack" and len(fams) < 2:
            fams.append("IPv6" if fams[0] == "IPv4" else "IPv4")
        spec["ipFamilies"] = fams


def _default_service(svc: Obj) -> None:
    spec = _dict(svc, "spec")
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        if (
            not isinstance(cfg, dict)
            or not isinstance(cfg.get("clientIP"), dict)
            or cfg["clientIP"].get("timeoutSeconds") is None
        ):
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for port in _dicts(spec.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        _setdefault(spec, "allocateLoadBalancerNodePorts", True)
        for ing in _dicts(_map(_map(svc.get("status")).get("loadBalancer")).get("ingress")):
            if ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    init_ip_family_fields(svc)
    status = _dict(svc, "status")
    _setdefault(status, "loadBalancer", {})


def _default_secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = _dict(obj, "data")
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def _default_namespace(obj: Obj) -> None:
    meta = _dict(obj, "metadata")
    if meta.get("name"):
        _dict(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    spec = _dict(obj, "spec")
    fins = _list(spec.get("finalizers"))
    if "kubernetes" not in fins:
        spec["finalizers"] = fins + ["kubernetes"]
    _setdefault(_dict(obj, "status"), "phase", "Active")


def _default_pvc_spec(spec: Obj) -> None:
    _setdefault(spec, "volumeMode", "Filesystem")
    res = spec.get("resources")
    if isinstance(res, dict):
        _canonical_resource_list(res.get("requests"))
        _canonical_resource_list(res.get("limits"))


def _default_pvc(obj: Obj) -> None:
    _default_pvc_spec(_dict(obj, "spec"))
    _setdefault(_dict(obj, "status"), "phase", "Pending")


def _default_pv(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if not spec.get("persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    _setdefault(spec, "volumeMode", "Filesystem")
    _canonical_resource_list(spec.get("capacity"))
    if isinstance(spec.get("hostPath"), dict):
        _setdefault(spec["hostPath"], "type", "")
    _setdefault(_dict(obj, "status"), "phase", "Pending")


def _default_endpoints(obj: Obj) -> None:
    for ss in _dicts(obj.get("subsets")):
        for port in _dicts(ss.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def _default_node(obj: Obj) -> None:
    status = obj.get("status")
    if not isinstance(status, dict):
        return
    _canonical_resource_list(status.get("capacity"))
    _canonical_resource_list(status.get("allocatable"))
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def _default_limit_range(obj: Obj) -> None:
    for item in _dicts(_map(obj.get("spec")).get("limits")):
        for k in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            _canonical_resource_list(item.get(k))
        if item.get("type") != "Container":
            continue
        default = _dict(item, "default")
        default_request = _dict(item, "defaultRequest")
        for k, v in _map(item.get("max")).items():
            default.setdefault(k, v)
        for k, v in default.items():
            default_request.setdefault(k, v)
        for k, v in _map(item.get("min")).items():
            default_request.setdefault(k, v)


def _default_resource_quota(obj: Obj) -> None:
    _canonical_resource_list(_map(obj.get("spec")).get("hard"))


def _default_event(obj: Obj) -> None:
    for k in ("reportingComponent", "reportingInstance"):
        _setdefault(obj, k, "")
    for k in ("eventTime", "firstTimestamp", "lastTimestamp"):
        if k not in obj:
            obj[k] = None
    _setdefault(obj, "involvedObject", {})
    _setdefault(obj, "source", {})


# ---- other groups ------------------------------------------------------------------------------------------


def _default_network_policy(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                _setdefault(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _default_rbac_binding(obj: Obj) -> None:
    ref = _dict(obj, "roleRef")
    if not ref.get("apiGroup"):
        ref["apiGroup"] = "rbac.authorization.k8s.io"
    _default_subjects(obj)


def _default_subjects(obj: Obj) -> None:
    for subj in _dicts(obj.get("subjects")):
        if not subj.get("apiGroup"):
            if subj.get("kind") == "ServiceAccount":
                subj["apiGroup"] = ""
            elif subj.get("kind") in ("User", "Group"):
                subj["apiGroup"] = "rbac.authorization.k8s.io"


def _default_priority_class(obj: Obj) -> None:
    _setdefault(obj, "preemptionPolicy", "PreemptLowerPriority")


def _default_storage_class(obj: Obj) -> None:
    _setdefault(obj, "reclaimPolicy", "Delete")
    _setdefault(obj, "volumeBindingMode", "Immediate")


def _default_endpoint_slice(obj: Obj) -> None:
    for port in _dicts(obj.get("ports")):
        _setdefault(port, "name", "")
        _setdefault(port, "protocol", "TCP")


def _scale_rules(rules: Any, up: bool) -> Obj:
    r = dict(rules) if isinstance(rules, dict) else {}
    _setdefault(r, "stabilizationWindowSeconds", 0 if up else 300)
    _setdefault(r, "selectPolicy", "Max")
    if not r.get("policies"):
        r["policies"] = (
            [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]
            if up
            else [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        )
    return r


def _default_hpa(obj: Obj, version: str) -> None:
    spec = _dict(obj, "spec")
    _setdefault(spec, "minReplicas", 1)
    if version != "v2":
        return
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    if isinstance(spec.get("behavior"), dict):
        b = spec["behavior"]
        b["scaleUp"] = _scale_rules(b.get("scaleUp"), True)
        b["scaleDown"] = _scale_rules(b.get("scaleDown"), False)


def _default_crd(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    names = _dict(spec, "names")
    if not names.get("singular") and names.get("kind"):
        names["singular"] = str(names["kind"]).lower()
    if not names.get("listKind") and names.get("kind"):
        names["listKind"] = f"{names['kind']}List"
    conv = spec.get("conversion")
    if conv is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conv, dict):
        svc = _map(_map(conv.get("webhook")).get("clientConfig")).get("service")
        if isinstance(svc, dict):
            _setdefault(svc, "port", 443)
    status = _dict(obj, "status")
    if not status.get("storedVersions"):
        for v in _dicts(spec.get("versions")):
            if v.get("storage") is True:
                status["storedVersions"] = [v.get("name")]
                break


def _default_pod_template_kind(obj: Obj) -> None:
    _default_pod_template(obj.get("template"))


_DEFAULTERS = {
    ("", "Pod"): _default_pod,
    ("", "PodTemplate"): _default_pod_template_kind,
    ("", "Service"): _default_service,
    ("", "Secret"): _default_secret,
    ("", "Namespace"): _default_namespace,
    ("", "PersistentVolumeClaim"): _default_pvc,
    ("", "PersistentVolume"): _default_pv,
    ("", "Endpoints"): _default_endpoints,
    ("", "Node"): _default_node,
    ("", "LimitRange"): _default_limit_range,
    ("", "ResourceQuota"): _default_resource_quota,
    ("", "Event"): _default_event,
    ("apps", "Deployment"): _default_deployment,
    ("apps", "ReplicaSet"): _default_replica_set,
    ("apps", "StatefulSet"): _default_statefulset,
    ("apps", "DaemonSet"): _default_daemonset,
    ("batch", "Job"): _default_job,
    ("batch", "CronJob"): _default_cronjob,
    ("networking.k8s.io", "NetworkPolicy"): _default_network_policy,
    ("rbac.authorization.k8s.io", "RoleBinding"): _default_rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _default_rbac_binding,
    ("scheduling.k8s.io", "PriorityClass"): _default_priority_class,
    ("storage.k8s.io", "StorageClass"): _default_storage_class,
    ("discovery.k8s.io", "EndpointSlice"): _default_endpoint_slice,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _default_crd,
}


def apply_defaults(rt: ResourceType, obj: Obj) -> None:
    """Fill in what kube-apiserver would before storing obj (a fresh dict the caller owns; mutated)."""
    if not isinstance(obj, dict):
        return
    meta = obj.get("metadata")
    if not rt.namespaced and isinstance(meta, dict) and meta.get("namespace"):
        # rest.BeforeCreate clears the namespace of cluster-scoped objects
        meta.pop("namespace", None)
    if rt.custom:
        return
    if rt.group == "autoscaling" and rt.kind == "HorizontalPodAutoscaler":
        _default_hpa(obj, rt.version)
        return
    fn = _DEFAULTERS.get((rt.group, rt.kind))
    if fn is not None:
        fn(obj)


def defaulted_copy(rt: ResourceType, obj: Obj) -> Obj:
    """apply_defaults on a deep copy, for callers that must keep their input."""
    out = copy.deepcopy(obj)
    apply_defaults(rt, out)
    return out
