"""A pod's life on one simulated node, played on a FakeClock: start, crash, finish, fail to pull, init, delete."""

from __future__ import annotations

import re

from kubelab.config import LabConfig
from tests.kubelet.helpers import NODE, Lab, official, scenario

NGINX = [{"name": "nginx", "image": "nginx"}]


def test_pod_goes_pending_container_creating_running_with_events_in_order() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("web", NGINX)
        await lab.h.settle()
        st = lab.status("web")
        assert st["phase"] == "Pending"
        assert lab.container("web")["state"] == {"waiting": {"reason": "ContainerCreating"}}
        assert st["hostIP"] == "172.18.0.3" and st["startTime"]
        await lab.advance(0.1)  # mid-pull
        assert lab.status("web")["phase"] == "Pending"
        await lab.advance(0.5)
        st = lab.status("web")
        assert st["phase"] == "Running"
        assert st["podIP"] == "10.244.1.2" and st["podIPs"] == [{"ip": "10.244.1.2"}]
        assert st["hostIPs"] == [{"ip": "172.18.0.3"}] and st["qosClass"] == "BestEffort"
        cs = lab.container("web")
        assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
        assert cs["image"] == "docker.io/library/nginx:latest"
        assert re.fullmatch(r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", cs["imageID"])
        assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
        assert set(cs["state"]) == {"running"} and cs["lastState"] == {}
        conds = {c["type"]: c["status"] for c in st["conditions"]}
        assert conds == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                         "ContainersReady": "True", "PodScheduled": "True"}
        evs = lab.events("web")
        assert [e["reason"] for e in evs] == ["Pulling", "Pulled", "Created", "Started"]
        msgs = [e["message"] for e in evs]
        assert msgs[0] == 'Pulling image "nginx"'
        assert re.fullmatch(r'Successfully pulled image "nginx" in 200ms \(\d+ms including waiting\)\. '
                            r"Image size: \d+ bytes\.", msgs[1])
        assert msgs[2:] == ["Created container: nginx", "Started container nginx"]
        assert all(e["source"] == {"component": "kubelet", "host": NODE} for e in evs)
        assert all(e["involvedObject"]["fieldPath"] == "spec.containers{nginx}" for e in evs)
        # the official client's strict models accept the pod
        pod = official(lab.live("web"), "V1Pod")
        assert pod.status.container_statuses[0].state.running.started_at is not None
        actions = [t.action for t in lab.h.trace.since(0) if t.component == f"kubelet/{NODE}" and t.name == "web"]
        assert actions.index("pull") < actions.index("create") < actions.index("start")
        await lab.stop()

    scenario(run)


def test_image_already_present_is_not_pulled_again_with_if_not_present() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("a", [{"name": "c", "image": "nginx:1.27"}])
        await lab.advance(1)
        lab.run_pod("b", [{"name": "c", "image": "nginx:1.27"}])
        await lab.advance(0.2)
        assert lab.status("b")["phase"] == "Running"
        assert [e["message"] for e in lab.events("b")][:1] == ['Container image "nginx:1.27" already present on machine']
        assert "Pulling" not in lab.reasons("b")
        assert lab.status("b")["podIP"] == "10.244.1.3"  # the next address in the node's pod CIDR
        await lab.stop()

    scenario(run)


def test_crash_loop_back_off_grows() -> None:
    async def run() -> None:
        lab = Lab(LabConfig(crashloop_backoff_base=1.0, crashloop_backoff_max=10.0))
        await lab.start()
        lab.run_pod("crash", [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}])
        messages: list[str] = []
        restarts: list[int] = []
        for _ in range(200):
            await lab.advance(0.1)
            cs = lab.container("crash")
            w = cs["state"].get("waiting") or {}
            if w.get("reason") == "CrashLoopBackOff" and (not messages or messages[-1] != w["message"]):
                messages.append(w["message"])
                restarts.append(cs["restartCount"])
        uid = lab.live("crash")["metadata"]["uid"]
        assert [m.split()[1] for m in messages[:4]] == ["1s", "2s", "4s", "8s"]
        assert messages[0] == f"back-off 1s restarting failed container=c pod=crash_default({uid})"
        assert restarts[:4] == [1, 2, 3, 4]
        cs = lab.container("crash")
        assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["lastState"]["terminated"]["reason"] == "Error"
        assert lab.status("crash")["phase"] == "Running"
        backoff = [e for e in lab.events("crash") if e["reason"] == "BackOff"]
        assert backoff[0]["type"] == "Warning"
        assert backoff[0]["message"] == f"Back-off restarting failed container c in pod crash_default({uid})"
        assert sum(e["count"] for e in backoff) >= 4
        official(lab.live("crash"), "V1Pod")
        await lab.stop()

    scenario(run)


