"""validate_create / validate_update: the exact field.Error strings kube-apiserver reports.

Each expected string is built from the detail texts in kubernetes/kubernetes:
staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go and .../api/validate/content (name formats),
staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go (metadata),
staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go (rendering: since 1.34 composite values as
JSON), pkg/apis/core/validation/validation.go, pkg/apis/apps/validation/validation.go,
pkg/apis/batch/validation/validation.go (and robfig/cron/v3 for schedules), pkg/apis/rbac/validation,
pkg/apis/policy/validation, pkg/apis/storage/validation, pkg/apis/scheduling/validation,
staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.api.defaults import apply_defaults
from kubelab.api.errors import invalid
from kubelab.api.resources import BUILTIN, ResourceType
from kubelab.api.validation import validate_create, validate_update
from kubelab.api.validation.batch import parse_cron_standard

RT = {(r.group, r.kind, r.version): r for r in BUILTIN}

SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_ERR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
CONFIG_KEY_ERR = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
POD_UPDATE = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)


def rt(group: str, kind: str, version: str = "v1") -> ResourceType:
    return RT[(group, kind, version)]


def errors_on_create(group: str, kind: str, obj: dict[str, Any]) -> list[str]:
    o = copy.deepcopy(obj)
    apply_defaults(rt(group, kind), o)
    return [str(e) for e in validate_create(rt(group, kind), o)]


def errors_on_update(group: str, kind: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    n, o = copy.deepcopy(new), copy.deepcopy(old)
    apply_defaults(rt(group, kind), n)
    apply_defaults(rt(group, kind), o)
    return [str(e) for e in validate_update(rt(group, kind), n, o)]


def meta(name: str = "x", ns: str | None = "default", **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, **extra}
    if ns is not None:
        m["namespace"] = ns
    return m


def pod(**spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    s.update(spec)
    return {"metadata": meta("p"), "spec": s}


def deployment(selector: Any = None, labels: Any = None, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}} if selector is None else selector,
        "template": {
            "metadata": {"labels": {"app": "web"} if labels is None else labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    }
    s.update(spec)
    return {"metadata": meta("web"), "spec": s}


# ---- metadata ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group,kind,name,ns,expected",
    [
        ("", "ConfigMap", "", "default", "metadata.name: Required value: name or generateName is required"),
        (
            "",
            "ConfigMap",
            "Bad_Name",
            "default",
            f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_ERR}',
        ),
        ("", "Namespace", "a.b", None, 'metadata.name: Invalid value: "a.b": must not contain dots'),
        ("", "Namespace", "Team", None, f'metadata.name: Invalid value: "Team": {LABEL_ERR}'),
        ("", "Service", "1web", "default", f'metadata.name: Invalid value: "1web": {DNS1035_ERR}'),
        (
            "apps",
            "StatefulSet",
            "db.x",
            "default",
            'metadata.name: Invalid value: "db.x": must not contain dots',
        ),
        (
            "rbac.authorization.k8s.io",
            "Role",
            "a%b",
            "default",
            "metadata.name: Invalid value: \"a%b\": may not contain '%'",
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRole",
            "..",
            None,
            "metadata.name: Invalid value: \"..\": may not be '..'",
        ),
        ("", "ConfigMap", "ok", "", "metadata.namespace: Required value"),
        ("", "ConfigMap", "ok", "Bad", f'metadata.namespace: Invalid value: "Bad": {LABEL_ERR}'),
    ],
)
def test_names(group: str, kind: str, name: str, ns: str | None, expected: str) -> None:
    errs = errors_on_create(
        group,
        kind,
        {"metadata": meta(name, ns), "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
    )
    assert expected in errs


def test_name_too_long() -> None:
    errs = errors_on_create("", "ConfigMap", {"metadata": meta("a" * 254)})
    assert errs[0] == f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters'


def test_generate_name_is_validated_as_prefix() -> None:
    errs = errors_on_create("", "ConfigMap", {"metadata": {"generateName": "web-", "namespace": "default"}})
    assert errs == ["metadata.name: Required value: name or generateName is required"]
    errs = errors_on_create(
        "", "ConfigMap", {"metadata": {"generateName": "Web-", "namespace": "d", "name": "web-1"}}
    )
    assert errs == [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_ERR}']


@pytest.mark.parametrize(
    "labels,expected",
    [
        ({"app": "bad value"}, f'metadata.labels: Invalid value: "bad value": {LABEL_VALUE_ERR}'),
        ({"app": "v" * 64}, f'metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 bytes'),
        ({"/app": "x"}, 'metadata.labels: Invalid value: "/app": prefix part must be non-empty'),
        (
            {"a/b/c": "x"},
            'metadata.labels: Invalid value: "a/b/c": a valid label key must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
            "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
        (
            {"k" * 64: "x"},
            f'metadata.labels: Invalid value: "{"k" * 64}": name part must be no more than 63 bytes',
        ),
    ],
)
def test_labels(labels: dict[str, str], expected: str) -> None:
    assert errors_on_create("", "ConfigMap", {"metadata": meta(labels=labels)}) == [expected]


def test_annotations_size() -> None:
    errs = errors_on_create("", "ConfigMap", {"metadata": meta(annotations={"a": "x" * (256 * 1024)})})
    assert errs == ["metadata.annotations: Too long: may not be more than 262144 bytes"]


def test_finalizer_names() -> None:
    errs = errors_on_create("", "ConfigMap", {"metadata": meta(finalizers=["custom"])})
    assert errs == [
        'metadata.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer name nor '
        "is it fully qualified"
    ]
    assert (
        errors_on_create("", "ConfigMap", {"metadata": meta(finalizers=["example.com/x", "kubernetes"])})
        == []
    )


def test_cluster_scoped_namespace_forbidden_when_not_cleared() -> None:
    obj = {"metadata": meta("n", "default")}
    assert [str(e) for e in validate_create(rt("", "Node"), obj)] == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]


def test_metadata_update_immutability() -> None:
    old = {"metadata": meta(uid="1", creationTimestamp="2024-05-01T10:00:00Z", generation=3)}
    new = copy.deepcopy(old)
    new["metadata"].update(name="y", uid="2", creationTimestamp="2024-05-02T11:30:00Z", generation=2)
    errs = errors_on_update("", "ConfigMap", new, old)
    assert errs[:4] == [
        "metadata.generation: Invalid value: 2: must not be decremented",
        'metadata.name: Invalid value: "y": field is immutable',
        'metadata.uid: Invalid value: "2": field is immutable',
        "metadata.creationTimestamp: Invalid value: 2024-05-02 11:30:00 +0000 UTC: field is immutable",
    ]


def test_no_new_finalizers_while_deleting() -> None:
    old = {"metadata": meta(deletionTimestamp="2024-05-01T10:00:00Z")}
    new = {"metadata": meta(deletionTimestamp="2024-05-01T10:00:00Z", finalizers=["example.com/f"])}
    assert errors_on_update("", "ConfigMap", new, old)[0] == (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new "
        'finalizers []string{"example.com/f"}'
    )


# ---- Pod ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,expected",
    [
        ({"containers": []}, "spec.containers: Required value"),
        ({"containers": [{"name": "c"}]}, "spec.containers[0].image: Required value"),
        ({"containers": [{"image": "x"}]}, "spec.containers[0].name: Required value"),
        (
            {"containers": [{"name": "Web", "image": "x"}]},
            f'spec.containers[0].name: Invalid value: "Web": {LABEL_ERR}',
        ),
        (
            {"containers": [{"name": "c", "image": "x"}, {"name": "c", "image": "y"}]},
            'spec.containers[1].name: Duplicate value: "c"',
        ),
        (
            {"restartPolicy": "Sometimes"},
            'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
        (
            {"dnsPolicy": "Foo"},
            'spec.dnsPolicy: Unsupported value: "Foo": supported values: "ClusterFirstWithHostNet", '
            '"ClusterFirst", "Default", "None"',
        ),
        (
            {
                "containers": [
                    {"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}
                ]
            },
            'spec.containers[0].volumeMounts[0].name: Not found: "data"',
        ),
        (
            {"volumes": [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]},
            'spec.volumes[1].name: Duplicate value: "a"',
        ),
        (
            {"volumes": [{"name": "a", "emptyDir": {}, "configMap": {"name": "c"}}]},
            "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type",
        ),
        ({"volumes": [{"name": "a", "secret": {}}]}, "spec.volumes[0].secret.secretName: Required value"),
        (
            {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 70000}]}]},
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            {
                "containers": [
                    {"name": "c", "image": "x", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}
                ]
            },
            'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "ports": [{"containerPort": 80, "name": "http-web-server-port"}],
                    }
                ]
            },
            'spec.containers[0].ports[0].name: Invalid value: "http-web-server-port": must be no more than 15 characters',
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
                    }
                ]
            },
            'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        ),
        (
            {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"memory": "-1"}}}]},
            'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0',
        ),
        (
            {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"foo": "1"}}}]},
            'spec.containers[0].resources.limits[foo]: Invalid value: "foo": must be a standard resource for containers',
        ),
        (
            {"containers": [{"name": "c", "image": "x", "env": [{"name": "A=B", "value": "1"}]}]},
            'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of '
            "printable ASCII characters other than '='",
        ),
        (
            {"containers": [{"name": "c", "image": "x", "env": [{"value": "1"}]}]},
            "spec.containers[0].env[0].name: Required value",
        ),
        (
            {"containers": [{"name": "c", "image": "x", "env": [{"name": "A", "valueFrom": {}}]}]},
            'spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
            "`configMapKeyRef` or `secretKeyRef`",
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "env": [
                            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a b"}}}
                        ],
                    }
                ]
            },
            f'spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Invalid value: "a b": {CONFIG_KEY_ERR}',
        ),
        (
            {"containers": [{"name": "c", "image": "x", "imagePullPolicy": "Sometimes"}]},
            'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
            '"IfNotPresent", "Never"',
        ),
        (
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "livenessProbe": {"httpGet": {"port": 80}, "successThreshold": 2},
                    }
                ]
            },
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        ),
        (
            {"containers": [{"name": "c", "image": "x", "readinessProbe": {"initialDelaySeconds": 1}}]},
            "spec.containers[0].readinessProbe: Required value: must specify a handler type",
        ),
        (
            {"containers": [{"name": "c", "image": "x", "livenessProbe": {"httpGet": {"port": "Http"}}}]},
            'spec.containers[0].livenessProbe.httpGet.port: Invalid value: "Http": must contain only alpha-numeric '
            "characters (a-z, 0-9), and hyphens (-)",
        ),
        (
            {"containers": [{"name": "c", "image": " nginx"}]},
            'spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace',
        ),
        (
            {"tolerations": [{"operator": "Equal", "value": "x"}]},
            'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means '
            '"match all values and all keys"',
        ),
        (
            {
                "tolerations": [
                    {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}
                ]
            },
            "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` "
            "is set",
        ),
        (
            {"activeDeadlineSeconds": 0},
            "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        ),
        (
            {"nodeSelector": {"disk": "fast ssd"}},
            'spec.nodeSelector: Invalid value: "fast ssd": ' + LABEL_VALUE_ERR,
        ),
        ({"hostname": "my_host"}, f'spec.hostname: Invalid value: "my_host": {LABEL_ERR}'),
        (
            {"initContainers": [{"name": "c", "image": "x"}]},
            'spec.initContainers[0].name: Duplicate value: "c"',
        ),
        (
            {"initContainers": [{"name": "i", "image": "x", "livenessProbe": {"exec": {"command": ["t"]}}}]},
            "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
        ),
        (
            {
                "containers": [
                    {"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]},
                    {"name": "d", "image": "y", "ports": [{"containerPort": 81, "hostPort": 8080}]},
                ]
            },
            'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"',
        ),
    ],
)
def test_pod_create(spec: dict[str, Any], expected: str) -> None:
    assert expected in errors_on_create("", "Pod", pod(**spec))


def test_valid_pod_has_no_errors() -> None:
    p = pod(
        containers=[
            {
                "name": "web",
                "image": "nginx:1.25",
                "ports": [{"containerPort": 80, "name": "http"}],
                "env": [{"name": "MODE", "value": "prod"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "64Mi"}},
                "readinessProbe": {"httpGet": {"port": "http"}},
            }
        ],
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}],
    )
    assert errors_on_create("", "Pod", p) == []


def stored(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the server stored it: an update starts from this (kubectl patches it)."""
    o = copy.deepcopy(obj)
    apply_defaults(rt(group, kind), o)
    return o


