"""Server-side Tables: cell values per kind (table-driven), durations, and what real kubectl renders from them.

The kubectl tests run the real binary against a throwaway plain-HTTP aiohttp server that serves minimal legacy
discovery and answers list requests with ``to_table`` output.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubelab.api.duration import human_duration, short_human_duration, since
from kubelab.api.errors import ApiError
from kubelab.api.resources import BUILTIN, ResourceType
from kubelab.api.tables import column_definitions, table_watch_event_object, to_table

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
RT = {(r.group, r.kind): r for r in BUILTIN if r.preferred}
POD, NODE, SVC = RT[("", "Pod")], RT[("", "Node")], RT[("", "Service")]
DEPLOY, RS, DS, STS = RT[("apps", "Deployment")], RT[("apps", "ReplicaSet")], RT[("apps", "DaemonSet")], \
    RT[("apps", "StatefulSet")]
JOB, CJ = RT[("batch", "Job")], RT[("batch", "CronJob")]
KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def ago(seconds: float) -> str:
    return (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, created: float = 300, ns: str | None = "default", **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "creationTimestamp": ago(created), "uid": f"uid-{name}",
                         "resourceVersion": "10"}
    if ns is not None:
        m["namespace"] = ns
    m.update(extra)
    return m


def cells(rt: ResourceType, obj: dict[str, Any]) -> list[Any]:
    cells_: list[Any] = to_table(rt, [obj], NOW)["rows"][0]["cells"]
    return cells_


# ---------------------------------------------------------------------------------------------------------------
# durations


@pytest.mark.parametrize(("seconds", "want"), [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (123, "2m3s"),
    (9 * 60 + 59, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 20 * 60, "3h20m"),
    (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (53 * 3600, "2d5h"), (8 * 86400, "8d"),
    (729 * 86400, "729d"), (730 * 86400, "2y"), (760 * 86400, "2y30d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want
    assert human_duration(dt.timedelta(seconds=seconds)) == want


@pytest.mark.parametrize(("seconds", "want"), [
    (-3, "<invalid>"), (-1, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86400 * 3, "3d"),
    (86400 * 400, "1y"),
])
def test_short_human_duration(seconds: float, want: str) -> None:
    assert short_human_duration(seconds) == want


def test_since_unknown_and_fractional() -> None:
    assert since(None, NOW) == "<unknown>"
    assert since("", NOW) == "<unknown>"
    assert since("2026-01-01T11:59:30.123456Z", NOW) == "29s"
    assert since(NOW + dt.timedelta(seconds=30), NOW) == "<invalid>"


# ---------------------------------------------------------------------------------------------------------------
# pods


def pod(name: str = "p", *, phase: str = "Running", containers: int = 1, statuses: list[dict[str, Any]] | None = None,
        init: list[dict[str, Any]] | None = None, init_statuses: list[dict[str, Any]] | None = None,
        conditions: list[dict[str, Any]] | None = None, **meta_extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    status: dict[str, Any] = {"phase": phase}
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, **meta_extra), "spec": spec, "status": status}


def running(name: str = "c0", restarts: int = 0, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(100)}},
            **extra}


def waiting(reason: str, name: str = "c0", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}, **extra}


def terminated(reason: str = "", code: int = 0, name: str = "c0", signal: int = 0) -> dict[str, Any]:
    t: dict[str, Any] = {"exitCode": code}
    if reason:
        t["reason"] = reason
    if signal:
        t["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": t}}


READY = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]
LAST_TERM = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(180)}}

POD_CASES = [
    ("running", pod(statuses=[running()], conditions=READY), ["1/1", "Running", "0"]),
    ("pending-no-status", pod(phase="Pending"), ["0/1", "Pending", "0"]),
    ("container-creating", pod(phase="Pending", statuses=[waiting("ContainerCreating")]),
     ["0/1", "ContainerCreating", "0"]),
    ("crashloop", pod(statuses=[waiting("CrashLoopBackOff", restarts=5, lastState=LAST_TERM)]),
     ["0/1", "CrashLoopBackOff", "5 (3m ago)"]),
    ("err-image-pull", pod(phase="Pending", statuses=[waiting("ErrImagePull")]), ["0/1", "ErrImagePull", "0"]),
    ("completed", pod(phase="Succeeded", statuses=[terminated("Completed")]), ["0/1", "Completed", "0"]),
    ("error", pod(phase="Failed", statuses=[terminated("Error", 1)]), ["0/1", "Error", "0"]),
    ("exit-code", pod(phase="Failed", statuses=[terminated("", 3)]), ["0/1", "ExitCode:3", "0"]),
    ("signal", pod(phase="Failed", statuses=[terminated("", 137, signal=9)]), ["0/1", "Signal:9", "0"]),
    ("two-of-three", pod(containers=3, statuses=[running("c0"), running("c1"), running("c2", ready=False)],
                         conditions=READY), ["2/3", "Running", "0"]),
    ("terminating", pod(statuses=[running()], deletionTimestamp=ago(5)), ["1/1", "Terminating", "0"]),
    ("terminating-succeeded", pod(phase="Succeeded", statuses=[terminated("Completed")], deletionTimestamp=ago(5)),
     ["0/1", "Completed", "0"]),
    ("node-lost", {**pod(statuses=[running()], deletionTimestamp=ago(5)),
                   "status": {"phase": "Running", "reason": "NodeLost"}}, ["0/1", "Unknown", "0"]),
    ("init-0-of-1", pod(phase="Pending", init=[{"name": "i0", "image": "busybox"}],
                        init_statuses=[waiting("PodInitializing", name="i0")],
                        statuses=[waiting("PodInitializing")]), ["0/1", "Init:0/1", "0"]),
    ("init-1-of-2", pod(phase="Pending", init=[{"name": "i0"}, {"name": "i1"}],
                        init_statuses=[terminated("Completed", name="i0"), running("i1", ready=False)]),
     ["0/1", "Init:1/2", "0"]),
    ("init-crash", pod(phase="Pending", init=[{"name": "i0"}],
                       init_statuses=[waiting("CrashLoopBackOff", name="i0", restarts=2, lastState=LAST_TERM)]),
     ["0/1", "Init:CrashLoopBackOff", "2 (3m ago)"]),
    ("init-error", pod(phase="Pending", init=[{"name": "i0"}], init_statuses=[terminated("Error", 1, name="i0")]),
     ["0/1", "Init:Error", "0"]),
    ("init-exit", pod(phase="Pending", init=[{"name": "i0"}], init_statuses=[terminated("", 2, name="i0")]),
     ["0/1", "Init:ExitCode:2", "0"]),
    ("sidecar", pod(init=[{"name": "side", "restartPolicy": "Always"}],
                    init_statuses=[{**running("side"), "started": True}], statuses=[running()], conditions=READY),
     ["2/2", "Running", "0"]),
    ("scheduling-gated", pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False",
                                                            "reason": "SchedulingGated"}]),
     ["0/1", "SchedulingGated", "0"]),
    ("completed-but-running", pod(containers=2, statuses=[running("c0"), terminated("Completed", name="c1")],
                                  conditions=[{"type": "Ready", "status": "False"}]), ["1/2", "NotReady", "0"]),
    ("evicted", {**pod(phase="Failed"), "status": {"phase": "Failed", "reason": "Evicted"}},
     ["0/1", "Evicted", "0"]),
]


@pytest.mark.parametrize(("obj", "want"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_cells(obj: dict[str, Any], want: list[str]) -> None:
    c = cells(POD, obj)
    assert c[1:4] == want
    assert c[0] == "p" and c[4] == "5m"


def test_pod_wide_cells_and_conditions() -> None:
    p = pod(statuses=[running()], conditions=READY + [{"type": "www.example.com/gate", "status": "True"}])
    p["spec"].update(nodeName="node-1", readinessGates=[{"conditionType": "www.example.com/gate"},
                                                        {"conditionType": "other"}])
    p["status"].update(podIPs=[{"ip": "10.1.0.7"}], nominatedNodeName="node-2")
    assert cells(POD, p)[5:] == ["10.1.0.7", "node-1", "node-2", "1/2"]
    assert cells(POD, pod())[5:] == ["<none>", "<none>", "<none>", "<none>"]
    t = to_table(POD, [pod(phase="Succeeded"), pod(phase="Failed"), pod()], NOW)
    assert t["rows"][0]["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                           "message": "The pod has completed successfully."}]
    assert t["rows"][1]["conditions"][0]["reason"] == "Failed"
    assert "conditions" not in t["rows"][2]


def test_pod_restart_uses_latest_termination() -> None:
    older = {"terminated": {"exitCode": 1, "finishedAt": ago(3600)}}
    newer = {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}
    p = pod(containers=2, statuses=[running("c0", restarts=1, lastState=older),
                                    running("c1", restarts=2, lastState=newer)], conditions=READY)
    assert cells(POD, p)[3] == "3 (30s ago)"


# ---------------------------------------------------------------------------------------------------------------
# table envelope


def test_table_envelope_and_include_object() -> None:
    p = pod("web", statuses=[running()], conditions=READY)
    t = to_table(POD, [p], NOW, resource_version="42", continue_token="abc", remaining=3)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42", "continue": "abc", "remainingItemCount": 3}
    names = [c["name"] for c in t["columnDefinitions"]]
    assert names == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert [c["priority"] for c in t["columnDefinitions"]] == [0] * 5 + [1] * 4
    assert t["columnDefinitions"][0]["format"] == "name"
    assert t["columnDefinitions"][0]["description"].startswith("Name must be unique within a namespace.")
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in t["columnDefinitions"])
    row = t["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": p["metadata"]}
    assert to_table(POD, [p], NOW, include_object="Object")["rows"][0]["object"] is p
    assert to_table(POD, [p], NOW, include_object="None")["rows"][0]["object"] is None
    assert to_table(POD, [], NOW)["metadata"] == {}
    assert to_table(POD, [], NOW)["rows"] == []
    with pytest.raises(ApiError) as e:
        to_table(POD, [p], NOW, include_object="Everything")
    assert e.value.code == 400 and e.value.message == 'unrecognized includeObject value: "Everything"'
    json.dumps(t)


def test_watch_event_object() -> None:
    p = pod("web", statuses=[running()], conditions=READY)
    p["metadata"]["resourceVersion"] = "77"
    first = table_watch_event_object(POD, p, NOW, with_column_definitions=True)
    later = table_watch_event_object(POD, p, NOW)
    assert first["columnDefinitions"] and later["columnDefinitions"] is None
    assert later["metadata"] == {"resourceVersion": "77"} and len(later["rows"]) == 1
    assert [c["name"] for c in column_definitions(POD)] == [c["name"] for c in first["columnDefinitions"]]


def test_to_table_1000_pods_is_fast() -> None:
    pods = []
    for i in range(1000):
        p = pod(f"web-{i}", containers=2, statuses=[running("c0"), waiting("CrashLoopBackOff", "c1", 3,
                                                                           lastState=LAST_TERM)],
                conditions=READY, created=1000 + i)
        p["spec"]["nodeName"] = f"node-{i % 7}"
        p["status"]["podIP"] = f"10.0.{i // 250}.{i % 250}"
        pods.append(p)
    best = min(_timed(lambda: to_table(POD, pods, NOW)) for _ in range(10))
    assert best < 0.02, f"to_table of 1000 pods took {best * 1000:.1f} ms"


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------------------------
# nodes, workloads, services, others


def node(name: str, ready: str | None = "True", unschedulable: bool = False, labels: dict[str, str] | None = None
         ) -> dict[str, Any]:
    conds = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conds.append({"type": "Ready", "status": ready})
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta(name, 86400 * 3, None, labels=labels or {}),
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conds,
                       "addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP",
                                                                             "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://2.1.0"}}}


def test_node_cells() -> None:
    cp = node("cp", labels={"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": ""})
    assert cells(NODE, cp) == ["cp", "Ready", "control-plane,master", "3d", "v1.37.0", "172.18.0.2", "<none>",
                               "Debian GNU/Linux 12 (bookworm)", "6.8.0", "containerd://2.1.0"]
    assert cells(NODE, node("w", unschedulable=True))[1:3] == ["Ready,SchedulingDisabled", "<none>"]
    assert cells(NODE, node("w", ready="False"))[1] == "NotReady"
    assert cells(NODE, node("w", ready="Unknown"))[1] == "NotReady"
    assert cells(NODE, node("w", ready=None))[1] == "Unknown"
    assert cells(NODE, node("w", labels={"kubernetes.io/role": "infra"}))[2] == "infra"
    bare = {"metadata": {"name": "x"}}
    assert cells(NODE, bare) == ["x", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>",
                                 "<unknown>", "<unknown>"]


def template(*images: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)]}}


def test_workload_cells() -> None:
    d = {"metadata": meta("web"), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                           "template": template("nginx:1.27", "busybox")},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells(DEPLOY, d) == ["web", "2/3", 3, 2, "5m", "c0,c1", "nginx:1.27,busybox", "app=web"]
    rs = {"metadata": meta("web-5d8f"), "spec": {"replicas": 2, "selector": {
        "matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In",
                                                             "values": ["b", "a"]}]}, "template": template("nginx")},
        "status": {"replicas": 2, "readyReplicas": 1}}
    assert cells(RS, rs) == ["web-5d8f", 2, 2, 1, "5m", "c0", "nginx", "app=web,tier in (a,b)"]
    ds = {"metadata": meta("agent"), "spec": {"selector": {"matchLabels": {"app": "agent"}},
                                              "template": {"spec": {"containers": [{"name": "a", "image": "x"}],
                                                                    "nodeSelector": {"os": "linux"}}}},
          "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                     "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert cells(DS, ds) == ["agent", 3, 3, 2, 3, 2, "os=linux", "5m", "a", "x", "app=agent"]
    sts = {"metadata": meta("db"), "spec": {"replicas": 3, "template": template("postgres")},
           "status": {"readyReplicas": 1}}
    assert cells(STS, sts) == ["db", "1/3", "5m", "c0", "postgres"]


@pytest.mark.parametrize(("spec", "status", "extra_meta", "want"), [
    ({"completions": 1}, {"succeeded": 1, "startTime": ago(100), "completionTime": ago(40),
                          "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                         {"type": "Complete", "status": "True"}]}, {},
     ["Complete", "1/1", "60s"]),
    ({"completions": 3, "parallelism": 2}, {"succeeded": 1, "startTime": ago(125)}, {}, ["Running", "1/3", "2m5s"]),
    ({"parallelism": 4}, {}, {}, ["Running", "0/1 of 4", ""]),
    ({}, {"failed": 6, "startTime": ago(60), "conditions": [{"type": "Failed", "status": "True"}]}, {},
     ["Failed", "0/1", "60s"]),
    ({"completions": 1}, {"conditions": [{"type": "Suspended", "status": "True"}]}, {}, ["Suspended", "0/1", ""]),
    ({"completions": 1}, {}, {"deletionTimestamp": ago(1)}, ["Terminating", "0/1", ""]),
    ({"completions": 1}, {"conditions": [{"type": "FailureTarget", "status": "True"}]}, {},
     ["FailureTarget", "0/1", ""]),
])
def test_job_cells(spec: dict[str, Any], status: dict[str, Any], extra_meta: dict[str, Any], want: list[str]
                   ) -> None:
    j = {"metadata": meta("pi", **extra_meta), "spec": {**spec, "selector": {"matchLabels": {
        "batch.kubernetes.io/controller-uid": "u1"}}, "template": template("perl")}, "status": status}
    c = cells(JOB, j)
    assert c[1:4] == want
    assert c[4:] == ["5m", "c0", "perl", "batch.kubernetes.io/controller-uid=u1"]


def test_cronjob_cells() -> None:
    cj = {"metadata": meta("backup", 7200), "spec": {"schedule": "*/5 * * * *", "suspend": False, "jobTemplate": {
        "spec": {"template": template("busybox")}}}, "status": {"active": [{"name": "backup-1"}],
                                                                "lastScheduleTime": ago(65)}}
    assert cells(CJ, cj) == ["backup", "*/5 * * * *", "<none>", "False", 1, "65s", "120m", "c0", "busybox", "<none>"]
    cj["spec"].update(timeZone="Etc/UTC")
    del cj["spec"]["suspend"]
    del cj["status"]["lastScheduleTime"]
    assert cells(CJ, cj)[2:6] == ["Etc/UTC", "<unset>", 1, "<none>"]


@pytest.mark.parametrize(("spec", "status", "want"), [
    ({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
      "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}], "selector": {"k8s-app": "dns"}},
     {}, ["ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "5m", "k8s-app=dns"]),
    ({"type": "NodePort", "clusterIP": "10.96.1.1", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
     {}, ["NodePort", "10.96.1.1", "<none>", "80:30080/TCP", "5m", "<none>"]),
    ({"type": "LoadBalancer", "clusterIP": "10.96.1.2", "ports": [{"port": 443, "nodePort": 31443}]}, {},
     ["LoadBalancer", "10.96.1.2", "<pending>", "443:31443/TCP", "5m", "<none>"]),
    ({"type": "LoadBalancer", "clusterIP": "10.96.1.2", "externalIPs": ["1.2.3.4"], "ports": []},
     {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}},
     ["LoadBalancer", "10.96.1.2", "5.6.7.8,lb.example.com,1.2.3.4", "<none>", "5m", "<none>"]),
    ({"type": "ExternalName", "externalName": "db.example.com"}, {},
     ["ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"]),
    ({"clusterIP": "None", "ports": [{"port": 5432}]}, {},
     ["ClusterIP", "None", "<none>", "5432/TCP", "5m", "<none>"]),
])
def test_service_cells(spec: dict[str, Any], status: dict[str, Any], want: list[Any]) -> None:
    assert cells(SVC, {"metadata": meta("s"), "spec": spec, "status": status})[1:] == want


def test_endpoints_more_rule() -> None:
    ep = RT[("", "Endpoints")]
    five = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
                                                  "ports": [{"port": 80}]}]}
    assert cells(ep, five)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
    two = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                                                 "ports": [{"port": 80}, {"port": 443}]}]}
    assert cells(ep, two)[1] == "10.0.0.1:80,[fd00::1]:80,10.0.0.1:443 + 1 more..."
    assert cells(ep, {"metadata": meta("none")})[1] == "<none>"
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "10.0.0.9"}]}]}
    assert cells(ep, headless)[1] == "10.0.0.9"


def test_event_cells_core_and_events_v1() -> None:
    ev = {"metadata": meta("web-1.17a", ns="default"), "involvedObject": {"kind": "Pod", "name": "web-1",
                                                                          "fieldPath": "spec.containers{web}"},
          "reason": "Pulled", "message": "  Container image pulled \n", "type": "Normal",
          "source": {"component": "kubelet", "host": "node-1"}, "firstTimestamp": ago(600),
          "lastTimestamp": ago(30), "count": 4}
    ct = RT[("", "Event")]
    assert cells(ct, ev) == ["30s", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node-1",
                             "Container image pulled", "10m", 4, "web-1.17a"]
    assert [c["name"] for c in column_definitions(ct)] == [
        "Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"]
    new = {"metadata": meta("e2"), "regarding": {"kind": "Deployment", "name": "web"}, "reason": "ScalingReplicaSet",
           "note": "Scaled up", "type": "Normal", "eventTime": "2026-01-01T11:59:00.000000Z",
           "reportingController": "deployment-controller", "reportingInstance": ""}
    assert cells(RT[("events.k8s.io", "Event")], new) == [
        "60s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller", "Scaled up", "60s", 1,
        "e2"]
    series = dict(ev, series={"count": 9, "lastObservedTime": "2026-01-01T11:59:55.000000Z"})
    assert cells(ct, series)[0] == "5s" and cells(ct, series)[8] == 9


def test_other_builtin_cells() -> None:
    ns = {"metadata": meta("dev", ns=None), "status": {"phase": "Active"}}
    assert cells(RT[("", "Namespace")], ns) == ["dev", "Active", "5m"]
    cm = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells(RT[("", "ConfigMap")], cm) == ["cfg", 3, "5m"]
    sec = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "x", "tls.key": "y"}}
    assert cells(RT[("", "Secret")], sec) == ["tls", "kubernetes.io/tls", 2, "5m"]
    sa = {"metadata": meta("default"), "secrets": []}
    assert cells(RT[("", "ServiceAccount")], sa) == ["default", 0, "5m"]
    lease = {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "cp_1234"}}
    assert cells(RT[("coordination.k8s.io", "Lease")], lease) == ["kube-scheduler", "cp_1234", "5m"]
    rb = {"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"},
          "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "x"},
                       {"kind": "Group", "name": "devs"}, {"kind": "User", "name": "bob"}]}
    assert cells(RT[("rbac.authorization.k8s.io", "RoleBinding")], rb) == [
        "rb", "ClusterRole/view", "5m", "alice, bob", "devs", "x/sa"]
    sc = {"metadata": meta("standard", ns=None, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
          "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}
    assert cells(RT[("storage.k8s.io", "StorageClass")], sc) == [
        "standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "5m"]
    pvc = {"metadata": meta("data"), "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
           "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}
    assert cells(RT[("", "PersistentVolumeClaim")], pvc) == [
        "data", "Bound", "pv-1", "1Gi", "RWO", "standard", "<unset>", "5m", "<unset>"]
    ing = {"metadata": meta("web"), "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}],
                                             "tls": [{"hosts": ["a.example.com"]}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.5"}]}}}
    assert cells(RT[("networking.k8s.io", "Ingress")], ing) == [
        "web", "nginx", "a.example.com", "172.18.0.5", "80, 443", "5m"]
    pdb = {"metadata": meta("web"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    assert cells(RT[("policy", "PodDisruptionBudget")], pdb) == ["web", "50%", "N/A", 1, "5m"]
    hpa = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                             "minReplicas": 1, "maxReplicas": 5, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                    "averageUtilization": 80}}}]},
           "status": {"currentReplicas": 2, "currentMetrics": [
               {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}}
    assert cells(RT[("autoscaling", "HorizontalPodAutoscaler")], hpa) == [
        "web", "Deployment/web", "cpu: 12%/80%", "1", 5, 2, "5m"]
    cr = {"metadata": meta("web-7d4b", ownerReferences=[{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                         "name": "web", "controller": True}]), "revision": 2}
    assert cells(RT[("apps", "ControllerRevision")], cr) == ["web-7d4b", "statefulset.apps/web", 2, "5m"]
    eps = {"metadata": meta("web-abc"), "addressType": "IPv4", "ports": [{"port": 80}, {"name": "x"}],
           "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(5)]}
    assert cells(RT[("discovery.k8s.io", "EndpointSlice")], eps) == [
        "web-abc", "IPv4", "80,x", "10.0.0.0,10.0.0.1,10.0.0.2 + 2 more...", "5m"]


def test_default_convertor_for_kinds_without_printer() -> None:
    role = {"metadata": meta("reader", created=0)}
    t = to_table(RT[("rbac.authorization.k8s.io", "Role")], [role], NOW)
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"), ("Created At", "date")]
    assert t["rows"][0]["cells"] == ["reader", "2026-01-01T12:00:00Z"]
    crd = RT[("apiextensions.k8s.io", "CustomResourceDefinition")]
    assert [c["name"] for c in column_definitions(crd)] == ["Name", "Created At"]


def test_custom_resource_columns() -> None:
    crt = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)
    w = {"metadata": meta("w1", labels={"app.kubernetes.io/name": "shop"}),
         "spec": {"replicas": 3, "size": 1.5, "enabled": True, "items": [{"n": "a"}, {"n": "b"}], "m": {"x": 1}},
         "status": {"phase": "Ready", "conditions": [{"type": "Ready", "lastTransitionTime": ago(90)}]}}
    t = to_table(crt, [w], NOW)
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"), ("Age", "date")]
    assert t["rows"][0]["cells"] == ["w1", "5m"]
    cols: list[dict[str, Any]] = [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Size", "type": "number", "jsonPath": ".spec.size", "priority": 1},
        {"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "The phase"},
        {"name": "Since", "type": "date", "jsonPath": ".status.conditions[0].lastTransitionTime"},
        {"name": "First", "type": "string", "jsonPath": ".spec.items[*].n"},
        {"name": "App", "type": "string", "jsonPath": ".metadata.labels['app\\.kubernetes\\.io/name']"},
        {"name": "Map", "type": "string", "jsonPath": ".spec.m"},
        {"name": "Missing", "type": "string", "jsonPath": ".spec.nope"},
    ]
    t = to_table(crt, [w], NOW, columns=cols)
    assert t["rows"][0]["cells"] == ["w1", 3, 1.5, True, "Ready", "90s", "a", "shop", "map[x:1]", None]
    defs = t["columnDefinitions"]
    assert defs[2]["priority"] == 1 and defs[4]["description"] == "The phase"
    assert defs[1]["description"] == "Custom resource definition column (in JSONPath format): .spec.replicas"


# ---------------------------------------------------------------------------------------------------------------
# real kubectl against a throwaway server


def _resource(name: str, kind: str, namespaced: bool, short: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": ["get", "list", "watch", "create", "delete", "patch", "update"], "shortNames": short or []}


DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in ("apps", "batch")]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        _resource("pods", "Pod", True, ["po"]), _resource("nodes", "Node", False, ["no"]),
        _resource("services", "Service", True, ["svc"])]},
    "/apis/apps/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": [
        _resource("deployments", "Deployment", True, ["deploy"])]},
    "/apis/batch/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1", "resources": [
        _resource("jobs", "Job", True)]},
}


class FakeAPIServer:
    """Plain-HTTP discovery plus Table lists computed from ``self.objects`` at request time."""

    def __init__(self) -> None:
        self.objects: dict[ResourceType, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    def _paths(self) -> dict[str, tuple[ResourceType, str | None]]:
        out: dict[str, tuple[ResourceType, str | None]] = {}
        for rt, objs in self.objects.items():
            base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
            out[f"{base}/{rt.plural}"] = (rt, None)
            for ns in {o["metadata"].get("namespace") for o in objs} | {"default"}:
                if rt.namespaced:
                    out[f"{base}/namespaces/{ns}/{rt.plural}"] = (rt, ns)
        return out

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path_qs, request.headers.get("Accept", "")))
        if request.path in DISCOVERY:
            return web.json_response(DISCOVERY[request.path])
        target = self._paths().get(request.path)
        if target is None:
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                      "reason": "NotFound", "message": "not found"}, status=404)
        rt, ns = target
        objs = [o for o in self.objects[rt] if ns is None or o["metadata"].get("namespace") == ns]
        assert "as=Table" in request.headers.get("Accept", "")
        if request.query.get("watch") == "true":
            return await self._watch(request, rt, objs)
        table = to_table(rt, objs, NOW, resource_version="100")
        return web.Response(body=json.dumps(table).encode(), headers={"Content-Type": "application/json;as=Table;v=v1;g=meta.k8s.io"})

    async def _watch(self, request: web.Request, rt: ResourceType, objs: list[dict[str, Any]]) -> web.StreamResponse:
        """Replay every object as MODIFIED (one-row Tables, headers only on the first), then end the stream."""
        resp = web.StreamResponse(headers={"Content-Type": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i, o in enumerate(objs):
            ev = {"type": "MODIFIED", "object": table_watch_event_object(rt, o, NOW, with_column_definitions=i == 0)}
            await resp.write(json.dumps(ev).encode() + b"\n")
        await resp.write_eof()
        return resp

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> FakeAPIServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def _cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def fake_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeAPIServer, Path]]:
    if not Path(KUBECTL).exists():
        pytest.skip("kubectl binary not installed next to the interpreter")
    srv = FakeAPIServer().start()
    d = tmp_path_factory.mktemp("kubectl")
    kc = d / "kubeconfig"
    kc.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{srv.port}"}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "nobody", "namespace": "default"}}],
    }))
    srv.objects = {
        POD: [
            pod("web-1", statuses=[running()], conditions=READY, created=300),
            pod("crash", statuses=[waiting("CrashLoopBackOff", restarts=5, lastState=LAST_TERM)], created=3700),
            pod("pending", phase="Pending", created=10),
            pod("creating", phase="Pending", statuses=[waiting("ContainerCreating")], created=20),
            pod("done", phase="Succeeded", statuses=[terminated("Completed")], created=86400 * 2 + 3600 * 5),
            pod("init", phase="Pending", init=[{"name": "i0"}], init_statuses=[waiting("PodInitializing", "i0")],
                created=45),
            pod("bye", statuses=[running()], conditions=READY, deletionTimestamp=ago(1), created=130),
            pod("other", statuses=[running()], conditions=READY, ns="kube-system", created=600),
        ],
        NODE: [node("cp", labels={"node-role.kubernetes.io/control-plane": ""}), node("w1", unschedulable=True)],
        SVC: [{"metadata": meta("kubernetes"), "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1",
                                                        "ports": [{"port": 443, "protocol": "TCP"}]}},
              {"metadata": meta("web"), "spec": {"type": "NodePort", "clusterIP": "10.96.5.5", "selector": {
                  "app": "web"}, "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}],
        JOB: [{"metadata": meta("pi", created=400), "spec": {"completions": 1, "template": template("perl")},
               "status": {"succeeded": 1, "startTime": ago(390), "completionTime": ago(330),
                          "conditions": [{"type": "Complete", "status": "True"}]}},
              {"metadata": meta("fresh", created=5), "spec": {"completions": 2, "template": template("perl")},
               "status": {}}],
        DEPLOY: [{"metadata": meta("web", created=7200), "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template("nginx:1.27")},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}],
    }
    pods = srv.objects[POD]
    pods[1]["spec"]["nodeName"] = "w1"
    pods[1]["status"]["podIP"] = "10.244.1.7"
    try:
        yield srv, kc
    finally:
        srv.stop()


def kubectl(fake: tuple[FakeAPIServer, Path], *args: str) -> list[list[str]]:
    """Run kubectl; each output line split on runs of 2+ spaces (cells may contain single spaces)."""
    srv, kc = fake
    p = subprocess.run([KUBECTL, "--kubeconfig", str(kc), *args], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "KUBECACHEDIR": str(kc.parent / "cache")})
    assert p.returncode == 0, p.stderr
    return [re.split(r"\s{2,}", line.strip()) for line in p.stdout.splitlines()]


def test_kubectl_get_pods(fake_api: tuple[FakeAPIServer, Path]) -> None:
    out = kubectl(fake_api, "get", "pods")
    assert out == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["web-1", "1/1", "Running", "0", "5m"],
        ["crash", "0/1", "CrashLoopBackOff", "5 (3m ago)", "61m"],
        ["pending", "0/1", "Pending", "0", "10s"],
        ["creating", "0/1", "ContainerCreating", "0", "20s"],
        ["done", "0/1", "Completed", "0", "2d5h"],
        ["init", "0/1", "Init:0/1", "0", "45s"],
        ["bye", "1/1", "Terminating", "0", "2m10s"],
    ]
    srv, _ = fake_api
    assert any("/api/v1/namespaces/default/pods" in path and "as=Table" in accept
               for path, accept in srv.requests)


def test_kubectl_get_pods_wide(fake_api: tuple[FakeAPIServer, Path]) -> None:
    out = kubectl(fake_api, "get", "pods", "-o", "wide")
    assert out[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                      "READINESS GATES"]
    assert out[2] == ["crash", "0/1", "CrashLoopBackOff", "5 (3m ago)", "61m", "10.244.1.7", "w1", "<none>",
                      "<none>"]
    assert out[1] == ["web-1", "1/1", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"]


def test_kubectl_get_pods_all_namespaces(fake_api: tuple[FakeAPIServer, Path]) -> None:
    out = kubectl(fake_api, "get", "pods", "-A")
    assert out[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert ["kube-system", "other", "1/1", "Running", "0", "10m"] in out
    assert ["default", "web-1", "1/1", "Running", "0", "5m"] in out
    labels = kubectl(fake_api, "get", "pods", "--show-labels")
    assert labels[0][-1] == "LABELS" and labels[1][-1] == "<none>"


def test_kubectl_get_nodes_services_deployments(fake_api: tuple[FakeAPIServer, Path]) -> None:
    assert kubectl(fake_api, "get", "nodes") == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ["cp", "Ready", "control-plane", "3d", "v1.37.0"],
        ["w1", "Ready,SchedulingDisabled", "<none>", "3d", "v1.37.0"],
    ]
    wide = kubectl(fake_api, "get", "nodes", "-o", "wide")
    assert wide[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                       "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert wide[1][5:] == ["172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.8.0", "containerd://2.1.0"]
    assert kubectl(fake_api, "get", "svc") == [
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "5m"],
        ["web", "NodePort", "10.96.5.5", "<none>", "80:30080/TCP", "5m"],
    ]
    assert kubectl(fake_api, "get", "svc", "-o", "wide")[2][-1] == "app=web"
    assert kubectl(fake_api, "get", "deploy") == [
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ["web", "2/3", "3", "2", "120m"],
    ]
    assert kubectl(fake_api, "get", "deployments", "-o", "wide") == [
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
        ["web", "2/3", "3", "2", "120m", "c0", "nginx:1.27", "app=web"],
    ]


def test_kubectl_get_jobs_with_empty_cells(fake_api: tuple[FakeAPIServer, Path]) -> None:
    srv, kc = fake_api
    p = subprocess.run([KUBECTL, "--kubeconfig", str(kc), "get", "jobs"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "KUBECACHEDIR": str(kc.parent / "cache")})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert lines[1].split() == ["pi", "Complete", "1/1", "60s", "6m40s"]
    assert lines[2].split() == ["fresh", "Running", "0/2", "5s"]  # empty DURATION cell


def test_kubectl_watch_with_headerless_events(fake_api: tuple[FakeAPIServer, Path]) -> None:
    out = kubectl(fake_api, "get", "pods", "-w", "--request-timeout=20s")
    assert out[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    names = [line[0] for line in out[1:]]
    # the initial list, then one line per watch event (headers only came with the first event)
    assert names[:7] == ["web-1", "crash", "pending", "creating", "done", "init", "bye"]
    assert names[7:] == names[:7]
    assert out[9] == ["crash", "0/1", "CrashLoopBackOff", "5 (3m ago)", "61m"]
