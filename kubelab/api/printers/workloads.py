"""Server-side printers for workload kinds: deployments, replica sets, daemon sets, stateful sets, jobs, cron jobs,
controller revisions, horizontal pod autoscalers and pod disruption budgets.

Mirrors printDeployment, printReplicaSet, printDaemonSet, printStatefulSet, printJob (with the STATUS column of
recent releases), printCronJob, printControllerRevision, printHorizontalPodAutoscaler (formatHPAMetrics) and
printPodDisruptionBudget of kubernetes/pkg/printers/internalversion/printers.go, always ``Wide: true`` as the API
server builds them.

Simplified: metric quantities are printed as stored; an absent ``spec.replicas`` counts as the API default 1.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from kubelab.api.duration import between, human_duration, parse_timestamp, since
from kubelab.api.errors import ApiError
from kubelab.api.printers.common import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Obj,
    Printer,
    age,
    as_int,
    bool_ptr,
    col,
    containers_cells,
    group_kind_string,
    int_or_string,
    meta,
    name_of,
    template_spec,
)
from kubelab.api.selectors import format_label_selector, format_labels, label_selector_from_dict

# ---------------------------------------------------------------------------------------------------------------
# deployments, replica sets, daemon sets, stateful sets


def _deployment_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    names, images = containers_cells(template_spec(o))
    try:
        selector = str(label_selector_from_dict(spec.get("selector")))
    except ApiError:
        selector = "<invalid>"
    return [name_of(o), f"{as_int(status.get('readyReplicas'))}/{as_int(spec.get('replicas'), 1)}",
            as_int(status.get("updatedReplicas")), as_int(status.get("availableReplicas")), age(o, now),
            names, images, selector]


DEPLOYMENT = Printer((
    NAME,
    col("Ready", description="Number of the pod with ready state"),
    col("Up-to-date", doc="DeploymentStatus.updatedReplicas"),
    col("Available", doc="DeploymentStatus.availableReplicas"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", doc="DeploymentSpec.selector", priority=1),
), _deployment_cells)


def _replica_set_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    names, images = containers_cells(template_spec(o))
    return [name_of(o), as_int(spec.get("replicas"), 1), as_int(status.get("replicas")),
            as_int(status.get("readyReplicas")), age(o, now), names, images,
            format_label_selector(spec.get("selector"))]


REPLICA_SET = Printer((
    NAME,
    col("Desired", "integer", "ReplicaSetSpec.replicas"),
    col("Current", "integer", "ReplicaSetStatus.replicas"),
    col("Ready", "integer", "ReplicaSetStatus.readyReplicas"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", doc="ReplicaSetSpec.selector", priority=1),
), _replica_set_cells)


def _daemon_set_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    status = o.get("status") or {}
    tspec = template_spec(o)
    names, images = containers_cells(tspec)
    return [name_of(o), as_int(status.get("desiredNumberScheduled")), as_int(status.get("currentNumberScheduled")),
            as_int(status.get("numberReady")), as_int(status.get("updatedNumberScheduled")),
            as_int(status.get("numberAvailable")), format_labels(tspec.get("nodeSelector")), age(o, now),
            names, images, format_label_selector((o.get("spec") or {}).get("selector"))]


DAEMON_SET = Printer((
    NAME,
    col("Desired", "integer", "DaemonSetStatus.desiredNumberScheduled"),
    col("Current", "integer", "DaemonSetStatus.currentNumberScheduled"),
    col("Ready", "integer", "DaemonSetStatus.numberReady"),
    col("Up-to-date", "integer", "DaemonSetStatus.updatedNumberScheduled"),
    col("Available", "integer", "DaemonSetStatus.numberAvailable"),
    col("Node Selector", doc="PodSpec.nodeSelector"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", doc="DaemonSetSpec.selector", priority=1),
), _daemon_set_cells)


def _stateful_set_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    names, images = containers_cells(template_spec(o))
    ready = as_int((o.get("status") or {}).get("readyReplicas"))
    return [name_of(o), f"{ready}/{as_int(spec.get('replicas'), 1)}", age(o, now), names, images]


STATEFUL_SET = Printer((
    NAME, col("Ready", description="Number of the pod with ready state"), AGE, CONTAINERS, IMAGES,
), _stateful_set_cells)


def _controller_revision_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    controller = "<none>"
    for ref in meta(o).get("ownerReferences") or ():
        if ref.get("controller"):
            gk = group_kind_string(ref.get("apiVersion") or "", ref.get("kind") or "")
            controller = f"{gk.lower()}/{ref.get('name') or ''}" if gk else ref.get("name") or ""
            break
    return [name_of(o), controller, as_int(o.get("revision")), age(o, now)]


CONTROLLER_REVISION = Printer((
    NAME,
    col("Controller", description="Controller of the object"),
    col("Revision", doc="ControllerRevision.revision"),
    AGE,
), _controller_revision_cells)

# ---------------------------------------------------------------------------------------------------------------
# jobs and cron jobs


def _job_condition(conditions: Any, type_: str) -> bool:
    for c in conditions or ():
        if c.get("type") == type_:
            return bool(c.get("status") == "True")
    return False


def _job_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    succeeded = as_int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{as_int(spec.get('completions'))}"
    else:
        parallelism = as_int(spec.get("parallelism"))
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, end = status.get("startTime"), status.get("completionTime")
    if not start:
        duration = ""
    elif not end:
        t = parse_timestamp(start)
        duration = human_duration(now - t) if t is not None else ""
    else:
        duration = between(start, end)
    conds = status.get("conditions")
    if _job_condition(conds, "Complete"):
        state = "Complete"
    elif _job_condition(conds, "Failed"):
        state = "Failed"
    elif meta(o).get("deletionTimestamp"):
        state = "Terminating"
    elif _job_condition(conds, "Suspended"):
        state = "Suspended"
    elif _job_condition(conds, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = containers_cells(template_spec(o))
    return [name_of(o), state, completions, duration, age(o, now), names, images,
            format_label_selector(spec.get("selector"))]


JOB = Printer((
    NAME,
    col("Status", description="Status of the job."),
    col("Completions", doc="JobStatus.succeeded"),
    col("Duration", description="Time required to complete the job."),
    AGE, CONTAINERS, IMAGES,
    col("Selector", doc="JobSpec.selector", priority=1),
), _job_cells)


def _cron_job_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    last = status.get("lastScheduleTime")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = containers_cells((job_spec.get("template") or {}).get("spec"))
    tz = spec.get("timeZone")
    return [name_of(o), spec.get("schedule") or "", "<none>" if tz is None else tz, bool_ptr(spec.get("suspend")),
            len(status.get("active") or ()), since(last, now) if last else "<none>", age(o, now), names, images,
            format_label_selector(job_spec.get("selector"))]


CRON_JOB = Printer((
    NAME,
    col("Schedule", doc="CronJobSpec.schedule"),
    col("Timezone", doc="CronJobSpec.timeZone"),
    col("Suspend", "boolean", "CronJobSpec.suspend"),
    col("Active", "integer", "CronJobStatus.active"),
    col("Last Schedule", doc="CronJobStatus.lastScheduleTime"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", doc="JobSpec.selector", priority=1),
), _cron_job_cells)

# ---------------------------------------------------------------------------------------------------------------
# autoscaling and disruption budgets


def _metric_status(statuses: list[Any], i: int, key: str) -> Any:
    if len(statuses) > i and isinstance(statuses[i], dict):
        return statuses[i].get(key)
    return None


def format_hpa_metrics(specs: Any, statuses: Any) -> str:
    """formatHPAMetrics (autoscaling/v2 shapes): at most 2 metrics, then `` + N more...``."""
    specs = specs or []
    statuses = statuses or []
    if not specs:
        return "<none>"
    out: list[str] = []
    for i, spec in enumerate(specs):
        t = spec.get("type")
        if t == "External":
            src = spec.get("external") or {}
            target = src.get("target") or {}
            cur = (_metric_status(statuses, i, "external") or {}).get("current") or {}
            if target.get("averageValue") is not None:
                out.append(f"{cur.get('averageValue') or '<unknown>'}/{target['averageValue']} (avg)")
            else:
                out.append(f"{cur.get('value') or '<unknown>'}/{target.get('value') or '0'}")
        elif t == "Pods":
            target = (spec.get("pods") or {}).get("target") or {}
            cur = (_metric_status(statuses, i, "pods") or {}).get("current") or {}
            out.append(f"{cur.get('averageValue') or '<unknown>'}/{target.get('averageValue') or '0'}")
        elif t == "Object":
            target = (spec.get("object") or {}).get("target") or {}
            cur = (_metric_status(statuses, i, "object") or {}).get("current") or {}
            if target.get("averageValue") is not None:
                out.append(f"{cur.get('averageValue') or '<unknown>'}/{target['averageValue']} (avg)")
            else:
                out.append(f"{cur.get('value') or '<unknown>'}/{target.get('value') or '0'}")
        elif t in ("Resource", "ContainerResource"):
            key = "resource" if t == "Resource" else "containerResource"
            src = spec.get(key) or {}
            target = src.get("target") or {}
            cur = (_metric_status(statuses, i, key) or {}).get("current") or {}
            if target.get("averageValue") is not None:
                out.append(f"{src.get('name')}: {cur.get('averageValue') or '<unknown>'}/{target['averageValue']}")
            else:
                util = cur.get("averageUtilization")
                current = f"{util}%" if util is not None else "<unknown>"
                want = target.get("averageUtilization")
                out.append(f"{src.get('name')}: {current}/{f'{want}%' if want is not None else '<auto>'}")
        else:
            out.append("<unknown type>")
    if len(out) > 2:
        return ", ".join(out[:2]) + f" + {len(out) - 2} more..."
    return ", ".join(out)


def _hpa_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    status = o.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    metrics = spec.get("metrics")
    if metrics is None and spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1 shape
        metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}}]
        cpu = status.get("currentCPUUtilizationPercentage")
        current = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}]
        statuses = current if cpu is not None else []
    else:
        statuses = status.get("currentMetrics") or []
    min_pods = spec.get("minReplicas")
    return [name_of(o), f"{ref.get('kind') or ''}/{ref.get('name') or ''}", format_hpa_metrics(metrics, statuses),
            "<unset>" if min_pods is None else str(min_pods), as_int(spec.get("maxReplicas")),
            as_int(status.get("currentReplicas")), age(o, now)]


HPA = Printer((
    NAME,
    col("Reference", doc="HorizontalPodAutoscalerSpec.scaleTargetRef"),
    col("Targets", doc="HorizontalPodAutoscalerSpec.metrics"),
    col("MinPods", doc="HorizontalPodAutoscalerSpec.minReplicas"),
    col("MaxPods", doc="HorizontalPodAutoscalerSpec.maxReplicas"),
    col("Replicas", doc="HorizontalPodAutoscalerStatus.currentReplicas"),
    AGE,
), _hpa_cells)


def _pdb_cells(o: Obj, now: _dt.datetime) -> list[Any]:
    spec = o.get("spec") or {}
    min_a, max_u = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [name_of(o), "N/A" if min_a is None else int_or_string(min_a),
            "N/A" if max_u is None else int_or_string(max_u),
            as_int((o.get("status") or {}).get("disruptionsAllowed")), age(o, now)]


PDB = Printer((
    NAME,
    col("Min Available", description="The minimum number of pods that must be available."),
    col("Max Unavailable", description="The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "integer", description="Calculated number of pods that may be disrupted at this time."),
    AGE,
), _pdb_cells)

PRINTERS: dict[tuple[str, str], Printer] = {
    ("apps", "Deployment"): DEPLOYMENT,
    ("apps", "ReplicaSet"): REPLICA_SET,
    ("apps", "DaemonSet"): DAEMON_SET,
    ("apps", "StatefulSet"): STATEFUL_SET,
    ("apps", "ControllerRevision"): CONTROLLER_REVISION,
    ("batch", "Job"): JOB,
    ("batch", "CronJob"): CRON_JOB,
    ("autoscaling", "HorizontalPodAutoscaler"): HPA,
    ("policy", "PodDisruptionBudget"): PDB,
}