def test_pod_update_allowed_fields() -> None:
    old = stored("", "Pod", pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    new["spec"]["activeDeadlineSeconds"] = 30
    new["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    assert errors_on_update("", "Pod", new, old) == []


def test_pod_update_forbidden_fields() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["restartPolicy"] = "Never"
    errs = errors_on_update("", "Pod", new, old)
    assert len(errs) == 1
    assert errs[0].split("\n")[0] == POD_UPDATE
    assert '- \tRestartPolicy: "Always",' in errs[0] and '+ \tRestartPolicy: "Never",' in errs[0]


def test_pod_update_containers_and_deadline() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"].append({"name": "d", "image": "x"})
    assert errors_on_update("", "Pod", new, old) == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]
    old = pod(activeDeadlineSeconds=10)
    new = pod(activeDeadlineSeconds=20)
    assert errors_on_update("", "Pod", new, old) == [
        "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"
    ]


def test_pod_update_tolerations_only_added() -> None:
    old = pod(tolerations=[{"key": "k", "operator": "Exists"}])
    new = pod()
    errs = errors_on_update("", "Pod", new, old)
    assert errs == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    ]


# ---- workloads ---------------------------------------------------------------------------------------------


def test_deployment_selector_must_match_template() -> None:
    errs = errors_on_create("apps", "Deployment", deployment(labels={"app": "x"}))
    assert errs == [
        'spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template '
        "`labels`"
    ]


