"""Label and field selectors: parsing, matching, canonical strings, upstream error messages, per-kind fields."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.api.resources import BUILTIN, ResourceType
from kubelab.api.selectors import (
    FieldSelector,
    LabelSelector,
    convert_field_label,
    field_set,
    format_label_selector,
    format_labels,
    label_selector_from_dict,
    new_requirement,
    parse_field_selector,
    parse_label_selector,
    selector_from_set,
    selector_to_string,
    validate_field_selector,
)

RT = {(r.group, r.kind): r for r in BUILTIN if r.preferred}
POD, NODE, EVENT, NS = RT[("", "Pod")], RT[("", "Node")], RT[("", "Event")], RT[("", "Namespace")]

LABELS = {"app": "web", "tier": "front", "env": "", "n": "5"}

# ---------------------------------------------------------------------------------------------------------------
# label selectors: parse + match + canonical string


@pytest.mark.parametrize(("sel", "matches", "canonical"), [
    ("", True, ""),
    ("app=web", True, "app=web"),
    ("app==web", True, "app==web"),
    ("app = web", True, "app=web"),
    ("app!=web", False, "app!=web"),
    ("app!=db", True, "app!=db"),
    ("missing!=x", True, "missing!=x"),
    ("app in (web,db)", True, "app in (db,web)"),
    ("app in (db)", False, "app in (db)"),
    ("app notin (db)", True, "app notin (db)"),
    ("missing notin (db)", True, "missing notin (db)"),
    ("missing in (db)", False, "missing in (db)"),
    ("app", True, "app"),
    ("missing", False, "missing"),
    ("!missing", True, "!missing"),
    ("!app", False, "!app"),
    ("env=", True, "env="),
    ("env in ()", True, "env in ()"),
    ("x in (in,notin)", False, "x in (in,notin)"),
    ("tier=front,app=web", True, "app=web,tier=front"),
    ("tier=front, app in (web), !missing", True, "app in (web),!missing,tier=front"),
    ("n>3", True, "n>3"),
    ("n<3", False, "n<3"),
    ("app>3", False, "app>3"),
    ("example.com/role=x", False, "example.com/role=x"),
])
def test_parse_label_selector(sel: str, matches: bool, canonical: str) -> None:
    s = parse_label_selector(sel)
    assert s.matches(LABELS) is matches
    assert str(s) == canonical
    assert parse_label_selector(str(s)) == s  # the canonical form parses back to the same selector


@pytest.mark.parametrize(("sel", "message"), [
    ("app=web=x", "found '=', expected: ',' or 'end of string'"),
    ("app=web,", "found '', expected: identifier after ','"),
    ("=web", "found '=', expected: !, identifier, or 'end of string'"),
    ("app in web", "unable to parse requirement: found 'web' expected: '('"),
    ("app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
    ("app foo", "unable to parse requirement: found 'foo', expected: '=', '!=', '==', 'in', notin'"),
    ("app=(x)", "unable to parse requirement: found '(', expected: identifier"),
    ("!=x", "found '!=', expected: !, identifier, or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a&&b", "unable to parse requirement: <nil>: Invalid value: \"a&&b\": name part must consist of alphanumeric "
             "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
             "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("-a=b", "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric "
             "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
             "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("app=-x", "unable to parse requirement: values[0][app]: Invalid value: \"-x\": a valid label must be an empty "
               "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
               "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
               "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ("a/b/c=x", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of "
                "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. "
                "'example.com/MyName')"),
    ("n>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must "
            "be an integer"),
    ("a" * 64, f"unable to parse requirement: <nil>: Invalid value: \"{'a' * 64}\": name part must be no more than "
               "63 characters"),
])
def test_parse_label_selector_errors(sel: str, message: str) -> None:
    with pytest.raises(ApiError) as e:
        parse_label_selector(sel)
    assert (e.value.code, e.value.reason) == (400, "BadRequest")
    assert e.value.message == message


def test_prefix_errors() -> None:
    with pytest.raises(ApiError) as e:
        parse_label_selector("Example.com/x")
    assert "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters" \
        in e.value.message
    with pytest.raises(ApiError) as e:
        parse_label_selector("/x")
    assert e.value.message.endswith("prefix part must be non-empty")


def test_requires_exact_match_and_empty() -> None:
    s = parse_label_selector("app=web,tier in (a,b),x in (y)")
    assert s.requires_exact_match("app") == "web"
    assert s.requires_exact_match("tier") is None
    assert s.requires_exact_match("x") == "y"
    assert parse_label_selector("").empty() and not s.empty()
    assert parse_label_selector("").matches(None)


# ---------------------------------------------------------------------------------------------------------------
# metav1.LabelSelector


@pytest.mark.parametrize(("sel", "string", "formatted", "matches"), [
    (None, "", "<none>", False),
    ({}, "", "<none>", True),
    ({"matchLabels": {"app": "web"}}, "app=web", "app=web", True),
    ({"matchLabels": {"tier": "front", "app": "web"}}, "app=web,tier=front", "app=web,tier=front", True),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]},
     "tier in (back,front)", "tier in (back,front)", True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]},
     "tier notin (front)", "tier notin (front)", False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}, {"key": "gpu", "operator": "DoesNotExist"}]},
     "app,!gpu", "app,!gpu", True),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]},
     "app=web,app in (db)", "app=web,app in (db)", False),
])
def test_label_selector_from_dict(sel: dict[str, Any] | None, string: str, formatted: str, matches: bool) -> None:
    s = label_selector_from_dict(sel)
    assert str(s) == string
    assert selector_to_string(sel) == string
    assert format_label_selector(sel) == formatted
    assert s.matches(LABELS) is matches


@pytest.mark.parametrize(("sel", "message"), [
    ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
     '"Equals" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In"}]},
     "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"a": "b c"}},
     "values[0][a]: Invalid value: \"b c\": a valid label must be an empty string or consist of alphanumeric "
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
     "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
])
def test_label_selector_from_dict_errors(sel: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as e:
        label_selector_from_dict(sel)
    assert e.value.message == message
    assert format_label_selector(sel) == "<error>"


def test_new_requirement_aggregates_errors() -> None:
    with pytest.raises(ApiError) as e:
        new_requirement("-k", "in", [])
    assert e.value.message.startswith('[key: Invalid value: "-k": name part must consist')
    assert e.value.message.endswith("values: Invalid value: []string{}: for 'in', 'notin' operators, values set "
                                    "can't be empty]")


def test_format_labels_and_set_selector() -> None:
    assert format_labels({}) == "<none>"
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    s = selector_from_set({"app": "web"})
    assert s.matches({"app": "web", "x": "y"}) and not s.matches({})
    assert selector_from_set({}).matches({}) and LabelSelector.nothing().matches({}) is False


# ---------------------------------------------------------------------------------------------------------------
# field selectors


FIELDS = {"metadata.name": "a,b", "status.phase": "Running", "spec.nodeName": "", "x": "a=b\\c"}


@pytest.mark.parametrize(("sel", "matches", "canonical"), [
    ("", True, ""),
    ("status.phase=Running", True, "status.phase=Running"),
    ("status.phase==Running", True, "status.phase=Running"),
    ("status.phase!=Running", False, "status.phase!=Running"),
    ("spec.nodeName=", True, "spec.nodeName="),
    ("spec.nodeName!=", False, "spec.nodeName!="),
    ("unknown=", True, "unknown="),
    ("metadata.name=a\\,b", True, "metadata.name=a\\,b"),
    ("x=a\\=b\\\\c", True, "x=a\\=b\\\\c"),
    ("status.phase=Running,spec.nodeName=", True, "spec.nodeName=,status.phase=Running"),
    ("status.phase=Running,,spec.nodeName=n1", False, "spec.nodeName=n1,status.phase=Running"),
])
def test_parse_field_selector(sel: str, matches: bool, canonical: str) -> None:
    s = parse_field_selector(sel)
    assert s.matches(FIELDS) is matches
    assert str(s) == canonical
    assert parse_field_selector(str(s)) == s


@pytest.mark.parametrize(("sel", "message"), [
    ("status.phase", "invalid selector: 'status.phase'; can't understand 'status.phase'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_parse_field_selector_errors(sel: str, message: str) -> None:
    with pytest.raises(ApiError) as e:
        parse_field_selector(sel)
    assert (e.value.code, e.value.message) == (400, message)


def test_field_selector_requirements_and_exact_match() -> None:
    s = parse_field_selector("spec.nodeName=n1,status.phase!=Failed")
    assert [(r.field, r.operator, r.value) for r in s.requirements] == [
        ("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Failed")]
    assert s.requires_exact_match("spec.nodeName") == "n1"
    assert s.requires_exact_match("status.phase") is None
    assert FieldSelector().empty()


# ---------------------------------------------------------------------------------------------------------------
# per-kind field labels


@pytest.mark.parametrize(("group", "kind", "label", "message"), [
    ("", "Pod", "spec.containers", "field label not supported: spec.containers"),
    ("", "Node", "metadata.namespace", "field label not supported: metadata.namespace"),
    ("", "Namespace", "metadata.namespace", "field label not supported: metadata.namespace"),
    ("", "Event", "message", "field label not supported: message"),
    ("", "ConfigMap", "data.x", '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ("apps", "ReplicaSet", "status.replicas",
     '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ("apps", "Deployment", "spec.replicas",
     '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    ("batch", "Job", "status.active", 'field label "status.active" not supported for batchv1.Job'),
    ("events.k8s.io", "Event", "involvedObject.name", "field label not supported: involvedObject.name"),
])
def test_unsupported_field_labels(group: str, kind: str, label: str, message: str) -> None:
    rt = RT[(group, kind)]
    with pytest.raises(ApiError) as e:
        validate_field_selector(rt, f"{label}=x")
    assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize(("group", "kind", "label"), [
    ("", "Pod", "spec.nodeName"), ("", "Pod", "status.podIP"), ("", "Pod", "spec.hostNetwork"),
    ("", "Node", "spec.unschedulable"), ("", "Secret", "type"), ("", "Service", "spec.clusterIP"),
    ("", "Service", "spec.type"), ("", "Event", "involvedObject.uid"), ("", "Namespace", "status.phase"),
    ("batch", "Job", "status.successful"), ("apps", "Deployment", "metadata.namespace"),
    ("rbac.authorization.k8s.io", "ClusterRole", "metadata.name"),
])
def test_supported_field_labels(group: str, kind: str, label: str) -> None:
    assert convert_field_label(RT[(group, kind)], label, "v") == (label, "v")


def test_field_label_conversions() -> None:
    assert str(validate_field_selector(POD, "spec.host=n1")) == "spec.nodeName=n1"
    ev1 = RT[("events.k8s.io", "Event")]
    s = validate_field_selector(ev1, "regarding.name=web,reportingController=kubelet")
    assert str(s) == "involvedObject.name=web,reportingComponent=kubelet"
    s2 = parse_field_selector("regarding.kind=Pod")
    assert s2.check_supported(ev1) is s2 and str(s2) == "involvedObject.kind=Pod"
    with pytest.raises(ApiError):
        parse_field_selector("spec.foo=1").check_supported(POD)


def test_custom_resource_field_labels() -> None:
    crt = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    cluster_crt = ResourceType("example.com", "v1", "Gadget", "gadgets", False, custom=True)
    assert convert_field_label(crt, "metadata.namespace", "d") == ("metadata.namespace", "d")
    with pytest.raises(ApiError) as e:
        convert_field_label(cluster_crt, "metadata.namespace", "d")
    assert e.value.message == "field label not supported: metadata.namespace"
    assert convert_field_label(crt, "spec.color", "red", [".spec.color"]) == ("spec.color", "red")
    obj = {"metadata": {"name": "w", "namespace": "d"}, "spec": {"color": "red", "on": True, "n": 3}}
    fs = field_set(crt, obj, [".spec.color", ".spec.on", ".spec.n", ".spec.missing"])
    assert fs == {"metadata.name": "w", "metadata.namespace": "d", "spec.color": "red", "spec.on": "true",
                  "spec.n": "3", "spec.missing": ""}


def test_field_sets() -> None:
    pod = {"metadata": {"name": "p", "namespace": "d"},
           "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                    "serviceAccountName": "default"},
           "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}}
    assert field_set(POD, pod) == {
        "metadata.name": "p", "metadata.namespace": "d", "spec.nodeName": "n1", "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "default", "spec.hostNetwork": "false",
        "status.phase": "Running", "status.podIP": "10.0.0.1", "status.nominatedNodeName": ""}
    assert field_set(NODE, {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}) == {
        "metadata.name": "n", "spec.unschedulable": "true"}
    assert field_set(NS, {"metadata": {"name": "dev"}, "status": {"phase": "Terminating"}}) == {
        "metadata.name": "dev", "status.phase": "Terminating"}
    ev = {"metadata": {"name": "e", "namespace": "d"},
          "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d", "uid": "u1"}, "reason": "Pulled",
          "type": "Normal", "source": {"component": "kubelet"}}
    fs = field_set(EVENT, ev)
    assert fs["involvedObject.uid"] == "u1" and fs["source"] == "kubelet" and fs["reportingComponent"] == ""
    sel = validate_field_selector(EVENT, "involvedObject.name=p,involvedObject.namespace=d,involvedObject.uid=u1")
    assert sel.matches(fs)
    ev1 = {"metadata": {"name": "e", "namespace": "d"}, "regarding": {"kind": "Pod", "name": "p"},
           "reportingController": "kubelet", "type": "Warning"}
    sel1 = validate_field_selector(RT[("events.k8s.io", "Event")], "regarding.name=p,type=Warning")
    fs1 = field_set(RT[("events.k8s.io", "Event")], ev1)
    assert sel1.matches(fs1) and fs1["source"] == "kubelet"
    assert field_set(RT[("", "Secret")], {"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"})["type"] \
        == "Opaque"
    assert field_set(RT[("batch", "Job")], {"metadata": {"name": "j"}, "status": {"succeeded": 2}})[
        "status.successful"] == "2"
