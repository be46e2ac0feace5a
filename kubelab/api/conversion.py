"""Conversion between the served version of a resource and the version its objects are stored as.

kube-apiserver decodes every request into the internal type and encodes it into the storage version (and
back, into the requested version, on every read and watch event). kubelab keeps objects as JSON dicts in their
storage version and converts only the few resources whose served versions differ:

  * autoscaling/v1 HorizontalPodAutoscaler, stored as autoscaling/v2. Mirrors
    pkg/apis/autoscaling/v1/conversion.go (Convert_{v1,autoscaling}_HorizontalPodAutoscaler*, the per-metric
    source/status conversions), pkg/apis/autoscaling/v2/conversion.go and pkg/apis/autoscaling/annotations.go:
    v1's targetCPUUtilizationPercentage / currentCPUUtilizationPercentage are the cpu Resource metric with a
    Utilization target; everything v1 cannot say (other metrics, all current metrics, conditions, behavior) is
    kept in the autoscaling.alpha.kubernetes.io/{metrics,current-metrics,conditions,behavior} annotations of
    the v1 object (metrics in the v1 (v2beta1-shaped) MetricSpec/MetricStatus JSON, behavior in the Go field
    names of the internal type, as upstream marshals it) and restored from them on the way back; a v1 object
    without any metric gets the implicit 80% cpu target (autoscaling.DefaultCPUUtilization).
  * events.k8s.io/v1 Event, stored as core/v1 Event. Mirrors pkg/apis/events/v1/conversion.go and the
    generated field-by-field conversion: note<->message, regarding<->involvedObject, reportingController<->
    reportingComponent (the core JSON name of Event.ReportingController), deprecatedSource<->source,
    deprecated{First,Last}Timestamp<->{first,last}Timestamp, deprecatedCount<->count; eventTime, series,
    action, reason, type, related, reportingInstance and metadata carry over as they are.

Simplified:
  * a malformed round-trip annotation is dropped instead of failing the request;
  * zero values of required v1 quantities (targetValue, currentAverageValue, ...) are left out of the
    annotations instead of being written as "0" (so they do not come back as a value "0" either);
  * of several cpu Utilization metrics only the first becomes targetCPUUtilizationPercentage and the others go
    to the metrics annotation (upstream drops them), so that v2 -> v1 -> v2 never loses a target;
  * the behavior annotation keeps the given field order and omits unset fields instead of writing Go's nulls;
  * writing an autoscaling/v2 object does not strip stray round-trip annotations (upstream's v2 conversion
    does); reading it as v1 does;
  * for events.k8s.io/v1 the `omitempty` fields that are empty in the core object ("" strings, a 0 count, null
    series/related) are left out, while eventTime and the deprecated timestamps pass through as they are (null
    stays null, as upstream serialises a zero time; the official Python client rejects a null eventTime);
  * unknown fields are dropped, as decoding into a Go type drops them; nothing is defaulted here (that is
    kubelab.api.defaults' job, on the storage version).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelab.api.resources import ResourceType

Obj = dict[str, Any]
GroupVersion = tuple[str, str]

# pkg/apis/autoscaling/annotations.go
METRIC_SPECS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
METRIC_STATUSES_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_SPECS_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP_ANNOTATIONS = (
    METRIC_SPECS_ANNOTATION, BEHAVIOR_SPECS_ANNOTATION, METRIC_STATUSES_ANNOTATION, CONDITIONS_ANNOTATION,
)
DEFAULT_CPU_UTILIZATION = 80


# ---- public API --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Conversion:
    storage: GroupVersion
    storage_api_version: str
    to_storage: Callable[[Obj], Obj]
    from_storage: Callable[[Obj], Obj]


def storage_version_of(rt: ResourceType) -> GroupVersion | None:
    """(group, version) that objects of rt are stored as, or None when rt's own version is the storage one.

    One dict lookup keyed by (group, version, kind): every resource without conversion is a miss.
    """
    conv = _CONVERSIONS.get((rt.group, rt.version, rt.kind))
    return None if conv is None else conv.storage


def to_storage(rt: ResourceType, obj: Obj) -> Obj:
    """obj in rt's version -> the storage version: a new dict, or obj itself when nothing is to convert."""
    conv = _CONVERSIONS.get((rt.group, rt.version, rt.kind))
    if conv is None or not isinstance(obj, dict) or obj.get("apiVersion") == conv.storage_api_version:
        return obj
    return conv.to_storage(obj)