@pytest.mark.parametrize(
    "kind,spec,expected",
    [
        ("Deployment", {"selector": None}, "spec.selector: Required value"),
        (
            "Deployment",
            {"selector": {}},
            "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
        ),
        (
            "Deployment",
            {"replicas": -1},
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "Deployment",
            {"strategy": {"type": "Blue"}},
            'spec.strategy: Unsupported value: {"type":"Blue"}: supported values: "Recreate", "RollingUpdate"',
        ),
        (
            "Deployment",
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}},
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ),
        (
            "Deployment",
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}},
            'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
        ),
        (
            "Deployment",
            {"strategy": {"type": "Recreate", "rollingUpdate": {}}},
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ),
        (
            "Deployment",
            {"progressDeadlineSeconds": 5, "minReadySeconds": 10},
            "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds",
        ),
        (
            "ReplicaSet",
            {"selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
            'spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
        ),
        (
            "DaemonSet",
            {
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1},
                }
            },
            "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero",
        ),
        (
            "StatefulSet",
            {"podManagementPolicy": "Random"},
            "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        ),
    ],
)
def test_workload_specs(kind: str, spec: dict[str, Any], expected: str) -> None:
    obj = deployment()
    for k, v in spec.items():
        if v is None:
            obj["spec"].pop(k)
        else:
            obj["spec"][k] = v
    assert expected in errors_on_create("apps", kind, obj)


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"])
def test_workload_template_restart_policy(kind: str) -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert (
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'
        in errors_on_create("apps", kind, obj)
    )


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet"])
def test_workload_selector_immutable(kind: str) -> None:
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web2"}}, labels={"app": "web2"})
    assert errors_on_update("apps", kind, new, old) == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable'
    ]


