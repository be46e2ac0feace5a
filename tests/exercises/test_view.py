"""The pure helpers checks use to describe a learner's cluster in words (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.exercises.model import Result
from kubelab.exercises.view import is_daemon_or_mirror, pod_trouble, quantity


def pod(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", **meta}, "spec": {}, "status": status}


@pytest.mark.parametrize(("status", "expected"), [
    ({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                          "message": "0/3 nodes are available: 2 Insufficient cpu."}]},
     "pod web is Pending and not scheduled: 0/3 nodes are available: 2 Insufficient cpu."),
    ({"phase": "Pending", "containerStatuses": [{"name": "c", "state": {"waiting": {
        "reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:1.277"'}}}]},
     'pod web: container c is waiting with reason ImagePullBackOff (Back-off pulling image "nginx:1.277")'),
    ({"phase": "Running", "containerStatuses": [{"name": "c", "ready": False, "state": {"running": {}}}]},
     "pod web: container c is running but not ready (its readiness probe has not passed)"),
    ({"phase": "Pending", "containerStatuses": [{"name": "c", "state": {"waiting": {
        "reason": "ContainerCreating"}}}]},
     "pod web is still Pending (being created: wait a moment and check again)"),
    ({"phase": "Succeeded"}, "pod web has finished (phase Succeeded)"),
])
def test_pod_trouble_says_what_kubectl_would(status: dict[str, Any], expected: str) -> None:
    assert pod_trouble(pod(status)) == expected


def test_daemonset_and_mirror_pods_are_recognised() -> None:
    assert is_daemon_or_mirror(pod({}, ownerReferences=[{"kind": "DaemonSet"}]))
    assert is_daemon_or_mirror(pod({}, annotations={"kubernetes.io/config.mirror": "x"}))
    assert not is_daemon_or_mirror(pod({}, ownerReferences=[{"kind": "ReplicaSet"}]))


def test_quantities_compare_by_value() -> None:
    assert quantity("100m") == quantity("0.1") and quantity("64Mi") == quantity(str(64 * 1024 * 1024))
    assert quantity("not a quantity") is None


def test_results_render_pass_and_fail() -> None:
    ok = Result("pods-01", "A pod with labels", True, "Well done: pod web runs.")
    assert bool(ok) and "PASSED" in repr(ok) and "Passed" in ok._repr_html_() and "<details" not in ok._repr_html_()
    bad = Result("pods-01", "A pod with labels", False, "Not solved yet.", ["a", "b", "c <d>"])
    assert not bad and list(bad) == ["a", "b", "c <d>"] and "c &lt;d&gt;" in bad._repr_html_()
