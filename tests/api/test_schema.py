"""Schemas from the official client's models: strict unknown fields, type errors, component schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.api import schema
from kubelab.api.resources import BUILTIN, ResourceRegistry, ResourceType

REG = ResourceRegistry()


def rt(group: str, version: str, kind: str) -> ResourceType:
    t = REG.by_kind(group, version, kind)
    assert t is not None
    return t


DEPLOYMENT = rt("apps", "v1", "Deployment")
POD = rt("", "v1", "Pod")

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"anything": "goes"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
                     "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                     "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
                     "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
                    {"name": "side", "image": "busybox"},
                ],
                "nodeSelector": {"disk": "ssd"},
            },
        },
    },
    "status": {"replicas": 0},
}


def with_(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``obj`` with ``value`` set at dotted ``path`` (``[i]`` indexes lists)."""
    out = copy.deepcopy(obj)
    cur: Any = out
    parts = path.replace("[", ".[").split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: Any = int(part[1:-1]) if part.startswith("[") else part
        if last:
            cur[key] = value
        else:
            cur = cur[key]
    return out


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("foo", ["foo"]),
        ("metadata.nmae", ["metadata.nmae"]),
        ("spec.foo", ["spec.foo"]),
        ("spec.template.spec.containers[0].imagePullPolice",
         ["spec.template.spec.containers[0].imagePullPolice"]),
        ("spec.template.spec.containers[1].prots", ["spec.template.spec.containers[1].prots"]),
        ("spec.template.spec.containers[0].ports[0].hostPrt",
         ["spec.template.spec.containers[0].ports[0].hostPrt"]),
        ("spec.template.spec.containers[0].env[0].valueFrom.fieldRef.x",
         ["spec.template.spec.containers[0].env[0].valueFrom.fieldRef.x"]),
        ("spec.template.spec.containers[0].livenessProbe.exec.shell",
         ["spec.template.spec.containers[0].livenessProbe.exec.shell"]),
        ("spec.strategy.rollingUpdate.maxSurge", []),  # IntOrString, whatever it holds
        ("status.bogus", ["status.bogus"]),
        # free-form maps
        ("metadata.labels.anything", []),
        ("metadata.annotations.x", []),
        ("spec.template.spec.nodeSelector.zone", []),
        ("spec.template.spec.containers[0].resources.limits.gpu", []),
        # nulls are not looked into
        ("spec.template", None),
    ],
)
def test_unknown_fields_deployment(path: str, expected: list[str] | None) -> None:
    if expected is None:
        assert schema.unknown_fields(DEPLOYMENT, with_(DEPLOY, path, None)) == []
        return
    assert schema.unknown_fields(DEPLOYMENT, with_(DEPLOY, path, "x")) == expected


def test_known_object_has_no_unknown_fields() -> None:
    assert schema.unknown_fields(DEPLOYMENT, DEPLOY) == []


def test_unknown_fields_in_document_order_and_deduplicated() -> None:
    obj = {"zz": 1, "spec": {"containers": [{"name": "a", "bad": 1}, {"name": "b", "bad": 2}]}, "aa": 2}
    assert schema.unknown_fields(POD, obj) == ["zz", "spec.containers[0].bad", "spec.containers[1].bad", "aa"]


def test_unknown_fields_capped_at_100() -> None:
    obj = {f"f{i}": i for i in range(150)}
    assert len(schema.unknown_fields(POD, obj)) == 100


@pytest.mark.parametrize(
    ("kind", "obj", "expected"),
    [
        (("", "v1", "ConfigMap"), {"data": {"a": "b"}, "binaryData": {"c": "ZA=="}, "imutable": True},
         ["imutable"]),
        (("", "v1", "Secret"), {"data": {"k": "dg=="}, "stringData": {"x": "y"}, "type": "Opaque"}, []),
        (("apps", "v1", "ControllerRevision"), {"data": {"spec": {"any": {"thing": 1}}}, "revision": 1}, []),
        (("", "v1", "Pod"), {"metadata": {"managedFields": [{"fieldsV1": {"f:spec": {}}, "manager": "m",
                                                              "bogus": 1}]}},
         ["metadata.managedFields[0].bogus"]),
        (("", "v1", "Service"), {"spec": {"ports": [{"port": 80, "targetPort": "http", "nme": "x"}]}},
         ["spec.ports[0].nme"]),
        (("batch", "v1", "CronJob"),
         {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
             "containers": [{"name": "c", "image": "i", "comand": ["x"]}]}}}}}},
         ["spec.jobTemplate.spec.template.spec.containers[0].comand"]),
        (("rbac.authorization.k8s.io", "v1", "RoleBinding"),
         {"roleRef": {"kind": "Role", "name": "r", "apiGroup": "rbac.authorization.k8s.io"},
          "subjects": [{"kind": "User", "name": "u", "namespce": "x"}]},
         ["subjects[0].namespce"]),
    ],
)
def test_unknown_fields_other_kinds(
    kind: tuple[str, str, str], obj: dict[str, Any], expected: list[str],
) -> None:
    assert schema.unknown_fields(rt(*kind), obj) == expected


CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": False,
                "properties": {
                    "spec": {
                        "type": "object",
                        "properties": {"size": {"type": "integer", "default": 1, "minimum": 0},
                                       "mode": {"type": "string", "enum": ["a", "b"]},
                                       "tags": {"type": "array", "items": {"type": "string", "whatever": 1}}},
                        "required": ["size"],
                    },
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                               "example": {"free": {"form": True}}},
                },
            }},
            "subresources": {"status": {}},
            "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
        }],
    },
}


def test_crd_schema_is_walked_except_json_values() -> None:
    crd = rt("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
    assert schema.unknown_fields(crd, CRD) == []
    bad = with_(CRD, "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.minimun", 0)
    assert schema.unknown_fields(crd, bad) == [
        "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.minimun"]


def test_custom_resources_are_not_checked() -> None:
    cr = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    assert schema.unknown_fields(cr, {"spec": {"anything": 1}, "foo": 2}) == []


WIDGET_SCHEMA: dict[str, Any] = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}},
         []),
        ({"spec": {"size": 1, "colour": "red"}, "extra": 1}, ["spec.colour", "extra"]),
        ({"metadata": {"name": "w", "lables": {}}}, ["metadata.lables"]),
        ({"spec": {"tags": ["a", "b"]}}, []),
        ({"status": {"anything": {"goes": 1}}}, []),
    ],
)
def test_unknown_fields_structural(obj: dict[str, Any], expected: list[str]) -> None:
    assert schema.unknown_fields_structural(WIDGET_SCHEMA, obj) == expected


def test_unknown_fields_structural_nested() -> None:
    s = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "byName": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"v": {"type": "integer"}}}},
            "port": {"x-kubernetes-int-or-string": True},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object", "properties": {}}}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                         "properties": {"spec": {"type": "object"}}},
        }}}}
    obj = {"spec": {
        "items": [{"n": "a"}, {"n": "b", "m": 1}],
        "labels": {"a": "b"},
        "byName": {"x": {"v": 1, "w": 2}},
        "port": {"odd": 1},
        "raw": {"free": 1, "known": {"bad": 1}},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
    }}
    assert schema.unknown_fields_structural(s, obj) == [
        "spec.items[1].m", "spec.byName.x.w", "spec.raw.known.bad", "spec.template.spec.x"]
    assert schema.unknown_fields_structural(None, {"anything": 1}) == []


def test_strict_error_shape() -> None:
    err = schema.strict_error(["spec.foo", "bar"])
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == 'strict decoding error: unknown field "spec.foo", unknown field "bar"'
    assert schema.strict_messages(["a.b"]) == ['unknown field "a.b"']