def test_statefulset_update_forbidden_fields() -> None:
    old = deployment(serviceName="db")
    new = deployment(serviceName="db2")
    new["spec"]["replicas"] = 5
    assert errors_on_update("apps", "StatefulSet", new, old) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ]


# ---- Job / CronJob -----------------------------------------------------------------------------------------


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    tspec: dict[str, Any] = {"containers": [{"name": "c", "image": "perl"}]}
    if restart:
        tspec["restartPolicy"] = restart
    s: dict[str, Any] = {"template": {"spec": tspec}}
    s.update(spec)
    return {"metadata": meta("pi", uid="8c5e5a4c"), "spec": s}


def test_valid_job() -> None:
    assert errors_on_create("batch", "Job", job()) == []


@pytest.mark.parametrize(
    "restart,expected",
    [
        (None, 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'),
        ("Always", 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'),
    ],
)
def test_job_restart_policy(restart: str | None, expected: str) -> None:
    assert errors_on_create("batch", "Job", job(restart)) == [expected]


def test_job_unknown_restart_policy_reported_by_pod_spec_and_job() -> None:
    assert errors_on_create("batch", "Job", job("Sometimes")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
        '"Never"',
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
    ]


def test_job_counters() -> None:
    errs = errors_on_create("batch", "Job", job(completions=-1, parallelism=-2))
    assert errs == [
        "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
        "spec.completions: Invalid value: -1: must be greater than or equal to 0",
    ]


def test_job_user_selector_without_manual_selector() -> None:
    obj = job(selector={"matchLabels": {"app": "x"}})
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "x"}}
    errs = errors_on_create("batch", "Job", obj)
    assert errs == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"x","batch.kubernetes.io/controller-uid":'
        '"8c5e5a4c"}}: `selector` not auto-generated'
    ]


