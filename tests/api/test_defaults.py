"""apply_defaults: what kube-apiserver fills in before storing, kind by kind.

Expected values come from pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go,
pkg/apis/batch/v1/defaults.go, the admission plugins (ServiceAccount, Priority, DefaultTolerationSeconds) and
the registry strategies (pod status, namespace finalizers, job selector generation) of kubernetes/kubernetes.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.api.defaults import (
    add_service_account_token_volume,
    apply_defaults,
    compute_qos_class,
    image_tag,
)
from kubelab.api.resources import BUILTIN, ResourceType
from kubelab.api.validation.quantity import canonicalize

RT = {(r.group, r.kind, r.version): r for r in BUILTIN}


def rt(group: str, kind: str, version: str = "v1") -> ResourceType:
    return RT[(group, kind, version)]


def defaulted(group: str, kind: str, obj: dict[str, Any], version: str = "v1") -> dict[str, Any]:
    out = copy.deepcopy(obj)
    apply_defaults(rt(group, kind, version), out)
    return out


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    base.update(spec)
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": base}


# ---- pod spec ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("terminationGracePeriodSeconds", 30),
        ("schedulerName", "default-scheduler"),
        ("securityContext", {}),
        ("enableServiceLinks", True),
        ("serviceAccountName", "default"),
        ("serviceAccount", "default"),
        ("priority", 0),
        ("preemptionPolicy", "PreemptLowerPriority"),
    ],
)
def test_pod_spec_defaults(field: str, value: Any) -> None:
    assert defaulted("", "Pod", pod())["spec"][field] == value


def test_pod_default_tolerations() -> None:
    # plugin/pkg/admission/defaulttolerationseconds
    tol = defaulted("", "Pod", pod())["spec"]["tolerations"]
    assert tol == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]


def test_pod_default_tolerations_respect_existing() -> None:
    p = pod(
        tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]
    )
    tol = defaulted("", "Pod", p)["spec"]["tolerations"]
    assert [t["key"] for t in tol] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert "tolerationSeconds" not in tol[0]
    everything = pod(tolerations=[{"operator": "Exists"}])
    assert defaulted("", "Pod", everything)["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_pod_keeps_explicit_values() -> None:
    p = pod(restartPolicy="Never", serviceAccountName="builder", terminationGracePeriodSeconds=5)
    spec = defaulted("", "Pod", p)["spec"]
    assert (spec["restartPolicy"], spec["serviceAccountName"], spec["serviceAccount"]) == (
        "Never",
        "builder",
        "builder",
    )
    assert spec["terminationGracePeriodSeconds"] == 5


def test_deprecated_service_account_field_is_read() -> None:
    assert defaulted("", "Pod", pod(serviceAccount="legacy"))["spec"]["serviceAccountName"] == "legacy"


def test_system_priority_class() -> None:
    spec = defaulted("", "Pod", pod(priorityClassName="system-node-critical"))["spec"]
    assert spec["priority"] == 2000001000


def test_pod_status_on_create() -> None:
    assert defaulted("", "Pod", pod())["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize(
    "image,policy",
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("NGINX", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    # SetDefaults_Container: Always for :latest (implicit or explicit), IfNotPresent otherwise
    c = defaulted("", "Pod", pod(containers=[{"name": "c", "image": image}]))["spec"]["containers"][0]
    assert c["imagePullPolicy"] == policy


def test_image_tag_parsing() -> None:
    assert image_tag("registry.example.com:5000/team/app:2.0") == "2.0"
    assert image_tag("busybox") == "latest"


def test_container_defaults() -> None:
    c = defaulted(
        "",
        "Pod",
        pod(
            containers=[
                {
                    "name": "c",
                    "image": "nginx:1",
                    "ports": [{"containerPort": 80}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 3},
                    "env": [
                        {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "L", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                    ],
                }
            ]
        ),
    )["spec"]["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["periodSeconds"] == 3
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert c["env"][1]["valueFrom"]["resourceFieldRef"]["divisor"] == "0"


def test_volume_defaults() -> None:
    vols = defaulted(
        "",
        "Pod",
        pod(
            volumes=[
                {"name": "scratch"},
                {"name": "cfg", "configMap": {"name": "c"}},
                {"name": "sec", "secret": {"secretName": "s"}},
                {"name": "host", "hostPath": {"path": "/tmp"}},
                {
                    "name": "dapi",
                    "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]},
                },
            ]
        ),
    )["spec"]["volumes"]
    assert vols[0] == {"name": "scratch", "emptyDir": {}}
    assert vols[1]["configMap"]["defaultMode"] == 420
    assert vols[2]["secret"]["defaultMode"] == 420
    assert vols[3]["hostPath"]["type"] == ""
    assert vols[4]["downwardAPI"]["defaultMode"] == 420
    assert vols[4]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"


def test_requests_default_to_limits_only_for_pods() -> None:
    limits = {"cpu": "0.5", "memory": "1Gi"}
    p = defaulted("", "Pod", pod(containers=[{"name": "c", "image": "x", "resources": {"limits": limits}}]))
    assert p["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }
    assert p["status"]["qosClass"] == "Guaranteed"
    dep = defaulted(
        "apps",
        "Deployment",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": limits}}]}
                }
            }
        },
    )
    assert "requests" not in dep["spec"]["template"]["spec"]["containers"][0]["resources"]


@pytest.mark.parametrize(
    "resources,qos",
    [
        ([{}], "BestEffort"),
        ([{"requests": {"cpu": "100m"}}], "Burstable"),
        (
            [{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}],
            "Guaranteed",
        ),
        (
            [{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}],
            "Burstable",
        ),
        (
            [{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}, {}],
            "Burstable",
        ),
        ([{"requests": {"nvidia.com/gpu": "1"}}], "BestEffort"),
    ],
)
def test_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    # pkg/apis/core/helper/qos ComputePodQOS
    containers = [{"name": f"c{i}", "image": "x", "resources": r} for i, r in enumerate(resources)]
    assert compute_qos_class({"containers": containers}) == qos


@pytest.mark.parametrize(
    "given,canonical",
    [
        ("0.5", "500m"),
        ("1000m", "1"),
        ("1.5", "1500m"),
        ("2000", "2k"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("100Mi", "100Mi"),
        ("0.1Gi", "107374182400m"),
        ("1e3", "1e3"),
        ("0.0001", "1m"),
        ("1", "1"),
        (2, "2"),
    ],
)
def test_quantity_canonical_form(given: Any, canonical: str) -> None:
    # resource.Quantity String() after SetDefaults_ResourceList's RoundUp(-3)
    assert canonicalize(given, round_milli=True) == canonical


# ---- templates and workloads -------------------------------------------------------------------------------


def test_template_gets_pod_spec_defaults_not_pod_only_ones() -> None:
    dep = defaulted(
        "apps",
        "Deployment",
        {
            "spec": {
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                }
            }
        },
    )
    tmpl = dep["spec"]["template"]
    assert tmpl["metadata"] == {"labels": {"a": "b"}, "creationTimestamp": None}
    spec = tmpl["spec"]
    assert spec["restartPolicy"] == "Always" and spec["schedulerName"] == "default-scheduler"
    for pod_only in ("enableServiceLinks", "serviceAccountName", "priority", "tolerations"):
        assert pod_only not in spec


def test_deployment_defaults() -> None:
    spec = defaulted("apps", "Deployment", {"spec": {}})["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    recreate = defaulted("apps", "Deployment", {"spec": {"strategy": {"type": "Recreate"}}})["spec"]
    assert recreate["strategy"] == {"type": "Recreate"}


def test_replicaset_defaults() -> None:
    assert defaulted("apps", "ReplicaSet", {"spec": {}})["spec"]["replicas"] == 1
    assert defaulted("apps", "ReplicaSet", {"spec": {"replicas": 0}})["spec"]["replicas"] == 0


def test_statefulset_defaults() -> None:
    spec = defaulted(
        "apps",
        "StatefulSet",
        {
            "spec": {
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ]
            }
        },
    )["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    vct = spec["volumeClaimTemplates"][0]
    assert vct["apiVersion"] == "v1" and vct["kind"] == "PersistentVolumeClaim"
    assert vct["metadata"]["creationTimestamp"] is None
    assert vct["spec"]["volumeMode"] == "Filesystem" and vct["status"] == {"phase": "Pending"}


def test_daemonset_defaults() -> None:
    spec = defaulted("apps", "DaemonSet", {"spec": {}})["spec"]
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert spec["revisionHistoryLimit"] == 10


def test_job_defaults_and_generated_selector() -> None:
    job = {
        "metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "perl"}], "restartPolicy": "Never"}}
        },
    }
    out = defaulted("batch", "Job", job)
    spec = out["spec"]
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert "manualSelector" not in spec
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    want = {
        "batch.kubernetes.io/controller-uid": "u-1",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1",
        "job-name": "pi",
    }
    assert spec["template"]["metadata"]["labels"] == want
    assert out["metadata"]["labels"] == want


def test_job_completions_only_defaulted_when_both_unset() -> None:
    spec = defaulted("batch", "Job", {"spec": {"completions": 5}})["spec"]
    assert (spec["completions"], spec["parallelism"]) == (5, 1)
    spec = defaulted("batch", "Job", {"spec": {"parallelism": 3}})["spec"]
    assert "completions" not in spec and spec["parallelism"] == 3


def test_job_manual_selector_left_alone() -> None:
    job = {
        "metadata": {"name": "j", "uid": "u"},
        "spec": {
            "manualSelector": True,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}},
        },
    }
    spec = defaulted("batch", "Job", job)["spec"]
    assert spec["selector"] == {"matchLabels": {"a": "b"}}
    assert spec["template"]["metadata"]["labels"] == {"a": "b"}


def test_cronjob_defaults() -> None:
    cj = defaulted(
        "batch",
        "CronJob",
        {
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}
                },
            }
        },
    )
    spec = cj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]


# ---- core --------------------------------------------------------------------------------------------------


def test_service_defaults() -> None:
    svc = defaulted(
        "", "Service", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}}
    )
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec
    assert svc["status"] == {"loadBalancer": {}}


def test_service_type_dependent_defaults() -> None:
    np_ = defaulted(
        "", "Service", {"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}}
    )["spec"]
    assert np_["externalTrafficPolicy"] == "Cluster" and np_["ports"][0]["targetPort"] == "http"
    lb = defaulted("", "Service", {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})["spec"]
    assert lb["allocateLoadBalancerNodePorts"] is True and lb["externalTrafficPolicy"] == "Cluster"
    ext = defaulted("", "Service", {"spec": {"type": "ExternalName", "externalName": "example.com"}})["spec"]
    assert "ipFamilies" not in ext and "ipFamilyPolicy" not in ext and "internalTrafficPolicy" not in ext
    client_ip = defaulted("", "Service", {"spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 1}]}})[
        "spec"
    ]
    assert client_ip["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_headless_selectorless_service_requires_dual_stack() -> None:
    # alloc.go initIPFamilyFields: headless + selectorless defaults to RequireDualStack
    spec = defaulted("", "Service", {"spec": {"clusterIP": "None"}})["spec"]
    assert spec["clusterIPs"] == ["None"]
    assert spec["ipFamilyPolicy"] == "RequireDualStack" and spec["ipFamilies"] == ["IPv4", "IPv6"]
    with_selector = defaulted("", "Service", {"spec": {"clusterIP": "None", "selector": {"a": "b"}}})["spec"]
    assert with_selector["ipFamilyPolicy"] == "SingleStack" and with_selector["ipFamilies"] == ["IPv4"]


def test_secret_defaults() -> None:
    sec = defaulted("", "Secret", {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert sec["type"] == "Opaque"
    assert sec["data"] == {"user": "YWRtaW4="} and "stringData" not in sec


def test_namespace_defaults() -> None:
    ns = defaulted("", "Namespace", {"metadata": {"name": "team-a"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}


def test_cluster_scoped_object_loses_namespace() -> None:
    ns = defaulted("", "Namespace", {"metadata": {"name": "x", "namespace": "default"}})
    assert "namespace" not in ns["metadata"]


def test_pvc_and_pv_defaults() -> None:
    pvc = defaulted("", "PersistentVolumeClaim", {"spec": {"resources": {"requests": {"storage": "1024Mi"}}}})
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["status"] == {"phase": "Pending"}
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    pv = defaulted("", "PersistentVolume", {"spec": {"capacity": {"storage": "1Gi"}}})
    assert (
        pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and pv["spec"]["volumeMode"] == "Filesystem"
    )
    assert pv["status"] == {"phase": "Pending"}


def test_endpoints_and_endpointslice_defaults() -> None:
    ep = defaulted(
        "", "Endpoints", {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    )
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    es = defaulted("discovery.k8s.io", "EndpointSlice", {"ports": [{"port": 80}]})
    assert es["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_node_allocatable_defaults_to_capacity() -> None:
    node = defaulted("", "Node", {"status": {"capacity": {"cpu": "4", "memory": "8Gi"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_limit_range_container_defaults() -> None:
    lr = defaulted(
        "",
        "LimitRange",
        {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}},
    )
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_event_serialized_zero_values() -> None:
    ev = defaulted("", "Event", {"metadata": {"name": "e"}, "reason": "X"})
    assert ev["reportingComponent"] == "" and ev["reportingInstance"] == ""
    assert ev["eventTime"] is None and ev["source"] == {}


# ---- other groups ------------------------------------------------------------------------------------------


def test_network_policy_types() -> None:
    only_ingress = defaulted("networking.k8s.io", "NetworkPolicy", {"spec": {"podSelector": {}}})
    assert only_ingress["spec"]["policyTypes"] == ["Ingress"]
    both = defaulted("networking.k8s.io", "NetworkPolicy", {"spec": {"egress": [{"ports": [{"port": 53}]}]}})
    assert both["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert both["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"


def test_rbac_defaults() -> None:
    rb = defaulted(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        {
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [
                {"kind": "ServiceAccount", "name": "a"},
                {"kind": "User", "name": "u"},
                {"kind": "Group", "name": "g"},
            ],
        },
    )
    assert rb["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert [s["apiGroup"] for s in rb["subjects"]] == [
        "",
        "rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
    ]


def test_priority_and_storage_class_defaults() -> None:
    assert (
        defaulted("scheduling.k8s.io", "PriorityClass", {"value": 5})["preemptionPolicy"]
        == "PreemptLowerPriority"
    )
    sc = defaulted("storage.k8s.io", "StorageClass", {"provisioner": "x"})
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")


def test_hpa_defaults() -> None:
    hpa = defaulted(
        "autoscaling", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 3, "behavior": {}}}, "v2"
    )
    spec = hpa["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    v1 = defaulted("autoscaling", "HorizontalPodAutoscaler", {"spec": {"maxReplicas": 3}}, "v1")
    assert v1["spec"] == {"maxReplicas": 3, "minReplicas": 1}


def test_crd_defaults() -> None:
    crd = defaulted(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        {
            "spec": {
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1alpha1", "storage": False}, {"name": "v1", "storage": True}],
            }
        },
    )
    assert crd["spec"]["names"]["singular"] == "widget" and crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert crd["status"]["storedVersions"] == ["v1"]


def test_unknown_kinds_and_idempotence() -> None:
    lease = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "x"}}
    assert defaulted("coordination.k8s.io", "Lease", lease) == lease
    once = defaulted(
        "", "Pod", pod(containers=[{"name": "c", "image": "x", "resources": {"limits": {"cpu": "1"}}}])
    )
    twice = defaulted("", "Pod", once)
    assert once == twice


def test_service_account_token_volume() -> None:
    p = defaulted("", "Pod", pod())
    add_service_account_token_volume(p, "abcde")
    assert p["spec"]["volumes"][0]["name"] == "kube-api-access-abcde"
    assert p["spec"]["containers"][0]["volumeMounts"] == [
        {
            "name": "kube-api-access-abcde",
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True,
        }
    ]
    add_service_account_token_volume(p, "zzzzz")
    assert len(p["spec"]["volumes"]) == 1