def test_restart_never_echo_succeeds_and_logs_done() -> None:
    async def run() -> None:
        from kubelab.kubelet import make_log_provider
        from tests.kubelet.helpers import collect

        lab = Lab()
        await lab.start()
        lab.run_pod("job", [{"name": "c", "image": "busybox", "command": ["echo", "done"]}], restartPolicy="Never")
        await lab.advance(1)
        st = lab.status("job")
        assert st["phase"] == "Succeeded"
        term = lab.container("job")["state"]["terminated"]
        assert term["exitCode"] == 0 and term["reason"] == "Completed" and term["startedAt"] and term["finishedAt"]
        ready = lab.condition("job", "Ready")
        assert ready["status"] == "False" and ready["reason"] == "PodCompleted"
        assert lab.condition("job", "PodReadyToStartContainers")["status"] == "False"  # sandbox torn down
        provider = make_log_provider({NODE: lab.kubelet})
        assert await collect(provider(lab.live("job"), "c", {})) == b"done\n"
        official(lab.live("job"), "V1Pod")
        await lab.stop()

    scenario(run)


def test_restart_never_failure_is_failed_and_on_failure_restarts() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("never", [{"name": "c", "image": "busybox", "command": ["false"]}], restartPolicy="Never")
        lab.run_pod("onfail", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 3"]}],
                    restartPolicy="OnFailure")
        lab.run_pod("ok", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "sleep 2; exit 0"]}],
                    restartPolicy="OnFailure")
        await lab.advance(4)
        assert lab.status("never")["phase"] == "Failed"
        assert lab.container("never")["state"]["terminated"]["exitCode"] == 1
        assert lab.status("onfail")["phase"] == "Running"
        assert lab.container("onfail")["restartCount"] >= 1
        assert lab.status("ok")["phase"] == "Succeeded"
        await lab.stop()

    scenario(run)


def test_unknown_tag_err_image_pull_then_image_pull_back_off() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("bad", [{"name": "c", "image": "nginx:does-not-exist"}])
        await lab.advance(0.3)
        w = lab.container("bad")["state"]["waiting"]
        ref = "docker.io/library/nginx:does-not-exist"
        assert w["reason"] == "ErrImagePull"
        assert w["message"] == (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                                f'failed to resolve reference "{ref}": {ref}: not found')
        assert lab.status("bad")["phase"] == "Pending"
        await lab.advance(0.6)
        w = lab.container("bad")["state"]["waiting"]
        assert w == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:does-not-exist"'}
        await lab.advance(3)
        evs = lab.events("bad")
        by = {(e["reason"], e["message"].split(":")[0]): e for e in evs}
        assert by[("Failed", 'Failed to pull image "nginx')]["type"] == "Warning"
        assert by[("Failed", "Error")]["message"] in ("Error: ErrImagePull", "Error: ImagePullBackOff")
        assert {e["message"] for e in evs if e["reason"] == "Failed" and e["message"].startswith("Error")} == \
            {"Error: ErrImagePull", "Error: ImagePullBackOff"}
        assert any(e["reason"] == "BackOff" and e["message"] == 'Back-off pulling image "nginx:does-not-exist"'
                   for e in evs)
        pulling = next(e for e in evs if e["reason"] == "Pulling")
        assert pulling["count"] >= 2  # retried after the back-off
        official(lab.live("bad"), "V1Pod")
        await lab.stop()

    scenario(run)


def test_unpullable_images_from_config_and_unknown_registries() -> None:
    async def run() -> None:
        lab = Lab(LabConfig(unpullable_images=("myapp:broken",)))
        await lab.start()
        lab.run_pod("cfg", [{"name": "c", "image": "myapp:broken"}])
        lab.run_pod("reg", [{"name": "c", "image": "my.registry.example/team/app:v1"}])
        lab.run_pod("mine", [{"name": "c", "image": "someone/app:v1"}])
        await lab.advance(0.3)
        assert lab.container("cfg")["state"]["waiting"]["reason"] == "ErrImagePull"
        w = lab.container("reg")["state"]["waiting"]
        assert w["reason"] == "ErrImagePull" and "no such host" in w["message"]
        assert lab.status("mine")["phase"] == "Running"  # repositories the lab does not know are assumed to exist
        await lab.stop()

    scenario(run)


