"""crictl against the simulated runtime: crictl 1.3x's columns, layout, ids, ages, filters and errors."""

from __future__ import annotations

import asyncio
import json

import pytest

from kubelab.clock import FakeClock
from kubelab.kubelet.crictl import CrictlError, _resolve, crictl, human_duration, human_size, run
from kubelab.kubelet.runtime import ContainerConfig, CRIError, PodSandboxConfig, SimulatedRuntime


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _pod(rt: SimulatedRuntime, name: str, image: str, command: list[str], uid: str) -> tuple[str, str]:
    sb = PodSandboxConfig(name=name, namespace="default", uid=uid,
                          labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default"})
    sid = await rt.run_pod_sandbox(sb)
    await rt.pull_image(image)
    labels = {"io.kubernetes.container.name": "c", "io.kubernetes.pod.name": name,
              "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid}
    cid = await rt.create_container(sid, ContainerConfig(name="c", image=image, command=command, labels=labels), sb)
    await rt.start_container(cid)
    return sid, cid


@pytest.fixture(scope="module")
def node() -> tuple[SimulatedRuntime, dict[str, str]]:
    """A node with a running nginx pod (created first) and a busybox pod that printed two lines and exited,
    looked at 150 seconds after both started."""
    clock = FakeClock()
    rt = SimulatedRuntime(clock, name="local-worker")
    rt.update_runtime_config("10.244.1.0/24")
    ids: dict[str, str] = {}

    async def scenario() -> None:
        ids["web_sb"], ids["web"] = await _pod(rt, "web", "nginx:1.27", [], "uid-web")
        clock.advance(30)
        ids["job_sb"], ids["job"] = await _pod(rt, "job", "busybox", ["sh", "-c", "echo one; echo two"],
                                               "uid-job")
        await _settle()
        clock.advance(120)
        await _settle()

    asyncio.run(scenario())
    return rt, ids


def test_ps_lists_running_containers_as_crictl_prints_them(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, ids = node
    out = crictl(rt, ["ps"])
    lines = out.splitlines()
    assert lines[0] == ("CONTAINER           IMAGE               CREATED             STATE               NAME"
                        "                ATTEMPT             POD ID              POD                 NAMESPACE")
    assert len(lines) == 2  # the busybox container has exited: ps shows running ones only
    image_id = asyncio.run(rt.image_status("nginx:1.27"))
    assert image_id is not None
    assert lines[1] == (f"{ids['web'][:13]}       {image_id.id[7:20]}       2 minutes ago       Running"
                        f"             c                   0                   {ids['web_sb'][:13]}       web"
                        "                 default")


def test_ps_all_newest_first_with_exited_state_and_filters(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, ids = node
    rows = [line.split() for line in crictl(rt, ["ps", "-a"]).splitlines()[1:]]
    assert [r[0] for r in rows] == [ids["job"][:13], ids["web"][:13]]
    assert rows[0][5] == "Exited" and rows[0][2:5] == ["2", "minutes", "ago"]
    assert crictl(rt, ["ps", "-a", "-q"]).split() == [ids["job"], ids["web"]]
    assert crictl(rt, ["ps", "-aq", "--name", "^c$"]).split() == [ids["job"], ids["web"]]
    assert crictl(rt, ["ps", "-a", "--name", "nomatch", "-q"]) == ""
    assert crictl(rt, ["ps", "--state", "exited", "-q"]).split() == [ids["job"]]
    assert crictl(rt, ["ps", "-a", "--pod", ids["web_sb"][:6], "-q"]).split() == [ids["web"]]
    full = crictl(rt, ["ps", "--no-trunc"]).splitlines()[1]
    assert full.startswith(ids["web"] + "   ")
    doc = json.loads(crictl(rt, ["ps", "-a", "-o", "json"]))
    assert [c["id"] for c in doc["containers"]] == [ids["job"], ids["web"]]
    assert doc["containers"][1]["state"] == "CONTAINER_RUNNING"
    assert doc["containers"][1]["metadata"] == {"name": "c", "attempt": 0}


def test_pods(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, ids = node
    lines = crictl(rt, ["pods"]).splitlines()
    assert lines[0] == ("POD ID              CREATED             STATE               NAME                NAMESPACE"
                        "           ATTEMPT             RUNTIME")
    assert lines[1] == (f"{ids['job_sb'][:13]}       2 minutes ago       Ready               job"
                        "                 default             0                   (default)")
    assert lines[2].startswith(ids["web_sb"][:13] + "       2 minutes ago       Ready")
    assert crictl(rt, ["pods", "--name", "web", "-q"]).split() == [ids["web_sb"]]
    assert crictl(rt, ["pods", "--state", "notready", "-q"]) == ""


def test_images_are_sorted_with_tag_id_and_size(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, _ = node
    lines = crictl(rt, ["images"]).splitlines()
    repos = [line.split()[0] for line in lines[1:]]
    tags = [line.split()[1] for line in lines[1:]]
    # tabwriter: a column is as wide as its widest cell plus 3, and at least 20
    widths = [max(20, max(map(len, cells)) + 3) for cells in (repos, tags)]
    assert lines[0] == "IMAGE".ljust(widths[0]) + "TAG".ljust(widths[1]) + "IMAGE ID            SIZE"
    assert repos == sorted(repos)
    nginx = next(line.split() for line in lines[1:] if line.startswith("docker.io/library/nginx "))
    img = asyncio.run(rt.image_status("nginx:1.27"))
    assert img is not None
    assert nginx == ["docker.io/library/nginx", "1.27", img.id[7:20], human_size(img.size)]
    assert crictl(rt, ["images", "-q"]).split()[0].startswith("sha256:")


def test_logs_with_tail_and_prefix_ids(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, ids = node
    assert crictl(rt, ["logs", ids["job"][:8]]) == "one\ntwo\n"
    assert crictl(rt, ["logs", "--tail", "1", ids["job"]]) == "two\n"
    assert crictl(rt, ["logs", "--tail=1", "-t", ids["job"]]).endswith("Z two\n")


def test_inspect_and_inspectp_print_status_and_info(node: tuple[SimulatedRuntime, dict[str, str]]) -> None:
    rt, ids = node
    doc = json.loads(crictl(rt, ["inspect", ids["job"][:13]]))
    assert sorted(doc) == ["info", "status"]
    st = doc["status"]
    assert st["id"] == ids["job"] and st["state"] == "CONTAINER_EXITED" and st["exitCode"] == 0
    assert st["metadata"] == {"attempt": 0, "name": "c"}
    assert st["image"]["image"] == "docker.io/library/busybox:latest"
    assert st["createdAt"].endswith("Z") and st["finishedAt"] != "0001-01-01T00:00:00Z"
    assert doc["info"]["sandboxID"] == ids["job_sb"]
    both = json.loads(crictl(rt, ["inspect", ids["job"], ids["web"]]))
    assert [d["status"]["id"] for d in both] == [ids["job"], ids["web"]]
    pod = json.loads(crictl(rt, ["inspectp", ids["web_sb"][:5]]))
    assert pod["status"]["state"] == "SANDBOX_READY"
    assert pod["status"]["network"]["ip"].startswith("10.244.1.")
    assert pod["status"]["metadata"]["name"] == "web"


@pytest.mark.parametrize(("args", "message"), [
    (["inspect", "ffff"], 'get the status of containers: get container status: rpc error: code = NotFound desc = '
                          'an error occurred when try to find container "ffff": not found'),
    (["logs"], "ID cannot be empty"),
    (["frobnicate"], "No help topic for 'frobnicate'"),
    (["ps", "--bogus"], "flag provided but not defined: -bogus"),
    (["ps", "--state", "sleeping"], "listing containers: --state should be one of created, running, exited or "
                                    "unknown"),
])
def test_errors_read_like_crictls(node: tuple[SimulatedRuntime, dict[str, str]], args: list[str],
                                  message: str) -> None:
    rt, _ = node
    with pytest.raises(CrictlError) as err:
        crictl(rt, args)
    assert err.value.message == message
    assert err.value.stderr == f"FATA[0000] {message}"


def test_prefixes_resolve_like_containerds_index() -> None:
    ids = ["abc123", "abd456", "ffff00"]
    assert _resolve("container", ids, "abc") == "abc123"
    assert _resolve("container", ids, "ffff00") == "ffff00"
    with pytest.raises(CRIError, match="multiple IDs found with provided prefix: ab"):
        _resolve("container", ids, "ab")
    with pytest.raises(CRIError, match='an error occurred when try to find container "99": not found'):
        _resolve("container", ids, "99")


def test_run_awaits_on_the_runtimes_loop() -> None:
    async def scenario() -> str:
        rt = SimulatedRuntime(FakeClock())
        return await run(rt, ["version"])

    assert asyncio.run(scenario()).splitlines()[1:] == ["RuntimeName:  containerd", "RuntimeVersion:  v2.1.1",
                                                        "RuntimeApiVersion:  v1"]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
    (150, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
    (3 * 86400, "3 days"), (20 * 86400, "2 weeks"), (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("size", "text"), [(742, "742B"), (320_368, "320kB"), (1_150_000, "1.15MB"),
                                            (4_500_000, "4.5MB"), (191_000_000, "191MB")])
def test_human_size_matches_go_units(size: int, text: str) -> None:
    assert human_size(size) == text