def from_storage(rt: ResourceType, obj: Obj) -> Obj:
    """A stored obj -> rt's version: a new dict sharing nothing with obj (other readers share the stored one),
    or obj itself when there is nothing to convert."""
    conv = _CONVERSIONS.get((rt.group, rt.version, rt.kind))
    if conv is None or not isinstance(obj, dict) or obj.get("apiVersion") == rt.api_version:
        return obj
    return conv.from_storage(obj)


# ---- helpers -----------------------------------------------------------------------------------------------


def _clone(v: Any) -> Any:
    """Deep copy of a JSON value (dicts and lists; everything else is immutable)."""
    if isinstance(v, dict):
        return {k: _clone(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clone(x) for x in v]
    return v


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _put(out: Obj, key: str, value: Any) -> None:
    if value is not None:
        out[key] = _clone(value)


def _copy_keys(src: Obj, out: Obj, *keys: str) -> None:
    for k in keys:
        if k in src:
            out[k] = _clone(src[k])


def _dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


def _loads_list(text: Any) -> list[Obj] | None:
    """A JSON list of objects from an annotation, or None when absent or malformed."""
    if not isinstance(text, str):
        return None
    try:
        v = json.loads(text)
    except ValueError:
        return None
    if not isinstance(v, list):
        return None
    return [x for x in v if isinstance(x, dict)]


def _rename_keys(v: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(v, dict):
        return {rename(k): _rename_keys(x, rename) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_rename_keys(x, rename) for x in v]
    return v


def _go_name(json_name: str) -> str:
    return json_name[:1].upper() + json_name[1:]


def _json_name(go_name: str) -> str:
    # encoding/json matches field names case-insensitively, so both "ScaleUp" and "scaleUp" decode
    return go_name[:1].lower() + go_name[1:]


# ---- autoscaling: HorizontalPodAutoscaler v1 <-> v2 --------------------------------------------------------

_REF_KEYS = ("kind", "name", "apiVersion")


def _ref(v: Any) -> Obj:
    src = _d(v)
    out: Obj = {}
    _copy_keys(src, out, *_REF_KEYS)
    return out


def _identifier(name: Any, selector: Any) -> Obj:
    out: Obj = {}
    _put(out, "name", name)
    _put(out, "selector", selector)
    return out


def _target(type_: str, value: Any = None, average_value: Any = None, average_utilization: Any = None) -> Obj:
    out: Obj = {"type": type_}
    _put(out, "value", value)
    _put(out, "averageValue", average_value)
    _put(out, "averageUtilization", average_utilization)
    return out


def _value_status(value: Any = None, average_value: Any = None, average_utilization: Any = None) -> Obj:
    out: Obj = {}
    _put(out, "value", value)
    _put(out, "averageValue", average_value)
    _put(out, "averageUtilization", average_utilization)
    return out


def _cpu_metric(utilization: Any) -> Obj:
    target = _target("Utilization", None, None, utilization)
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def _is_cpu(m: Obj) -> bool:
    return m.get("type") == "Resource" and _d(m.get("resource")).get("name") == "cpu"


def _metric_spec_to_v1(m: Obj) -> Obj:
    """v2 MetricSpec -> the v1 (v2beta1-shaped) MetricSpec kept in the metrics annotation."""
    out: Obj = {"type": m.get("type")}
    if isinstance(m.get("object"), dict):
        src = m["object"]
        target, metric = _d(src.get("target")), _d(src.get("metric"))
        o: Obj = {"target": _ref(src.get("describedObject"))}
        _put(o, "metricName", metric.get("name"))
        _put(o, "targetValue", target.get("value"))
        _put(o, "selector", metric.get("selector"))
        _put(o, "averageValue", target.get("averageValue"))
        out["object"] = o
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        target, metric = _d(src.get("target")), _d(src.get("metric"))
        p: Obj = {}
        _put(p, "metricName", metric.get("name"))
        _put(p, "targetAverageValue", target.get("averageValue"))
        _put(p, "selector", metric.get("selector"))
        out["pods"] = p
    for key in ("resource", "containerResource"):
        if isinstance(m.get(key), dict):
            src = m[key]
            target = _d(src.get("target"))
            r: Obj = {}
            _put(r, "name", src.get("name"))
            _put(r, "targetAverageUtilization", target.get("averageUtilization"))
            _put(r, "targetAverageValue", target.get("averageValue"))
            _put(r, "container", src.get("container"))
            out[key] = r
    if isinstance(m.get("external"), dict):
        src = m["external"]
        target, metric = _d(src.get("target")), _d(src.get("metric"))
        e: Obj = {}
        _put(e, "metricName", metric.get("name"))
        _put(e, "metricSelector", metric.get("selector"))
        _put(e, "targetValue", target.get("value"))
        _put(e, "targetAverageValue", target.get("averageValue"))
        out["external"] = e
    return out


def _metric_spec_from_v1(m: Obj) -> Obj:
    """v1 MetricSpec from the metrics annotation -> v2 MetricSpec (target type from what is set)."""
    out: Obj = {"type": m.get("type")}
    if isinstance(m.get("object"), dict):
        src = m["object"]
        kind = "Value" if src.get("averageValue") is None else "AverageValue"
        out["object"] = {
            "describedObject": _ref(src.get("target")),
            "target": _target(kind, src.get("targetValue"), src.get("averageValue")),
            "metric": _identifier(src.get("metricName"), src.get("selector")),
        }
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        out["pods"] = {
            "metric": _identifier(src.get("metricName"), src.get("selector")),
            "target": _target("AverageValue", None, src.get("targetAverageValue")),
        }
    for key in ("resource", "containerResource"):
        if isinstance(m.get(key), dict):
            src = m[key]
            utilization = src.get("targetAverageUtilization")
            kind = "AverageValue" if utilization is None else "Utilization"
            r: Obj = {}
            _put(r, "name", src.get("name"))
            r["target"] = _target(kind, None, src.get("targetAverageValue"), utilization)
            _put(r, "container", src.get("container"))
            out[key] = r
    if isinstance(m.get("external"), dict):
        src = m["external"]
        kind = "AverageValue" if src.get("targetValue") is None else "Value"
        out["external"] = {
            "metric": _identifier(src.get("metricName"), src.get("metricSelector")),
            "target": _target(kind, src.get("targetValue"), src.get("targetAverageValue")),
        }
    return out


def _metric_status_to_v1(m: Obj) -> Obj:
    """v2 MetricStatus -> the v1 MetricStatus kept in the current-metrics annotation."""
    out: Obj = {"type": m.get("type")}
    if isinstance(m.get("object"), dict):
        src = m["object"]
        current, metric = _d(src.get("current")), _d(src.get("metric"))
        o: Obj = {"target": _ref(src.get("describedObject"))}
        _put(o, "metricName", metric.get("name"))
        _put(o, "currentValue", current.get("value"))
        _put(o, "selector", metric.get("selector"))
        _put(o, "averageValue", current.get("averageValue"))
        out["object"] = o
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        current, metric = _d(src.get("current")), _d(src.get("metric"))
        p: Obj = {}
        _put(p, "metricName", metric.get("name"))
        _put(p, "currentAverageValue", current.get("averageValue"))
        _put(p, "selector", metric.get("selector"))
        out["pods"] = p
    for key in ("resource", "containerResource"):
        if isinstance(m.get(key), dict):
            src = m[key]
            current = _d(src.get("current"))
            r: Obj = {}
            _put(r, "name", src.get("name"))
            _put(r, "currentAverageUtilization", current.get("averageUtilization"))
            _put(r, "currentAverageValue", current.get("averageValue"))
            _put(r, "container", src.get("container"))
            out[key] = r
    if isinstance(m.get("external"), dict):
        src = m["external"]
        current, metric = _d(src.get("current")), _d(src.get("metric"))
        e: Obj = {}
        _put(e, "metricName", metric.get("name"))
        _put(e, "metricSelector", metric.get("selector"))
        _put(e, "currentValue", current.get("value"))
        _put(e, "currentAverageValue", current.get("averageValue"))
        out["external"] = e
    return out


def _metric_status_from_v1(m: Obj) -> Obj:
    out: Obj = {"type": m.get("type")}
    if isinstance(m.get("object"), dict):
        src = m["object"]
        out["object"] = {
            "metric": _identifier(src.get("metricName"), src.get("selector")),
            "current": _value_status(src.get("currentValue"), src.get("averageValue")),
            "describedObject": _ref(src.get("target")),
        }
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        out["pods"] = {
            "metric": _identifier(src.get("metricName"), src.get("selector")),
            "current": _value_status(None, src.get("currentAverageValue")),
        }
    for key in ("resource", "containerResource"):
        if isinstance(m.get(key), dict):
            src = m[key]
            r: Obj = {}
            _put(r, "name", src.get("name"))
            r["current"] = _value_status(
                None, src.get("currentAverageValue"), src.get("currentAverageUtilization"))
            _put(r, "container", src.get("container"))
            out[key] = r
    if isinstance(m.get("external"), dict):
        src = m["external"]
        out["external"] = {
            "metric": _identifier(src.get("metricName"), src.get("metricSelector")),
            "current": _value_status(src.get("currentValue"), src.get("currentAverageValue")),
        }
    return out


def _behavior_from_annotation(text: Any) -> Obj | None:
    """The internal HorizontalPodAutoscalerBehavior JSON (Go field names) -> v2 behavior; None unless
    well-formed and non-empty (upstream only moves well-formed data from annotations to fields)."""
    if not isinstance(text, str):
        return None
    try:
        v = json.loads(text)
    except ValueError:
        return None
    if not isinstance(v, dict):
        return None
    behavior = _rename_keys(v, _json_name)
    if not any(isinstance(behavior.get(k), dict) for k in ("scaleUp", "scaleDown")):
        return None
    return behavior  # type: ignore[no-any-return]


def _hpa_v2_to_v1(obj: Obj) -> Obj:
    """Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler, on the stored v2 JSON."""
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    metrics = [m for m in spec.get("metrics") or () if isinstance(m, dict)]
    current = [m for m in status.get("currentMetrics") or () if isinstance(m, dict)]
    conditions = [c for c in status.get("conditions") or () if isinstance(c, dict)]

    cpu_target: Any = None
    other_metrics: list[Obj] = []
    for m in metrics:
        utilization = _d(_d(m.get("resource")).get("target")).get("averageUtilization")
        if cpu_target is None and _is_cpu(m) and utilization is not None:
            cpu_target = utilization
            continue
        other_metrics.append(_metric_spec_to_v1(m))

    # clear any round-trip annotations first, so that the only ones set are the ones produced here
    meta = _clone(_d(obj.get("metadata")))
    old = _d(meta.get("annotations"))
    annotations = {k: v for k, v in old.items() if k not in ROUND_TRIP_ANNOTATIONS}
    if other_metrics:
        annotations[METRIC_SPECS_ANNOTATION] = _dumps(other_metrics)
    if current:  # all of them, even the cpu one, so that its raw value survives too
        annotations[METRIC_STATUSES_ANNOTATION] = _dumps([_metric_status_to_v1(m) for m in current])
    if conditions:
        annotations[CONDITIONS_ANNOTATION] = _dumps(conditions)
    if isinstance(spec.get("behavior"), dict):
        annotations[BEHAVIOR_SPECS_ANNOTATION] = _dumps(_rename_keys(spec["behavior"], _go_name))
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)

    out: Obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta}
    if "spec" in obj:
        v1spec: Obj = {}
        if "scaleTargetRef" in spec:
            v1spec["scaleTargetRef"] = _ref(spec["scaleTargetRef"])
        _copy_keys(spec, v1spec, "minReplicas", "maxReplicas")
        _put(v1spec, "targetCPUUtilizationPercentage", cpu_target)
        out["spec"] = v1spec
    if "status" in obj:
        v1status: Obj = {}
        _copy_keys(status, v1status, "observedGeneration", "lastScaleTime")
        # required (non-omitempty) in v1, so a zero shows
        v1status["currentReplicas"] = status.get("currentReplicas") or 0
        v1status["desiredReplicas"] = status.get("desiredReplicas") or 0
        cpu_current: Any = None
        for m in current:
            utilization = _d(_d(m.get("resource")).get("current")).get("averageUtilization")
            if _is_cpu(m) and utilization is not None:
                cpu_current = utilization
        _put(v1status, "currentCPUUtilizationPercentage", cpu_current)
        out["status"] = v1status
    return out