def test_init_containers_run_in_order_to_completion() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("init", NGINX, initContainers=[
            {"name": "first", "image": "busybox", "command": ["sh", "-c", "sleep 2"]},
            {"name": "second", "image": "busybox", "command": ["sh", "-c", "echo ready"]}])
        await lab.advance(1)
        st = lab.status("init")
        assert st["phase"] == "Pending"
        first, second = st["initContainerStatuses"]
        assert set(first["state"]) == {"running"}
        assert second["state"] == {"waiting": {"reason": "PodInitializing"}}
        assert lab.container("init")["state"] == {"waiting": {"reason": "PodInitializing"}}
        init_cond = lab.condition("init", "Initialized")
        assert init_cond["status"] == "False" and init_cond["reason"] == "ContainersNotInitialized"
        assert init_cond["message"] == "containers with incomplete status: [first second]"
        await lab.advance(3)
        st = lab.status("init")
        assert st["phase"] == "Running"
        for ics in st["initContainerStatuses"]:
            t = ics["state"]["terminated"]
            assert t["exitCode"] == 0 and t["reason"] == "Completed" and ics["ready"] is True
        assert lab.condition("init", "Initialized")["status"] == "True"
        names = [e["involvedObject"].get("fieldPath") for e in lab.events("init") if e["reason"] == "Started"]
        assert names == ["spec.initContainers{first}", "spec.initContainers{second}", "spec.containers{nginx}"]
        official(lab.live("init"), "V1Pod")
        await lab.stop()

    scenario(run)


def test_failed_init_container_with_restart_never_fails_the_pod() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("badinit", NGINX, restartPolicy="Never",
                    initContainers=[{"name": "i", "image": "busybox", "command": ["false"]}])
        await lab.advance(1)
        assert lab.status("badinit")["phase"] == "Failed"
        assert "containerID" not in lab.container("badinit")  # nginx never started
        await lab.stop()

    scenario(run)


def test_graceful_delete_stops_containers_then_removes_the_pod() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("sleeper", [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}])
        lab.run_pod("web", NGINX)
        await lab.advance(1)
        assert lab.status("sleeper")["phase"] == "Running"
        ip = lab.status("sleeper")["podIP"]
        out = lab.admin.delete("pods", "sleeper", "default")
        assert out is not None and out["metadata"]["deletionTimestamp"]
        lab.admin.delete("pods", "web", "default")
        await lab.h.settle()
        assert [e["message"] for e in lab.events("sleeper") if e["reason"] == "Killing"] == ["Stopping container c"]
        assert lab.pod("web") is None  # nginx stops on SIGTERM at once
        assert lab.pod("sleeper") is not None  # sleep, as PID 1, ignores SIGTERM until the (capped) grace ends
        await lab.advance(0.5)
        assert lab.pod("sleeper") is not None
        await lab.advance(0.6)
        assert lab.pod("sleeper") is None
        kills = [t for t in lab.h.trace.since(0) if t.action == "kill" and t.name == "sleeper"]
        assert kills
        # the address is free again: the next pod gets a new one, and the released one stays unused until wrap
        lab.run_pod("next", NGINX)
        await lab.advance(1)
        assert lab.status("next")["podIP"] != ip
        await lab.stop()

    scenario(run)


def test_readiness_probe_passes_after_initial_delay() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("probe", [{"name": "c", "image": "nginx", "readinessProbe": {
            "httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 3}}])
        await lab.advance(1)
        cs = lab.container("probe")
        assert set(cs["state"]) == {"running"} and cs["ready"] is False and cs["started"] is True
        ready = lab.condition("probe", "Ready")
        assert ready["status"] == "False" and ready["message"] == "containers with unready status: [c]"
        await lab.advance(3)
        assert lab.container("probe")["ready"] is True
        assert lab.condition("probe", "Ready")["status"] == "True"
        await lab.stop()

    scenario(run)


def test_missing_configmap_is_create_container_config_error_until_it_exists() -> None:
    async def run() -> None:
        lab = Lab()
        await lab.start()
        lab.run_pod("env", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "echo $GREETING; sleep 60"],
                             "env": [{"name": "GREETING", "valueFrom": {
                                 "configMapKeyRef": {"name": "greet", "key": "text"}}}]}])
        await lab.advance(0.5)
        w = lab.container("env")["state"]["waiting"]
        assert w == {"reason": "CreateContainerConfigError", "message": 'configmap "greet" not found'}
        assert 'Error: configmap "greet" not found' in [e["message"] for e in lab.events("env")]
        lab.admin.create("configmaps", {"metadata": {"name": "greet"}, "data": {"text": "hello"}}, "default")
        await lab.advance(1.5)
        assert lab.status("env")["phase"] == "Running"
        from kubelab.kubelet import make_log_provider
        from tests.kubelet.helpers import collect

        assert await collect(make_log_provider({NODE: lab.kubelet})(lab.live("env"), "c", {})) == b"hello\n"
        await lab.stop()

    scenario(run)