def test_job_template_and_selector_immutable() -> None:
    old = job()
    new = job()
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5"
    errs = errors_on_update("batch", "Job", new, old)
    assert len(errs) == 1
    assert errs[0].startswith('spec.template: Invalid value: {"metadata":{"creationTimestamp":null,"labels":')
    assert errs[0].endswith(": field is immutable")
    new = job(completions=3)
    assert "spec.completions: Invalid value: 3: field is immutable" in errors_on_update(
        "batch", "Job", new, old
    )


def test_suspended_job_allows_scheduling_directives() -> None:
    old = job(suspend=True)
    new = job(suspend=True)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert errors_on_update("batch", "Job", new, old) == []


def cronjob(schedule: str, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "schedule": schedule,
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "OnFailure"}
                }
            }
        },
    }
    s.update(spec)
    return {"metadata": meta("nightly"), "spec": s}


@pytest.mark.parametrize(
    "schedule,expected",
    [
        ("*/5 * * * *", None),
        ("0 3 * * MON-FRI", None),
        ("@hourly", None),
        ("@every 1h30m", None),
        ("bad", 'spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1: [bad]'),
        ("* * * *", 'spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'),
        (
            "61 * * * *",
            'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
        ),
        (
            "0 0 0 * *",
            'spec.schedule: Invalid value: "0 0 0 * *": beginning of range (0) below minimum (1): 0',
        ),
        (
            "5-1 * * * *",
            'spec.schedule: Invalid value: "5-1 * * * *": beginning of range (5) beyond end of range (1): 5-1',
        ),
        (
            "*/0 * * * *",
            'spec.schedule: Invalid value: "*/0 * * * *": step of range should be a positive number: */0',
        ),
        (
            "x * * * *",
            'spec.schedule: Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": '
            "invalid syntax",
        ),
        (
            "@fortnightly",
            'spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly',
        ),
        (
            "TZ=UTC 0 * * * *",
            'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use '
            "timeZone field instead",
        ),
    ],
)
def test_cron_schedule(schedule: str, expected: str | None) -> None:
    errs = errors_on_create("batch", "CronJob", cronjob(schedule))
    assert errs == ([] if expected is None else [expected])