@pytest.mark.parametrize(
    ("path", "value", "detail"),
    [
        ("spec.template.spec.containers[0].ports[0].containerPort", "80",
         "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers"
         ".ports.containerPort of type int32"),
        ("spec.replicas", 1.5,
         "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ("spec.template.spec.containers", {"name": "x"},
         "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type "
         "[]v1.Container"),
        ("metadata.labels.app", 1,
         "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
        ("spec.template.spec.terminationGracePeriodSeconds", "30",
         "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec"
         ".terminationGracePeriodSeconds of type int64"),
        ("spec.paused", "yes",
         "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"),
        ("spec.strategy.rollingUpdate.maxSurge", True,
         "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy"
         ".rollingUpdate.maxSurge of type int32"),
        ("spec.template", "x",
         "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.template of type "
         "v1.PodTemplateSpec"),
    ],
)
def test_type_errors(path: str, value: Any, detail: str) -> None:
    errs = schema.type_errors(DEPLOYMENT, with_(DEPLOY, path, value))
    assert [(e.path, e.detail) for e in errs] == [(path, detail)]
    err = schema.decode_error(DEPLOYMENT, with_(DEPLOY, path, value))
    assert err is not None and (err.code, err.reason) == (400, "BadRequest")
    assert err.message == f'Deployment in version "v1" cannot be handled as a Deployment: {detail}'


def test_no_type_errors_on_valid_object() -> None:
    assert schema.type_errors(DEPLOYMENT, DEPLOY) == []
    assert schema.decode_error(DEPLOYMENT, DEPLOY) is None
    ok = with_(DEPLOY, "spec.strategy.rollingUpdate.maxSurge", 2)
    assert schema.type_errors(DEPLOYMENT, ok) == []


# -- model facts --------------------------------------------------------------------------------------------


def test_model_info_facts() -> None:
    info = schema.model_info("V1Container")
    assert info is not None and info.kind == "Container" and info.version == "v1"
    f = info.fields["imagePullPolicy"]
    assert (f.attr, f.type.kind, f.required) == ("image_pull_policy", schema.STRING, False)
    assert info.fields["name"].required
    assert "Image pull policy" in f.description
    assert info.fields["ports"].type.kind == schema.LIST
    assert info.fields["ports"].type.elem == schema.TypeNode(schema.MODEL, model="V1ContainerPort")
    probe = schema.model_info("V1Probe")
    assert probe is not None and "exec" in probe.fields  # declared as var_exec in the client
    props = schema.model_info("V1JSONSchemaProps")
    assert props is not None and {"$ref", "$schema", "not", "x-kubernetes-preserve-unknown-fields"} <= set(
        props.fields)
    assert schema.model_info("NoSuchModel") is None
    assert schema.model_for("", "v1", "Event") == "CoreV1Event"
    assert schema.model_for("events.k8s.io", "v1", "Event") == "EventsV1Event"
    assert schema.model_for("autoscaling", "v1", "Scale") == "V1Scale"
    assert schema.model_for("authentication.k8s.io", "v1", "TokenRequest") == "AuthenticationV1TokenRequest"
    assert schema.model_for("", "v1", "PodExecOptions") is None


def _reachable(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        info = schema.model_info(name)
        if name in seen or info is None:
            continue
        seen.add(name)
        for f in info.fields.values():
            node = f.type
            while node.elem is not None:
                node = node.elem
            if node.kind == schema.MODEL:
                stack.append(node.model)
    return seen


def test_source_facts_match_the_imported_models() -> None:
    """The fast source reader agrees with pydantic's view of the same classes."""
    names = _reachable(["V1Deployment", "V1Service", "V1CustomResourceDefinition", "V1StatusCause"])
    assert len(names) > 140
    for name in sorted(names):
        from_source = schema._facts_from_source(name)
        from_class = schema._facts_from_class(name)
        assert from_source is not None and from_class is not None, name
        assert schema._clean_doc(from_source[0]) == schema._clean_doc(from_class[0]), name
        assert from_source[1] == from_class[1], name


# -- component schemas ---------------------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v.rsplit("/", 1)[-1])
            else:
                out.extend(_refs(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_refs(v))
    return out


def test_component_schemas_are_named_as_upstream_and_closed() -> None:
    comps = schema.component_schemas()
    for name in (
        "io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.PodSpec",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Condition", "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        "io.k8s.apimachinery.pkg.api.resource.Quantity", "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "io.k8s.api.core.v1.TopologySelectorTerm", "io.k8s.api.core.v1.Event", "io.k8s.api.events.v1.Event",
        "io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        "io.k8s.api.policy.v1.Eviction", "io.k8s.api.authentication.v1.TokenRequest",
        "io.k8s.api.rbac.v1.Subject", "io.k8s.api.discovery.v1.EndpointPort",
    ):
        assert name in comps, name
    assert not [n for n in comps if n.startswith("io.k8s.api.batch.v1alpha")]
    missing = {r for s in comps.values() for r in _refs(s)} - set(comps)
    assert missing == set()


def test_every_builtin_kind_has_its_gvk() -> None:
    comps = schema.component_schemas()
    for t in BUILTIN:
        name = schema.component_name(t.model)
        gvk = {"group": t.group, "kind": t.kind, "version": t.version}
        assert gvk in comps[name]["x-kubernetes-group-version-kind"], t
        if schema.model_info(t.model + "List") is None:
            continue  # Binding has no list
        lst = comps[schema.component_name(t.model + "List")]
        assert {**gvk, "kind": t.list_kind} in lst["x-kubernetes-group-version-kind"]


def test_pod_schema_shape() -> None:
    comps = schema.component_schemas(["V1Pod"])
    pod = comps["io.k8s.api.core.v1.Pod"]
    assert pod["type"] == "object" and pod["description"].startswith("Pod is a collection of containers")
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["apiVersion"]["type"] == "string"
    assert pod["properties"]["spec"]["$ref"] == "#/components/schemas/io.k8s.api.core.v1.PodSpec"
    spec = comps["io.k8s.api.core.v1.PodSpec"]
    assert "containers" in spec["required"]
    containers = spec["properties"]["containers"]
    assert containers["type"] == "array" and containers["description"].startswith("List of containers")
    assert containers["items"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]
    assert spec["properties"]["nodeSelector"] == {
        "type": "object", "additionalProperties": {"type": "string"},
        "description": spec["properties"]["nodeSelector"]["description"]}
    port = comps["io.k8s.api.core.v1.ContainerPort"]["properties"]["containerPort"]
    assert (port["type"], port["format"]) == ("integer", "int32")
    limits = comps["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}]}
    assert comps["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["x-kubernetes-int-or-string"] is True
    assert comps["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    secret = schema.component_schemas(["V1Secret"])["io.k8s.api.core.v1.Secret"]
    assert secret["properties"]["data"]["additionalProperties"] == {"type": "string", "format": "byte"}