def _hpa_v1_to_v2(obj: Obj) -> Obj:
    """Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler, producing the v2 JSON."""
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    meta = _clone(_d(obj.get("metadata")))
    annotations = _d(meta.get("annotations"))

    v2spec: Obj = {}
    if "scaleTargetRef" in spec:
        v2spec["scaleTargetRef"] = _ref(spec["scaleTargetRef"])
    _copy_keys(spec, v2spec, "minReplicas", "maxReplicas")
    cpu = spec.get("targetCPUUtilizationPercentage")
    metrics = [_cpu_metric(cpu)] if cpu is not None else []
    other = _loads_list(annotations.get(METRIC_SPECS_ANNOTATION))
    if other:  # the cpu metric, if any, goes after the others
        metrics = [_metric_spec_from_v1(m) for m in other] + metrics
    if not metrics:  # v1's implicit default, made explicit
        metrics = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    v2spec["metrics"] = metrics
    behavior = _behavior_from_annotation(annotations.get(BEHAVIOR_SPECS_ANNOTATION))
    if behavior is not None:
        v2spec["behavior"] = behavior

    current_from_annotation = _loads_list(annotations.get(METRIC_STATUSES_ANNOTATION))
    conditions = _loads_list(annotations.get(CONDITIONS_ANNOTATION))
    v2status: Obj | None = None
    if "status" in obj or current_from_annotation or conditions:
        v2status = {}
        _copy_keys(status, v2status, "observedGeneration", "lastScaleTime")
        if status.get("currentReplicas"):  # omitempty in v2
            v2status["currentReplicas"] = status["currentReplicas"]
        v2status["desiredReplicas"] = status.get("desiredReplicas") or 0
        if current_from_annotation is not None:  # these have more information than the cpu percentage
            v2status["currentMetrics"] = [_metric_status_from_v1(m) for m in current_from_annotation]
        elif status.get("currentCPUUtilizationPercentage") is not None:
            v2status["currentMetrics"] = [{
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": _value_status(None, None, status["currentCPUUtilizationPercentage"]),
                },
            }]
        if conditions:
            v2status["conditions"] = conditions

    # v2 round-trips without any serialized annotations
    if any(k in annotations for k in ROUND_TRIP_ANNOTATIONS):
        kept = {k: v for k, v in annotations.items() if k not in ROUND_TRIP_ANNOTATIONS}
        if kept:
            meta["annotations"] = kept
        else:
            meta.pop("annotations", None)

    out: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
                "spec": v2spec}
    if v2status is not None:
        out["status"] = v2status
    return out