def test_cron_parser_every() -> None:
    assert (
        parse_cron_standard("@every 5")
        == 'failed to parse duration @every 5: time: missing unit in duration "5"'
    )
    assert parse_cron_standard("") == "empty spec string"


def test_cronjob_other_rules() -> None:
    errs = errors_on_create("batch", "CronJob", cronjob("* * * * *", concurrencyPolicy="Sometimes"))
    assert errs == [
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", '
        '"Replace"'
    ]
    long = cronjob("* * * * *")
    long["metadata"]["name"] = "n" * 53
    assert errors_on_create("batch", "CronJob", long) == [
        f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters'
    ]
    sel = cronjob("* * * * *")
    sel["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert errors_on_create("batch", "CronJob", sel) == [
        'spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: `selector` will be auto-generated'
    ]
    tz = cronjob("* * * * *", timeZone="Mars/Olympus")
    assert errors_on_create("batch", "CronJob", tz) == [
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'
    ]


# ---- Service -----------------------------------------------------------------------------------------------


def service(**spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    s.update(spec)
    return {"metadata": meta("web"), "spec": s}


@pytest.mark.parametrize(
    "spec,expected",
    [
        ({"ports": []}, "spec.ports: Required value"),
        (
            {"ports": [{"port": 0}]},
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ),
        ({"ports": [{"port": 80, "name": "a"}, {"port": 81}]}, "spec.ports[1].name: Required value"),
        (
            {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
            'spec.ports[1].name: Duplicate value: "a"',
        ),
        (
            {"ports": [{"port": 80, "protocol": "ICMP"}]},
            'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        ),
        (
            {"type": "Public"},
            'spec.type: Unsupported value: "Public": supported values: "ClusterIP", "ExternalName", '
            '"LoadBalancer", "NodePort"',
        ),
        (
            {"ports": [{"port": 80, "nodePort": 30080}]},
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        ),
        ({"type": "ExternalName"}, "spec.externalName: Required value"),
        (
            {"clusterIP": "10.0.0.999"},
            'spec.clusterIPs[0]: Invalid value: "10.0.0.999": must be a valid IP address, '
            "(e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
        (
            {"type": "NodePort", "clusterIP": "None"},
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
        ),
        (
            {"externalTrafficPolicy": "Local"},
            'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
        ),
        (
            {"sessionAffinity": "Sticky"},
            'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        ),
    ],
)
def test_service_create(spec: dict[str, Any], expected: str) -> None:
    assert expected in errors_on_create("", "Service", service(**spec))


def test_headless_service_without_ports_is_valid() -> None:
    assert errors_on_create("", "Service", service(clusterIP="None", ports=[])) == []


def test_service_cluster_ip_immutable() -> None:
    old = service(clusterIP="10.96.0.5")
    new = service(clusterIP="10.96.0.6")
    assert errors_on_update("", "Service", new, old) == [
        'spec.clusterIPs[0]: Invalid value: ["10.96.0.6"]: may not change once set'
    ]


# ---- ConfigMap / Secret ------------------------------------------------------------------------------------


def test_config_map_keys() -> None:
    assert errors_on_create("", "ConfigMap", {"metadata": meta(), "data": {"bad key": "v"}}) == [
        f'data[bad key]: Invalid value: "bad key": {CONFIG_KEY_ERR}'
    ]
    assert errors_on_create("", "ConfigMap", {"metadata": meta(), "data": {"..x": "v"}}) == [
        "data[..x]: Invalid value: \"..x\": must not start with '..'"
    ]
    assert errors_on_create(
        "", "ConfigMap", {"metadata": meta(), "data": {"k": "v"}, "binaryData": {"k": "dg=="}}
    ) == ['data[k]: Invalid value: "k": duplicate of key present in binaryData']


def test_immutable_config_map_and_secret() -> None:
    old = {"metadata": meta(), "data": {"a": "1"}, "immutable": True}
    new = {"metadata": meta(), "data": {"a": "2"}, "immutable": True}
    assert errors_on_update("", "ConfigMap", new, old) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    new = {"metadata": meta(), "data": {"a": "1"}}
    assert errors_on_update("", "ConfigMap", new, old) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"
    ]
    old_s = {"metadata": meta(), "data": {"a": "MQ=="}, "immutable": True}
    new_s = {"metadata": meta(), "data": {"a": "Mg=="}, "immutable": True}
    assert errors_on_update("", "Secret", new_s, old_s) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]


def test_secret_type_rules() -> None:
    tls = {"metadata": meta(), "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}
    assert errors_on_create("", "Secret", tls) == ["data[tls.key]: Required value"]
    old = {"metadata": meta(), "type": "Opaque"}
    new = {"metadata": meta(), "type": "kubernetes.io/basic-auth", "data": {"username": "eA=="}}
    assert errors_on_update("", "Secret", new, old) == [
        'type: Invalid value: "kubernetes.io/basic-auth": field is immutable'
    ]


# ---- storage, namespaces, nodes ----------------------------------------------------------------------------


def test_pvc_rules() -> None:
    errs = errors_on_create("", "PersistentVolumeClaim", {"metadata": meta(), "spec": {}})
    assert errs == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value",
    ]
    bad = {
        "metadata": meta(),
        "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "0"}}},
    }
    assert errors_on_create("", "PersistentVolumeClaim", bad) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", '
        '"ReadWriteOnce", "ReadWriteOncePod"',
        'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    ]


def test_pvc_spec_immutable() -> None:
    old = {
        "metadata": meta(),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    new = copy.deepcopy(old)
    new["spec"]["accessModes"] = ["ReadWriteMany"]
    errs = errors_on_update("", "PersistentVolumeClaim", new, old)
    assert errs[0].startswith(
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n"
    )


def test_storage_class_update_rules() -> None:
    old = {"metadata": meta("fast", None), "provisioner": "example.com/x", "parameters": {"type": "ssd"}}
    new = {"metadata": meta("fast", None), "provisioner": "example.com/y", "parameters": {"type": "hdd"}}
    assert errors_on_update("storage.k8s.io", "StorageClass", new, old) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "provisioner: Forbidden: updates to provisioner are forbidden.",
    ]


def test_namespace_and_node() -> None:
    assert errors_on_create("", "Namespace", {"metadata": meta("team-a", None)}) == []
    node = {"metadata": meta("n1", None), "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}
    assert errors_on_create("", "Node", node) == [
        'metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"'
    ]


# ---- other groups ------------------------------------------------------------------------------------------


def test_rbac() -> None:
    role = {"metadata": meta("r"), "rules": [{"apiGroups": [""], "resources": ["pods"]}]}
    assert errors_on_create("rbac.authorization.k8s.io", "Role", role) == [
        "rules[0].verbs: Required value: verbs must contain at least one value"
    ]
    cr = {"metadata": meta("r", None), "rules": [{"verbs": ["get"]}]}
    assert errors_on_create("rbac.authorization.k8s.io", "ClusterRole", cr) == [
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[0].resources: Required value: resource rules must supply at least one resource",
    ]
    rb = {
        "metadata": meta("b"),
        "roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "Robot", "name": "x"}],
    }
    assert errors_on_create("rbac.authorization.k8s.io", "RoleBinding", rb) == [
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'
    ]
    old = {"metadata": meta("b"), "roleRef": {"kind": "Role", "name": "r"}}
    new = {"metadata": meta("b"), "roleRef": {"kind": "Role", "name": "other"}}
    assert errors_on_update("rbac.authorization.k8s.io", "RoleBinding", new, old) == [
        'roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"other"}: cannot change '
        "roleRef"
    ]


def test_pdb() -> None:
    pdb = {"metadata": meta(), "spec": {"minAvailable": 1, "maxUnavailable": 1}}
    assert errors_on_create("policy", "PodDisruptionBudget", pdb) == [
        'spec: Invalid value: {"minAvailable":1,"maxUnavailable":1}: minAvailable and maxUnavailable cannot be both set'
    ]


def test_priority_class() -> None:
    pc = {"metadata": meta("huge", None), "value": 2000000000}
    assert errors_on_create("scheduling.k8s.io", "PriorityClass", pc) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    ]
    old = {"metadata": meta("p", None), "value": 1}
    new = {"metadata": meta("p", None), "value": 2}
    assert errors_on_update("scheduling.k8s.io", "PriorityClass", new, old) == [
        "value: Forbidden: may not be changed in an update."
    ]


def test_lease() -> None:
    lease = {"metadata": meta(), "spec": {"leaseDurationSeconds": 0}}
    assert errors_on_create("coordination.k8s.io", "Lease", lease) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    ]


def test_ingress_path_type_required() -> None:
    ing = {
        "metadata": meta(),
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                        ]
                    }
                }
            ]
        },
    }
    assert errors_on_create("networking.k8s.io", "Ingress", ing) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
    ]


