"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902): table-driven cases, each merge-patch result and each
JSON-patch result also compared with ``kubectl patch --local --type merge|json``; errors as kube-apiserver sends
them."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.api.patch import JSON_PATCH, MERGE_PATCH, apply_patch
from kubelab.api.resources import BUILTIN, ResourceType

KUBECTL = shutil.which("kubectl", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")) or shutil.which(
    "kubectl"
)
NOW = "2026-01-02T03:04:05Z"
CM_RT = next(r for r in BUILTIN if r.kind == "ConfigMap")
DEP_RT = next(r for r in BUILTIN if r.kind == "Deployment")
WIDGET_RT = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)


def dep() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}]}}},
    }


def kubectl_patch(obj: dict[str, Any], patch: Any, ptype: str) -> tuple[int, Any, str]:
    assert KUBECTL
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "obj.json"
        f.write_text(json.dumps(obj))
        r = subprocess.run(
            [KUBECTL, "patch", "--local", "-f", str(f), "--type", ptype, "-p", json.dumps(patch), "-o", "json"],
            capture_output=True, text=True, timeout=60,
            env={"HOME": d, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KUBECONFIG": os.devnull},
        )
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


def patch_with(ctype: str, obj: dict[str, Any], patch: Any, rt: ResourceType = DEP_RT) -> dict[str, Any]:
    body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
    return apply_patch(ctype, obj, body, rt, field_manager=None, force=False, now_iso=NOW)


MERGE_CASES: list[tuple[str, Any, Any]] = [
    ("null deletes a key", {"metadata": {"labels": {"tier": None}}},
     lambda r: r["metadata"]["labels"] == {"app": "web"}),
    ("maps merge", {"metadata": {"labels": {"x": "y"}}},
     lambda r: r["metadata"]["labels"] == {"app": "web", "tier": "fe", "x": "y"}),
    ("lists replace", {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "x"}]}}}},
     lambda r: r["spec"]["template"]["spec"]["containers"] == [{"name": "new", "image": "x"}]),
    ("nulls in new objects are pruned", {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}},
     lambda r: r["spec"]["strategy"] == {"type": "Recreate"}),
    ("scalar replaces", {"spec": {"replicas": 7}}, lambda r: r["spec"]["replicas"] == 7),
    ("deleting a whole map", {"spec": {"template": {"metadata": None}}},
     lambda r: "metadata" not in r["spec"]["template"]),
    ("empty patch is a no-op", {}, lambda r: r == dep()),
]


@pytest.mark.parametrize("name,patch,check", MERGE_CASES, ids=[c[0] for c in MERGE_CASES])
def test_merge_patch(name: str, patch: Any, check: Any) -> None:
    obj = dep()
    before = copy.deepcopy(obj)
    result = patch_with(MERGE_PATCH, obj, patch)
    assert obj == before
    assert check(result), result
    if KUBECTL:
        rc, expected, err = kubectl_patch(obj, patch, "merge")
        assert rc == 0, err
        assert result == expected


def test_merge_patch_shares_untouched_subtrees() -> None:
    obj = dep()
    result = patch_with(MERGE_PATCH, obj, {"metadata": {"labels": {"x": "y"}}})
    assert result["spec"] is obj["spec"]


def test_merge_patch_errors() -> None:
    for body in (b"null", b"{bad", b"42"):
        with pytest.raises(ApiError) as ei:
            patch_with(MERGE_PATCH, dep(), body)
        assert (ei.value.code, ei.value.reason, ei.value.message) == (400, "BadRequest", "Invalid JSON Patch")
    with pytest.raises(ApiError) as ei:
        patch_with(MERGE_PATCH, dep(), b"[1, 2]")
    assert ei.value.code == 422


def test_merge_patch_on_custom_resource() -> None:
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
          "spec": {"size": 1, "items": [1, 2], "nested": {"a": 1, "b": 2}}}
    result = patch_with(MERGE_PATCH, cr, {"spec": {"items": [3], "nested": {"a": None}}}, WIDGET_RT)
    assert result["spec"] == {"size": 1, "items": [3], "nested": {"b": 2}}


