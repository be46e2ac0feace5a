"""storage_version_of / to_storage / from_storage: the served <-> storage version conversions.

Expected values follow pkg/apis/autoscaling/v1/conversion.go, pkg/apis/autoscaling/annotations.go and
pkg/apis/events/v1/conversion.go of kubernetes/kubernetes; every converted object is also decoded with the
official Python client's models, as a client of the API server would.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest
from kubernetes.client import ApiClient

from kubelab.api.conversion import (
    BEHAVIOR_SPECS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    METRIC_SPECS_ANNOTATION,
    METRIC_STATUSES_ANNOTATION,
    from_storage,
    storage_version_of,
    to_storage,
)
from kubelab.api.resources import BUILTIN, ResourceType

Obj = dict[str, Any]
RT = {(r.group, r.version, r.kind): r for r in BUILTIN}
HPA_V1 = RT[("autoscaling", "v1", "HorizontalPodAutoscaler")]
HPA_V2 = RT[("autoscaling", "v2", "HorizontalPodAutoscaler")]
EVENTS_V1 = RT[("events.k8s.io", "v1", "Event")]
CORE_EVENT = RT[("", "v1", "Event")]


def decode(obj: Obj, model: str) -> Any:
    """What the official client makes of obj as a response body."""
    return ApiClient().deserialize(json.dumps(obj), model, "application/json")


def shares_containers(a: Any, b: Any) -> bool:
    """Does any dict or list inside a also occur (by identity) inside b?"""
    def ids(v: Any, acc: set[int]) -> set[int]:
        if isinstance(v, dict):
            acc.add(id(v))
            for x in v.values():
                ids(x, acc)
        elif isinstance(v, list):
            acc.add(id(v))
            for x in v:
                ids(x, acc)
        return acc
    return bool(ids(a, set()) & ids(b, set()))


# ---- storage_version_of ------------------------------------------------------------------------------------

# A micro-benchmark of storage_version_of for a resource without conversion (a Pod), on this machine:
#   python -m timeit -s "from kubelab.api.conversion import storage_version_of as s; \
#       from kubelab.api.resources import BUILTIN; rt = BUILTIN[9]" "s(rt)"
#   -> ~150 ns per call: one dict.get keyed by (group, version, kind), independent of how many types exist.


@pytest.mark.parametrize("rt", BUILTIN, ids=lambda r: f"{r.group or 'core'}/{r.version}/{r.kind}")
def test_storage_version_of_builtin(rt: ResourceType) -> None:
    expected = {
        ("autoscaling", "v1", "HorizontalPodAutoscaler"): ("autoscaling", "v2"),
        ("events.k8s.io", "v1", "Event"): ("", "v1"),
    }.get((rt.group, rt.version, rt.kind))
    assert storage_version_of(rt) == expected


def test_storage_version_is_the_storage_group_of_resources() -> None:
    # agrees with ResourceType.storage_group / the storage prefix both versions share
    assert EVENTS_V1.storage_prefix == CORE_EVENT.storage_prefix
    assert HPA_V1.storage_prefix == HPA_V2.storage_prefix
    assert storage_version_of(HPA_V2) is None and storage_version_of(CORE_EVENT) is None


def test_custom_resource_is_not_converted() -> None:
    crd = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert storage_version_of(crd) is None
    assert to_storage(crd, obj) is obj and from_storage(crd, obj) is obj


@pytest.mark.parametrize("rt", [HPA_V2, CORE_EVENT, RT[("", "v1", "Pod")], RT[("apps", "v1", "Deployment")]],
                         ids=lambda r: r.kind + "." + r.version)
def test_unconverted_types_return_the_object_itself(rt: ResourceType) -> None:
    obj = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": "x"}}
    assert to_storage(rt, obj) is obj
    assert from_storage(rt, obj) is obj


def test_already_in_target_version_is_returned_as_is() -> None:
    stored = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}
    assert to_storage(HPA_V1, stored) is stored
    served = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}}
    assert from_storage(EVENTS_V1, served) is served


# ---- HorizontalPodAutoscaler -------------------------------------------------------------------------------

META = {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
        "creationTimestamp": "2024-05-01T10:00:00Z"}
REF = {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}


def cpu_metric(n: int) -> Obj:
    target = {"type": "Utilization", "averageUtilization": n}
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def hpa_v1(spec: Obj, status: Obj | None = None, annotations: dict[str, str] | None = None) -> Obj:
    meta = dict(META, annotations=annotations) if annotations is not None else dict(META)
    obj: Obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta,
                "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5, **spec}}
    if status is not None:
        obj["status"] = status
    return obj


def hpa_v2(spec: Obj, status: Obj | None = None, annotations: dict[str, str] | None = None) -> Obj:
    meta = dict(META, annotations=annotations) if annotations is not None else dict(META)
    obj: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
                "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5, **spec}}
    if status is not None:
        obj["status"] = status
    return obj


MEMORY_VALUE = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                              "averageValue": "500Mi"}}}
MEMORY_UTIL = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization",
                                                                             "averageUtilization": 70}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "rps"},
                                 "target": {"type": "AverageValue", "averageValue": "10"}}}
OBJECT = {"type": "Object", "object": {
    "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
    "target": {"type": "Value", "value": "2k"},
    "metric": {"name": "requests", "selector": {"matchLabels": {"path": "/"}}},
}}
OBJECT_AVG = {"type": "Object", "object": {
    "describedObject": {"kind": "Service", "name": "svc", "apiVersion": "v1"},
    "target": {"type": "AverageValue", "averageValue": "100"},
    "metric": {"name": "hits"},
}}
EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "queue_len", "selector": {"matchLabels": {"q": "jobs"}}},
    "target": {"type": "Value", "value": "30"},
}}
EXTERNAL_AVG = {"type": "External", "external": {"metric": {"name": "lag"},
                                                 "target": {"type": "AverageValue", "averageValue": "5"}}}
CONTAINER = {"type": "ContainerResource", "containerResource": {
    "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}}
BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]},
    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15}]},
}
CONDITIONS = [
    {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-05-01T10:01:00Z",
     "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
    {"type": "ScalingActive", "status": "True", "lastTransitionTime": "2024-05-01T10:01:00Z",
     "reason": "ValidMetricFound", "message": "the HPA was able to compute the replica count"},
]
CPU_STATUS = {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "120m",
                                                                           "averageUtilization": 42}}}
MEMORY_STATUS = {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "300Mi"}}}
PODS_STATUS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {"averageValue": "8"}}}
OBJECT_STATUS = {"type": "Object", "object": {
    "metric": {"name": "requests"}, "current": {"value": "1500"},
    "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"}}}
EXTERNAL_STATUS = {"type": "External", "external": {"metric": {"name": "queue_len"},
                                                    "current": {"value": "12", "averageValue": "4"}}}


def test_hpa_v1_cpu_target_to_v2_metric() -> None:
    got = to_storage(HPA_V1, hpa_v1({"targetCPUUtilizationPercentage": 50}))
    assert got == hpa_v2({"metrics": [cpu_metric(50)]})
    model = decode(got, "V2HorizontalPodAutoscaler")
    assert model.spec.metrics[0].resource.target.average_utilization == 50
    assert model.spec.scale_target_ref.name == "web"


def test_hpa_v1_without_target_gets_the_implicit_80_percent() -> None:
    got = to_storage(HPA_V1, hpa_v1({}))
    assert got["spec"]["metrics"] == [cpu_metric(80)]


def test_hpa_v1_status_to_v2() -> None:
    status = {"observedGeneration": 3, "lastScaleTime": "2024-05-01T10:05:00Z", "currentReplicas": 2,
              "desiredReplicas": 3, "currentCPUUtilizationPercentage": 42}
    got = to_storage(HPA_V1, hpa_v1({"targetCPUUtilizationPercentage": 50}, status))
    assert got["status"] == {
        "observedGeneration": 3, "lastScaleTime": "2024-05-01T10:05:00Z", "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [{"type": "Resource",
                            "resource": {"name": "cpu", "current": {"averageUtilization": 42}}}],
    }
    model = decode(got, "V2HorizontalPodAutoscaler")
    assert model.status.current_metrics[0].resource.current.average_utilization == 42
    assert model.status.desired_replicas == 3


def test_hpa_v1_zero_current_replicas_is_omitted_in_v2() -> None:
    got = to_storage(HPA_V1, hpa_v1({}, {"currentReplicas": 0, "desiredReplicas": 0}))
    assert got["status"] == {"desiredReplicas": 0}


def test_hpa_v2_cpu_only_to_v1() -> None:
    status = {"currentReplicas": 2, "desiredReplicas": 2, "currentMetrics": [CPU_STATUS]}
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)]}, status))
    assert got["apiVersion"] == "autoscaling/v1"
    assert got["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                           "targetCPUUtilizationPercentage": 50}
    assert got["status"] == {"currentReplicas": 2, "desiredReplicas": 2,
                             "currentCPUUtilizationPercentage": 42}
    # the raw cpu status is kept as well (upstream: "save the raw value as well")
    assert json.loads(got["metadata"]["annotations"][METRIC_STATUSES_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 42,
                                          "currentAverageValue": "120m"}}]
    assert set(got["metadata"]["annotations"]) == {METRIC_STATUSES_ANNOTATION}
    model = decode(got, "V1HorizontalPodAutoscaler")
    assert model.spec.target_cpu_utilization_percentage == 50
    assert model.status.current_cpu_utilization_percentage == 42


def test_hpa_v2_without_status_or_annotations_to_v1() -> None:
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)]}))
    assert got == hpa_v1({"targetCPUUtilizationPercentage": 50})
    assert "annotations" not in got["metadata"]


def test_hpa_v2_empty_status_has_v1_required_replicas() -> None:
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)]}, {"desiredReplicas": 0}))
    assert got["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    model = decode(got, "V1HorizontalPodAutoscaler")
    assert model.status.current_replicas == 0


@pytest.mark.parametrize("v2,v1", [
    (MEMORY_VALUE, {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}}),
    (MEMORY_UTIL, {"type": "Resource", "resource": {"name": "memory", "targetAverageUtilization": 70}}),
    (PODS, {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10"}}),
    (OBJECT, {"type": "Object", "object": {
        "target": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
        "metricName": "requests", "targetValue": "2k", "selector": {"matchLabels": {"path": "/"}}}}),
    (OBJECT_AVG, {"type": "Object", "object": {
        "target": {"kind": "Service", "name": "svc", "apiVersion": "v1"},
        "metricName": "hits", "averageValue": "100"}}),
    (EXTERNAL, {"type": "External", "external": {"metricName": "queue_len",
                                                 "metricSelector": {"matchLabels": {"q": "jobs"}},
                                                 "targetValue": "30"}}),
    (EXTERNAL_AVG, {"type": "External", "external": {"metricName": "lag", "targetAverageValue": "5"}}),
    (CONTAINER, {"type": "ContainerResource", "containerResource": {
        "name": "cpu", "targetAverageUtilization": 60, "container": "app"}}),
], ids=["memory-value", "memory-util", "pods", "object", "object-avg", "external", "external-avg",
        "container"])
def test_hpa_other_metric_goes_to_annotation_and_back(v2: Obj, v1: Obj) -> None:
    stored = hpa_v2({"metrics": [cpu_metric(50), v2]})
    got = from_storage(HPA_V1, stored)
    assert got["spec"]["targetCPUUtilizationPercentage"] == 50
    assert json.loads(got["metadata"]["annotations"][METRIC_SPECS_ANNOTATION]) == [v1]
    decode(got, "V1HorizontalPodAutoscaler")
    back = to_storage(HPA_V1, got)
    # the cpu metric comes back after the others, as upstream appends it last
    assert back["spec"]["metrics"] == [v2, cpu_metric(50)]
    assert "annotations" not in back["metadata"]
    decode(back, "V2HorizontalPodAutoscaler")


@pytest.mark.parametrize("v2,v1", [
    (MEMORY_STATUS, {"type": "Resource", "resource": {"name": "memory", "currentAverageValue": "300Mi"}}),
    (PODS_STATUS, {"type": "Pods", "pods": {"metricName": "rps", "currentAverageValue": "8"}}),
    (OBJECT_STATUS, {"type": "Object", "object": {
        "target": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
        "metricName": "requests", "currentValue": "1500"}}),
    (EXTERNAL_STATUS, {"type": "External", "external": {"metricName": "queue_len", "currentValue": "12",
                                                        "currentAverageValue": "4"}}),
], ids=["memory", "pods", "object", "external"])
def test_hpa_current_metric_goes_to_annotation_and_back(v2: Obj, v1: Obj) -> None:
    status = {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": [CPU_STATUS, v2]}
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)]}, status))
    assert json.loads(got["metadata"]["annotations"][METRIC_STATUSES_ANNOTATION])[1] == v1
    back = to_storage(HPA_V1, got)
    assert back["status"]["currentMetrics"] == [CPU_STATUS, v2]
    decode(back, "V2HorizontalPodAutoscaler")


def test_hpa_conditions_and_behavior_annotations() -> None:
    status = {"currentReplicas": 1, "desiredReplicas": 1, "conditions": CONDITIONS}
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)], "behavior": BEHAVIOR}, status))
    ann = got["metadata"]["annotations"]
    assert json.loads(ann[CONDITIONS_ANNOTATION]) == CONDITIONS
    # the internal Go type is marshalled, so the behavior annotation has Go field names
    behavior = json.loads(ann[BEHAVIOR_SPECS_ANNOTATION])
    assert behavior["ScaleDown"] == {"StabilizationWindowSeconds": 300, "SelectPolicy": "Max",
                                     "Policies": [{"Type": "Percent", "Value": 100, "PeriodSeconds": 15}]}
    assert ann[BEHAVIOR_SPECS_ANNOTATION].startswith('{"ScaleUp":{"StabilizationWindowSeconds":0,')
    assert "behavior" not in got["spec"] and "conditions" not in got["status"]
    decode(got, "V1HorizontalPodAutoscaler")
    back = to_storage(HPA_V1, got)
    assert back["spec"]["behavior"] == BEHAVIOR
    assert back["status"]["conditions"] == CONDITIONS
    model = decode(back, "V2HorizontalPodAutoscaler")
    assert model.spec.behavior.scale_down.stabilization_window_seconds == 300
    assert model.status.conditions[1].reason == "ValidMetricFound"


def test_hpa_behavior_annotation_accepts_json_field_names() -> None:
    # encoding/json matches names case-insensitively, so lowerCamel annotations decode too
    got = to_storage(HPA_V1, hpa_v1({}, annotations={BEHAVIOR_SPECS_ANNOTATION: json.dumps(BEHAVIOR)}))
    assert got["spec"]["behavior"] == BEHAVIOR


@pytest.mark.parametrize("key,value", [
    (METRIC_SPECS_ANNOTATION, "not json"),
    (METRIC_SPECS_ANNOTATION, '{"type": "Pods"}'),
    (METRIC_STATUSES_ANNOTATION, "[1, 2"),
    (CONDITIONS_ANNOTATION, "null"),
    (BEHAVIOR_SPECS_ANNOTATION, "{}"),
    (BEHAVIOR_SPECS_ANNOTATION, "[]"),
])
def test_hpa_malformed_round_trip_annotations_are_dropped(key: str, value: str) -> None:
    got = to_storage(HPA_V1, hpa_v1({"targetCPUUtilizationPercentage": 60}, {"currentReplicas": 1,
                                                                          "desiredReplicas": 1},
                                    annotations={key: value, "team": "a"}))
    assert got["metadata"]["annotations"] == {"team": "a"}
    assert got["spec"]["metrics"] == [cpu_metric(60)]
    assert "behavior" not in got["spec"]
    assert got["status"] == {"currentReplicas": 1, "desiredReplicas": 1}


def test_hpa_user_annotations_are_kept_and_stale_round_trip_ones_replaced() -> None:
    stale = {METRIC_SPECS_ANNOTATION: json.dumps([{"type": "Pods", "pods": {"metricName": "old",
                                                                             "targetAverageValue": "1"}}]),
             CONDITIONS_ANNOTATION: "[]", "owner": "me"}
    got = from_storage(HPA_V1, hpa_v2({"metrics": [cpu_metric(50)]}, annotations=stale))
    assert got["metadata"]["annotations"] == {"owner": "me"}


def test_hpa_several_cpu_utilization_targets_keep_all_of_them() -> None:
    stored = hpa_v2({"metrics": [cpu_metric(50), MEMORY_VALUE, cpu_metric(70)]})
    got = from_storage(HPA_V1, stored)
    assert got["spec"]["targetCPUUtilizationPercentage"] == 50
    assert len(json.loads(got["metadata"]["annotations"][METRIC_SPECS_ANNOTATION])) == 2
    back = to_storage(HPA_V1, got)
    assert back["spec"]["metrics"] == [MEMORY_VALUE, cpu_metric(70), cpu_metric(50)]


HPA_V2_ROUND_TRIPS = [
    hpa_v2({"metrics": [cpu_metric(50)]}),
    hpa_v2({"metrics": [cpu_metric(50)]}, {"desiredReplicas": 1, "currentReplicas": 1}),
    hpa_v2({"metrics": [MEMORY_VALUE, PODS, OBJECT, OBJECT_AVG, EXTERNAL, EXTERNAL_AVG, CONTAINER,
                        cpu_metric(65)],
            "behavior": BEHAVIOR},
           {"observedGeneration": 2, "lastScaleTime": "2024-05-01T10:05:00Z", "currentReplicas": 3,
            "desiredReplicas": 4, "currentMetrics": [MEMORY_STATUS, CPU_STATUS, PODS_STATUS, OBJECT_STATUS,
                                                     EXTERNAL_STATUS],
            "conditions": CONDITIONS},
           annotations={"note": "kept"}),
    hpa_v2({"metrics": [MEMORY_UTIL]}),  # no cpu target at all
]


@pytest.mark.parametrize("stored", HPA_V2_ROUND_TRIPS, ids=["cpu", "cpu+status", "everything", "no-cpu"])
def test_hpa_v2_v1_v2_round_trip(stored: Obj) -> None:
    before = copy.deepcopy(stored)
    v1 = from_storage(HPA_V1, stored)
    assert stored == before, "the stored object must not be mutated"
    assert not shares_containers(v1, stored)
    model = decode(v1, "V1HorizontalPodAutoscaler")
    assert model.api_version == "autoscaling/v1" and model.metadata.name == "web"
    v1_before = copy.deepcopy(v1)
    back = to_storage(HPA_V1, v1)
    assert v1 == v1_before
    assert back == stored
    decode(back, "V2HorizontalPodAutoscaler")


HPA_V1_ROUND_TRIPS = [
    hpa_v1({"targetCPUUtilizationPercentage": 50}),
    hpa_v1({"targetCPUUtilizationPercentage": 50},
           {"observedGeneration": 1, "currentReplicas": 2, "desiredReplicas": 2,
            "currentCPUUtilizationPercentage": 40}),
    hpa_v1({"targetCPUUtilizationPercentage": 80}, annotations={"a": "b"}),
]


@pytest.mark.parametrize("served", HPA_V1_ROUND_TRIPS, ids=["cpu", "cpu+status", "annotated"])
def test_hpa_v1_v2_v1_round_trip(served: Obj) -> None:
    stored = to_storage(HPA_V1, served)
    decode(stored, "V2HorizontalPodAutoscaler")
    back = from_storage(HPA_V1, stored)
    if "status" in served and served["status"].get("currentCPUUtilizationPercentage") is not None:
        # v2 holds the cpu status as a current metric, which v1 also keeps raw in the annotation
        assert json.loads(back["metadata"]["annotations"].pop(METRIC_STATUSES_ANNOTATION)) == [
            {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 40}}]
        if not back["metadata"]["annotations"]:
            del back["metadata"]["annotations"]
    assert back == served


def test_hpa_v1_without_target_round_trips_to_explicit_80() -> None:
    back = from_storage(HPA_V1, to_storage(HPA_V1, hpa_v1({})))
    assert back["spec"]["targetCPUUtilizationPercentage"] == 80


def test_hpa_to_storage_does_not_mutate_the_request() -> None:
    served = hpa_v1({"targetCPUUtilizationPercentage": 50}, {"currentReplicas": 1, "desiredReplicas": 1},
                    annotations={METRIC_SPECS_ANNOTATION: json.dumps([{"type": "Pods", "pods": {
                        "metricName": "rps", "targetAverageValue": "10"}}]), "x": "y"})
    before = copy.deepcopy(served)
    got = to_storage(HPA_V1, served)
    assert served == before
    assert not shares_containers(got, served)
    assert got["spec"]["metrics"] == [PODS, cpu_metric(50)]
    assert got["metadata"]["annotations"] == {"x": "y"}


# ---- Event -------------------------------------------------------------------------------------------------

EVENT_META = {"name": "web-1.17b", "namespace": "default", "uid": "e-1", "resourceVersion": "9",
              "creationTimestamp": "2024-05-01T10:00:00Z"}
POD_REF = {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "p-1", "apiVersion": "v1",
           "resourceVersion": "5", "fieldPath": "spec.containers{app}"}
NODE_REF = {"kind": "Node", "name": "node-1", "apiVersion": "v1"}

CORE_EVENT_OBJ: Obj = {
    "apiVersion": "v1", "kind": "Event", "metadata": EVENT_META,
    "involvedObject": POD_REF, "reason": "Pulled", "message": "Container image pulled",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2024-05-01T10:00:00Z", "lastTimestamp": "2024-05-01T10:02:00Z", "count": 3,
    "type": "Normal", "eventTime": "2024-05-01T10:00:00.123456Z",
    "series": {"count": 2, "lastObservedTime": "2024-05-01T10:02:00.000001Z"},
    "action": "Pulling", "related": NODE_REF,
    "reportingComponent": "kubelet", "reportingInstance": "node-1",
}
EVENTS_EVENT_OBJ: Obj = {
    "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": EVENT_META,
    "eventTime": "2024-05-01T10:00:00.123456Z",
    "series": {"count": 2, "lastObservedTime": "2024-05-01T10:02:00.000001Z"},
    "reportingController": "kubelet", "reportingInstance": "node-1", "action": "Pulling", "reason": "Pulled",
    "regarding": POD_REF, "related": NODE_REF, "note": "Container image pulled", "type": "Normal",
    "deprecatedSource": {"component": "kubelet", "host": "node-1"},
    "deprecatedFirstTimestamp": "2024-05-01T10:00:00Z", "deprecatedLastTimestamp": "2024-05-01T10:02:00Z",
    "deprecatedCount": 3,
}


def test_core_event_to_events_v1() -> None:
    before = copy.deepcopy(CORE_EVENT_OBJ)
    got = from_storage(EVENTS_V1, CORE_EVENT_OBJ)
    assert CORE_EVENT_OBJ == before
    assert got == EVENTS_EVENT_OBJ
    assert list(got) == list(EVENTS_EVENT_OBJ)  # events.k8s.io/v1 field order
    assert not shares_containers(got, CORE_EVENT_OBJ)
    model = decode(got, "EventsV1Event")
    assert model.note == "Container image pulled"
    assert model.regarding.name == "web-1" and model.regarding.field_path == "spec.containers{app}"
    assert model.related.kind == "Node"
    assert model.reporting_controller == "kubelet" and model.reporting_instance == "node-1"
    assert model.deprecated_source.host == "node-1"
    assert model.deprecated_count == 3
    assert model.event_time == datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=datetime.UTC)
    assert model.series.count == 2


def test_events_v1_to_core_event() -> None:
    before = copy.deepcopy(EVENTS_EVENT_OBJ)
    got = to_storage(EVENTS_V1, EVENTS_EVENT_OBJ)
    assert EVENTS_EVENT_OBJ == before
    assert got == CORE_EVENT_OBJ
    assert list(got) == list(CORE_EVENT_OBJ)  # core/v1 field order
    assert not shares_containers(got, EVENTS_EVENT_OBJ)
    model = decode(got, "CoreV1Event")
    assert model.message == "Container image pulled"
    assert model.involved_object.uid == "p-1"
    assert model.reporting_component == "kubelet"
    assert model.source.component == "kubelet" and model.source.host == "node-1"
    assert model.count == 3 and model.action == "Pulling"
    assert model.first_timestamp == datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize("obj", [CORE_EVENT_OBJ, {
    "apiVersion": "v1", "kind": "Event", "metadata": EVENT_META, "involvedObject": POD_REF,
    "reason": "Started", "message": "Started container app", "source": {"component": "kubelet"},
    "firstTimestamp": "2024-05-01T10:00:00Z", "lastTimestamp": "2024-05-01T10:00:00Z", "count": 1,
    "type": "Normal", "eventTime": "2024-05-01T10:00:00.5Z",
    "reportingComponent": "kubelet", "reportingInstance": "node-1",
}], ids=["full", "old-style"])
def test_core_event_round_trip(obj: Obj) -> None:
    assert to_storage(EVENTS_V1, from_storage(EVENTS_V1, obj)) == obj


@pytest.mark.parametrize("obj", [EVENTS_EVENT_OBJ, {
    "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": EVENT_META,
    "eventTime": "2024-05-01T10:00:00.000000Z", "reportingController": "example.com/ctl",
    "reportingInstance": "ctl-0", "action": "Reconcile", "reason": "Synced", "regarding": POD_REF,
    "note": "synced", "type": "Normal",
}], ids=["full", "new-style"])
def test_events_v1_round_trip(obj: Obj) -> None:
    stored = to_storage(EVENTS_V1, obj)
    decode(stored, "CoreV1Event")
    back = from_storage(EVENTS_V1, stored)
    assert back == obj
    decode(back, "EventsV1Event")


def test_core_event_empty_fields_are_omitted_in_events_v1() -> None:
    # what the core/v1 defaults leave on an event a client created with only the old fields
    stored = {
        "apiVersion": "v1", "kind": "Event", "metadata": EVENT_META, "involvedObject": POD_REF,
        "reason": "Scheduled", "message": "assigned", "source": {}, "firstTimestamp": None,
        "lastTimestamp": None,
        "count": 0, "type": "", "eventTime": "2024-05-01T10:00:00.000001Z", "series": None, "action": "",
        "reportingComponent": "", "reportingInstance": "",
    }
    got = from_storage(EVENTS_V1, stored)
    assert got == {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": EVENT_META,
        "eventTime": "2024-05-01T10:00:00.000001Z", "reason": "Scheduled", "regarding": POD_REF,
        "note": "assigned", "deprecatedSource": {}, "deprecatedFirstTimestamp": None,
        "deprecatedLastTimestamp": None,
    }
    model = decode(got, "EventsV1Event")
    assert model.reason == "Scheduled" and model.deprecated_count is None


def test_unknown_event_fields_are_dropped() -> None:
    got = to_storage(EVENTS_V1, {**EVENTS_EVENT_OBJ, "message": "wrong version", "bogus": 1})
    assert got == CORE_EVENT_OBJ