def crd(**spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
        ],
    }
    s.update(spec)
    return {"metadata": meta("widgets.example.com", None), "spec": s}


def test_crd_valid_and_name_rule() -> None:
    assert errors_on_create("apiextensions.k8s.io", "CustomResourceDefinition", crd()) == []
    bad = crd()
    bad["metadata"]["name"] = "widget.example.com"
    assert errors_on_create("apiextensions.k8s.io", "CustomResourceDefinition", bad) == [
        'metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group'
    ]


@pytest.mark.parametrize(
    "spec,expected",
    [
        (
            {"group": "example"},
            'spec.group: Invalid value: "example": should be a domain with at least one dot',
        ),
        (
            {"scope": "Global"},
            'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
        ),
        (
            {
                "versions": [
                    {"name": "v1", "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}}
                ]
            },
            'spec.versions: Invalid value: [{"name":"v1","storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]: '
            "must have exactly one version marked as storage version",
        ),
        (
            {"versions": [{"name": "v1", "storage": True}]},
            "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
        ),
        (
            {"names": {"plural": "Widgets", "kind": "Widget"}},
            'spec.names.plural: Invalid value: "Widgets": ' + DNS1035_ERR,
        ),
    ],
)
def test_crd_spec(spec: dict[str, Any], expected: str) -> None:
    assert expected in errors_on_create("apiextensions.k8s.io", "CustomResourceDefinition", crd(**spec))


def test_crd_protected_group_and_update() -> None:
    k8s = crd(group="widgets.k8s.io")
    k8s["metadata"]["name"] = "widgets.widgets.k8s.io"
    assert errors_on_create("apiextensions.k8s.io", "CustomResourceDefinition", k8s) == [
        "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval "
        'annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'
    ]
    assert errors_on_update(
        "apiextensions.k8s.io", "CustomResourceDefinition", crd(scope="Cluster"), crd()
    ) == ['spec.scope: Invalid value: "Cluster": field is immutable']


def test_custom_resources_and_unknown_kinds_get_metadata_checks() -> None:
    from kubelab.api.resources import ResourceType

    cr_type = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    assert [str(e) for e in validate_create(cr_type, {"metadata": meta("Bad")})] == [
        f'metadata.name: Invalid value: "Bad": {SUBDOMAIN_ERR}'
    ]
    lr = {"metadata": meta("ok")}
    assert validate_create(rt("", "ServiceAccount"), lr) == []


def test_duplicate_messages_are_dropped_and_422_shape() -> None:
    errs = validate_create(rt("", "Pod"), {"metadata": meta("p"), "spec": {"containers": []}})
    apply_err = invalid("Pod", "", "p", errs)
    assert apply_err.code == 422
    assert 'Pod "p" is invalid: [' in apply_err.message
    assert len({str(e) for e in errs}) == len(errs)