JSON_CASES: list[tuple[str, list[dict[str, Any]], Any]] = [
    ("add a label", [{"op": "add", "path": "/metadata/labels/x", "value": "y"}],
     lambda r: r["metadata"]["labels"]["x"] == "y"),
    ("remove a label", [{"op": "remove", "path": "/metadata/labels/tier"}],
     lambda r: r["metadata"]["labels"] == {"app": "web"}),
    ("replace replicas", [{"op": "replace", "path": "/spec/replicas", "value": 3}],
     lambda r: r["spec"]["replicas"] == 3),
    ("append a container", [{"op": "add", "path": "/spec/template/spec/containers/-",
                             "value": {"name": "b", "image": "busybox"}}],
     lambda r: [c["name"] for c in r["spec"]["template"]["spec"]["containers"]] == ["web", "b"]),
    ("insert at an index", [{"op": "add", "path": "/spec/template/spec/containers/0",
                             "value": {"name": "b", "image": "busybox"}}],
     lambda r: [c["name"] for c in r["spec"]["template"]["spec"]["containers"]] == ["b", "web"]),
    ("passing test then change", [{"op": "test", "path": "/spec/replicas", "value": 2},
                                  {"op": "replace", "path": "/spec/replicas", "value": 4}],
     lambda r: r["spec"]["replicas"] == 4),
    ("copy and move", [{"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
                       {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/moved"}],
     lambda r: r["metadata"]["labels"] == {"app": "web", "copy": "web", "moved": "fe"}),
    ("escaped pointer", [{"op": "add", "path": "/metadata/annotations",
                          "value": {"example.com/a~b": "1"}},
                         {"op": "replace", "path": "/metadata/annotations/example.com~1a~0b", "value": "2"}],
     lambda r: r["metadata"]["annotations"] == {"example.com/a~b": "2"}),
]


@pytest.mark.parametrize("name,ops,check", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_patch(name: str, ops: list[dict[str, Any]], check: Any) -> None:
    obj = dep()
    before = copy.deepcopy(obj)
    result = patch_with(JSON_PATCH, obj, ops)
    assert obj == before
    assert check(result), result
    if KUBECTL:
        rc, expected, err = kubectl_patch(obj, ops, "json")
        assert rc == 0, err
        assert result == expected


JSON_FAILURES: list[tuple[str, list[dict[str, Any]]]] = [
    ("failed test", [{"op": "test", "path": "/spec/replicas", "value": 3},
                     {"op": "replace", "path": "/spec/replicas", "value": 4}]),
    ("test true against 1", [{"op": "test", "path": "/spec/replicas", "value": True}]),
    ("remove a missing key", [{"op": "remove", "path": "/metadata/labels/nope"}]),
    ("add under a missing parent", [{"op": "add", "path": "/spec/a/b", "value": 1}]),
    ("index out of range", [{"op": "add", "path": "/spec/template/spec/containers/5", "value": {}}]),
    ("unknown op", [{"op": "frob", "path": "/spec"}]),
    ("missing path", [{"op": "add", "value": 1}]),
]


@pytest.mark.parametrize("name,ops", JSON_FAILURES, ids=[c[0] for c in JSON_FAILURES])
def test_json_patch_failures_are_422(name: str, ops: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as ei:
        patch_with(JSON_PATCH, dep(), ops)
    assert ei.value.code == 422 and ei.value.reason == "Invalid"
    assert ei.value.message == "the server rejected our request due to an error in our request"
    if KUBECTL:
        rc, _, err = kubectl_patch(dep(), ops, "json")
        assert rc != 0, f"kubectl accepted it: {err}"


def test_json_patch_malformed_body_is_400() -> None:
    for body, fragment in ((b"{bad", "invalid character"), (b'{"op": "add"}', "cannot unmarshal object"),
                           (b'["x"]', "cannot unmarshal string")):
        with pytest.raises(ApiError) as ei:
            patch_with(JSON_PATCH, dep(), body)
        assert ei.value.code == 400 and fragment in ei.value.message


def test_json_patch_null_body_is_a_no_op_and_too_many_ops_is_413() -> None:
    assert patch_with(JSON_PATCH, dep(), b"null") == dep()
    ops = [{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001
    with pytest.raises(ApiError) as ei:
        patch_with(JSON_PATCH, dep(), ops)
    assert ei.value.code == 413


def test_json_patch_replacing_the_root_with_a_non_object_is_422() -> None:
    with pytest.raises(ApiError) as ei:
        patch_with(JSON_PATCH, dep(), [{"op": "replace", "path": "", "value": [1]}])
    assert ei.value.code == 422


def test_unknown_content_type_is_415() -> None:
    with pytest.raises(ApiError) as ei:
        patch_with("application/json", dep(), {})
    assert ei.value.code == 415
    assert ei.value.message.endswith(
        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, "
        "application/apply-patch+yaml, application/apply-patch+cbor")


def test_patches_record_the_writer_in_managed_fields() -> None:
    result = apply_patch(MERGE_PATCH, dep(), b'{"spec":{"replicas":5}}', DEP_RT, field_manager="kubectl-patch",
                         force=False, now_iso=NOW)
    (entry,) = result["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-patch" and entry["operation"] == "Update"
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_json_patch_keeps_evanphx_v4_leniencies() -> None:
    """kube-apiserver's json-patch library lets replace add a missing member and a null test pass on one."""
    ops = [{"op": "test", "path": "/spec/paused", "value": None},
           {"op": "replace", "path": "/spec/paused", "value": True}]
    result = patch_with(JSON_PATCH, dep(), ops)
    assert result["spec"]["paused"] is True
    if KUBECTL:
        rc, expected, err = kubectl_patch(dep(), ops, "json")
        assert rc == 0, err
        assert result == expected