# ---- events: events.k8s.io/v1 Event <-> core/v1 Event ------------------------------------------------------

# (core/v1 JSON name, events.k8s.io/v1 JSON name), in the order of the events.k8s.io/v1 Event struct
_EVENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("action", "action"),
    ("reason", "reason"),
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("type", "type"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)
# the same pairs in the order of the core/v1 Event struct
_CORE_ORDER = ("involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
               "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance")
_CORE_FIELDS = tuple(sorted(_EVENT_FIELDS, key=lambda pair: _CORE_ORDER.index(pair[0])))
# events.k8s.io/v1 fields tagged omitempty whose zero value is not a struct: left out when empty
_EVENTS_OMITEMPTY = frozenset(
    {"series", "reportingController", "reportingInstance", "action", "reason", "related", "note", "type",
     "deprecatedCount"}
)


def _event_to_core(obj: Obj) -> Obj:
    """Convert_v1_Event_To_core_Event: events.k8s.io/v1 -> the stored core/v1 Event."""
    out: Obj = {"apiVersion": "v1", "kind": "Event", "metadata": _clone(_d(obj.get("metadata")))}
    for core, events in _CORE_FIELDS:
        if events in obj:
            out[core] = _clone(obj[events])
    return out


def _event_from_core(obj: Obj) -> Obj:
    """Convert_core_Event_To_v1_Event: the stored core/v1 Event -> events.k8s.io/v1."""
    meta = _clone(_d(obj.get("metadata")))
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta}
    for core, events in _EVENT_FIELDS:
        if core not in obj:
            continue
        v = obj[core]
        if events in _EVENTS_OMITEMPTY and v in (None, "", 0):
            continue
        out[events] = _clone(v)
    return out


_CONVERSIONS: dict[tuple[str, str, str], _Conversion] = {
    ("autoscaling", "v1", "HorizontalPodAutoscaler"):
        _Conversion(("autoscaling", "v2"), "autoscaling/v2", _hpa_v1_to_v2, _hpa_v2_to_v1),
    ("events.k8s.io", "v1", "Event"): _Conversion(("", "v1"), "v1", _event_to_core, _event_from_core),
}
