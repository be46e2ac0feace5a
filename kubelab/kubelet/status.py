"""Pod status from what the runtime reports: a pure function, as the kubelet's generateAPIPodStatus.

Mirrors pkg/kubelet/kubelet_pods.go (convertToAPIContainerStatuses, getPhase) and pkg/kubelet/status/generate.go
(the PodReadyToStartContainers, Initialized, ContainersReady and Ready conditions, with their reasons and
messages). ``PodView`` is everything the kubelet knows about one pod: the runtime's container records (newest
attempt first), the last sync error per container (upstream's reason cache: ErrImagePull, CrashLoopBackOff...),
the sandbox and addresses. Probes are simulated by time (see ``kubelab.kubelet.lifecycle``), unless the view
carries the prober's results (``PodView.probes``: a real runtime's containers are really probed).
Simplified: no ephemeral containers, resize status or resource claims; feature-gated phase rules
(ContainerRestartRules) are left out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from kubelab.clock import rfc3339
from kubelab.kubelet.runtime import CONTAINER_CREATED, CONTAINER_EXITED, CONTAINER_RUNNING, ContainerStatus

Obj = dict[str, Any]

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@dataclass
class PodView:
    containers: dict[str, list[ContainerStatus]] = field(default_factory=dict)  # name -> attempts, newest first
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (waiting reason, message)
    sandbox_ready: bool = False
    pod_ip: str = ""
    host_ip: str = ""
    terminal: bool = False  # the kubelet is done with the pod (deleted, or finished for good)
    start_time: str = ""
    probes: dict[str, tuple[bool, bool]] | None = None  # name -> (started, ready) from the prober; None: by time


def is_restartable_init(c: Obj) -> bool:
    return c.get("restartPolicy") == "Always"


def _probe_delay(c: Obj, probe: str) -> float | None:
    p = c.get(probe)
    if not isinstance(p, dict):
        return None
    return float(p.get("initialDelaySeconds") or 0)


def _since(t: _dt.datetime | None, now: _dt.datetime) -> float:
    return (now - t).total_seconds() if t is not None else -1.0


def started_and_ready(spec_c: Obj, rs: ContainerStatus | None, now: _dt.datetime) -> tuple[bool, bool]:
    """Probes, simulated: a startupProbe passes ``initialDelaySeconds`` after the start, then a readinessProbe
    passes ``initialDelaySeconds`` after the start; without probes a running container is started and ready."""
    if rs is None or rs.state != CONTAINER_RUNNING:
        return False, False
    up = _since(rs.started_at, now)
    startup = _probe_delay(spec_c, "startupProbe")
    started = startup is None or up >= startup
    readiness = _probe_delay(spec_c, "readinessProbe")
    ready = started and (readiness is None or up >= max(readiness, startup or 0))
    return started, ready


def next_probe_time(spec_c: Obj, rs: ContainerStatus | None, now: _dt.datetime) -> float | None:
    """Seconds until this container's started/ready flags change (for the worker's timer), or None."""
    if rs is None or rs.state != CONTAINER_RUNNING:
        return None
    up = _since(rs.started_at, now)
    waits = [d - up for d in (_probe_delay(spec_c, "startupProbe"), _probe_delay(spec_c, "readinessProbe"))
             if d is not None and d > up]
    return min(waits) if waits else None


def _terminated(rs: ContainerStatus) -> Obj:
    return {"terminated": {
        "exitCode": rs.exit_code, "reason": rs.reason or ("Completed" if rs.exit_code == 0 else "Error"),
        "startedAt": rfc3339(rs.started_at) if rs.started_at else None,
        "finishedAt": rfc3339(rs.finished_at) if rs.finished_at else None,
        "containerID": f"containerd://{rs.id}",
    }}


def container_status(spec_c: Obj, attempts: list[ContainerStatus], reason: tuple[str, str] | None,
                     default_waiting: str, now: _dt.datetime, *, init: bool = False,
                     probed: tuple[bool, bool] | None = None) -> Obj:
    """One containerStatuses entry (convertToAPIContainerStatuses, for one container)."""
    name = spec_c.get("name", "")
    out: Obj = {"name": name, "image": spec_c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
                "started": False, "state": {"waiting": {"reason": default_waiting}}, "lastState": {}}
    latest = attempts[0] if attempts else None
    if latest is not None:
        out.update(image=latest.image, imageID=latest.image_ref, containerID=f"containerd://{latest.id}",
                   restartCount=latest.attempt)
        if latest.state == CONTAINER_RUNNING:
            out["state"] = {"running": {"startedAt": rfc3339(latest.started_at or now)}}
        elif latest.state == CONTAINER_EXITED:
            out["state"] = _terminated(latest)
        else:
            out["state"] = {"waiting": {"reason": "ContainerCreating"}}
        previous = next((a for a in attempts[1:] if a.state == CONTAINER_EXITED), None)
        if previous is not None:
            out["lastState"] = _terminated(previous)
    if reason is not None and (latest is None or latest.state in (CONTAINER_EXITED, CONTAINER_CREATED)):
        if latest is not None and latest.state == CONTAINER_EXITED:
            out["lastState"] = _terminated(latest)
        waiting: Obj = {"reason": reason[0]}
        if reason[1]:
            waiting["message"] = reason[1]
        out["state"] = {"waiting": waiting}
    started, ready = probed if probed is not None else started_and_ready(spec_c, latest, now)
    if init and not is_restartable_init(spec_c):
        # a regular init container is "ready" once it has completed
        started = bool(latest and latest.state == CONTAINER_RUNNING)
        ready = bool(latest and latest.state == CONTAINER_EXITED and latest.exit_code == 0 and "waiting" not in
                     out["state"])
    out["started"], out["ready"] = started, ready
    resources = spec_c.get("resources") or {}
    if resources.get("requests") or resources.get("limits"):
        out["resources"] = {k: dict(v) for k, v in resources.items() if k in ("requests", "limits") and v}
        if resources.get("requests"):
            out["allocatedResources"] = dict(resources["requests"])
    mounts = [{"name": m.get("name"), "mountPath": m.get("mountPath"),
               **({"readOnly": True, "recursiveReadOnly": "Disabled"} if m.get("readOnly") else {})}
              for m in spec_c.get("volumeMounts") or []]
    if mounts:
        out["volumeMounts"] = mounts
    return out


# ------------------------------------------------------------------------------------------------ phase
def _state(cs: Obj) -> str:
    return next(iter(cs.get("state") or {"waiting": {}}))


def get_phase(spec: Obj, init_statuses: list[Obj], statuses: list[Obj], terminal: bool) -> str:
    """getPhase: Pending until every container has started; Running while one runs or will restart; then
    Succeeded or Failed by exit codes and the restart policy."""
    policy = spec.get("restartPolicy") or "Always"
    by_name = {s["name"]: s for s in init_statuses}
    pending_init = failed_init = 0
    for c in spec.get("initContainers") or []:
        if is_restartable_init(c):
            continue
        s = by_name.get(c.get("name"))
        if s is None:
            pending_init += 1
            continue
        st = _state(s)
        if st == "terminated":
            if (s["state"]["terminated"].get("exitCode") or 0) != 0:
                failed_init += 1
        elif st == "waiting" and (s.get("lastState") or {}).get("terminated"):
            if (s["lastState"]["terminated"].get("exitCode") or 0) != 0:
                failed_init += 1
        else:
            pending_init += 1
    if failed_init and policy == "Never":
        return "Failed"
    unknown = running = waiting = stopped = succeeded = 0
    sidecars_pending = 0
    for c in spec.get("initContainers") or []:
        if not is_restartable_init(c):
            continue
        s = by_name.get(c.get("name"))
        if s is None:
            sidecars_pending += 1
            unknown += 1
        elif _state(s) == "running":
            running += 1
            sidecars_pending += 0 if s.get("started") else 1
        elif _state(s) == "waiting" and not (s.get("lastState") or {}).get("terminated"):
            sidecars_pending += 1
            waiting += 1
    main = {s["name"]: s for s in statuses}
    any_started = False
    for c in spec.get("containers") or []:
        s = main.get(c.get("name"))
        if s is None:
            unknown += 1
            continue
        st = _state(s)
        if s.get("containerID") or (s.get("lastState") or {}).get("terminated"):
            any_started = True
        if st == "running":
            running += 1
        elif st == "terminated":
            stopped += 1
            if (s["state"]["terminated"].get("exitCode") or 0) == 0:
                succeeded += 1
        elif (s.get("lastState") or {}).get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if pending_init or (sidecars_pending and not any_started) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# ------------------------------------------------------------------------------------------------ conditions
def _names(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def conditions(pod: Obj, init_statuses: list[Obj], statuses: list[Obj], phase: str, view: PodView) -> list[Obj]:
    spec = pod.get("spec") or {}
    out: list[Obj] = []
    out.append({"type": "PodReadyToStartContainers", "status": "True" if view.sandbox_ready else "False"})
    # Initialized
    init_by = {s["name"]: s for s in init_statuses}
    incomplete = []
    for c in spec.get("initContainers") or []:
        s = init_by.get(c.get("name"))
        ok = bool(s and (s.get("started") if is_restartable_init(c) else s.get("ready")))
        if not ok:
            incomplete.append(c.get("name", ""))
    regular_started = any(s.get("containerID") for s in statuses)
    if phase == "Succeeded":
        out.append({"type": "Initialized", "status": "True", "reason": "PodCompleted"})
    elif not incomplete or regular_started:
        out.append({"type": "Initialized", "status": "True"})
    else:
        out.append({"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                    "message": f"containers with incomplete status: {_names(incomplete)}"})
    # ContainersReady and Ready
    unready = [s["name"] for c in spec.get("initContainers") or [] if is_restartable_init(c)
               for s in [init_by.get(c.get("name")) or {"name": c.get("name"), "ready": False}] if not s.get("ready")]
    unready += [s["name"] for s in statuses if not s.get("ready")]
    if phase in ("Succeeded", "Failed"):
        cr: Obj = {"type": "ContainersReady", "status": "False",
                   "reason": "PodCompleted" if phase == "Succeeded" else "PodFailed"}
    elif unready:
        cr = {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
              "message": f"containers with unready status: {_names(unready)}"}
    else:
        cr = {"type": "ContainersReady", "status": "True"}
    ready = dict(cr, type="Ready")
    if cr["status"] == "True":
        existing = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or []}
        gates = []
        for g in spec.get("readinessGates") or []:
            ct = g.get("conditionType")
            c = existing.get(ct)
            if c is None:
                gates.append(f'corresponding condition of pod readiness gate "{ct}" does not exist.')
            elif c.get("status") != "True":
                gates.append(f'the status of pod readiness gate "{ct}" is not "True", but {c.get("status")}')
        if gates:
            ready = {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
                     "message": ", ".join(gates)}
    out.append(ready)
    out.append(cr)
    return out


def _probed(view: PodView, c: Obj) -> tuple[bool, bool] | None:
    return None if view.probes is None else view.probes.get(c.get("name", ""), (False, False))


def generate_pod_status(pod: Obj, view: PodView, now: _dt.datetime) -> Obj:
    """The status the kubelet writes for ``pod`` (kubelet-owned fields recomputed, the rest kept)."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    has_init = bool(spec.get("initContainers"))
    default_waiting = "PodInitializing" if has_init else "ContainerCreating"
    init_statuses = [container_status(c, view.containers.get(c.get("name", ""), []),
                                      view.reasons.get(c.get("name", "")), default_waiting, now, init=True,
                                      probed=_probed(view, c))
                     for c in spec.get("initContainers") or []]
    statuses = [container_status(c, view.containers.get(c.get("name", ""), []),
                                 view.reasons.get(c.get("name", "")), default_waiting, now, probed=_probed(view, c))
                for c in spec.get("containers") or []]
    phase = get_phase(spec, init_statuses, statuses, view.terminal)
    if old.get("phase") in ("Succeeded", "Failed"):
        phase = old["phase"]  # terminal phases are final
    gen = (pod.get("metadata") or {}).get("generation")
    old_conds = {c.get("type"): c for c in old.get("conditions") or []}
    stamp = rfc3339(now)
    conds: list[Obj] = [c for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    for c in conditions(pod, init_statuses, statuses, phase, view):
        prev = old_conds.get(c["type"])
        c = {"type": c["type"], "status": c["status"], "lastProbeTime": None,
             "lastTransitionTime": prev.get("lastTransitionTime") if prev and prev.get("status") == c["status"]
             else stamp, **{k: c[k] for k in ("reason", "message") if k in c}}
        if gen is not None:
            c["observedGeneration"] = gen
        conds.append(c)
    if "PodScheduled" in old_conds:
        conds.append(old_conds["PodScheduled"])
    status: Obj = {k: v for k, v in old.items() if k not in (
        "phase", "conditions", "containerStatuses", "initContainerStatuses", "hostIP", "hostIPs", "podIP", "podIPs",
        "startTime", "observedGeneration")}
    status["phase"] = phase
    status["conditions"] = conds
    if view.host_ip:
        status["hostIP"] = view.host_ip
        status["hostIPs"] = [{"ip": view.host_ip}]
    pod_ip = view.pod_ip or old.get("podIP")
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = old.get("startTime") or view.start_time or stamp
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    if gen is not None:
        status["observedGeneration"] = gen
    return status
