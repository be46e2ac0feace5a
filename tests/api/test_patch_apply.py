"""Server-side apply and managed fields: create by apply, re-apply, conflicts, force, pruning of fields no longer
applied, shared ownership, ownership moving to updaters, and the FieldsV1 shapes the real server writes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubelab.api.errors import ApiError
from kubelab.api.patch import APPLY_PATCH_YAML, MERGE_PATCH, apply_patch, record_update
from kubelab.api.patch.fieldpath import from_fields_v1, path_string, to_fields_v1
from kubelab.api.resources import BUILTIN, ResourceType

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"
DEP = next(r for r in BUILTIN if r.kind == "Deployment")
CM = next(r for r in BUILTIN if r.kind == "ConfigMap")
WIDGET = ResourceType("example.com", "v1", "Widget", "widgets", True, custom=True)


def config(image: str = "nginx:1", replicas: int | None = 2, labels: dict[str, str] | None = None,
           env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels if labels is not None else {"app": "web"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image,
                                                       **({"env": env} if env else {})}]}}},
    }
    if replicas is not None:
        c["spec"]["replicas"] = replicas
    return c


def apply(current: dict[str, Any] | None, cfg: Any, manager: str = "ci", force: bool = False, now: str = T0,
          rt: ResourceType = DEP) -> dict[str, Any]:
    body = cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()
    return apply_patch(APPLY_PATCH_YAML, current, body, rt, field_manager=manager, force=force, now_iso=now)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def owned(obj: dict[str, Any], manager: str, operation: str = "Apply") -> set[str]:
    return {path_string(p) for p in from_fields_v1(entries(obj)[(manager, operation)]["fieldsV1"])}


def test_create_by_apply() -> None:
    obj = apply(None, config())
    assert obj["spec"]["replicas"] == 2
    (entry,) = obj["metadata"]["managedFields"]
    assert entry == {
        "manager": "ci", "operation": "Apply", "apiVersion": "apps/v1", "time": T0, "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}},
                },
            },
        },
    }


def test_yaml_body_and_json_body_are_the_same() -> None:
    yaml_body = b"""
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {when: 2024-01-01, flag: "yes"}
"""
    obj = apply(None, yaml_body, rt=CM)
    assert obj["data"] == {"when": "2024-01-01", "flag": "yes"}
    assert owned(obj, "ci") == {".data.when", ".data.flag"}


def test_reapply_with_a_change() -> None:
    live = apply(None, config(env=[{"name": "A", "value": "1"}]))
    before = copy.deepcopy(live)
    new = apply(live, config(image="nginx:2", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
                now=T1)
    assert live == before, "current must not be mutated"
    c = new["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:2" and [e["name"] for e in c["env"]] == ["A", "B"]
    assert entries(new)[("ci", "Apply")]["time"] == T1
    assert '.spec.template.spec.containers[name="web"].env[name="B"].value' in owned(new, "ci")


def test_reapply_without_change_keeps_the_time() -> None:
    live = apply(None, config())
    again = apply(live, config(), now=T1)
    assert again == live


def test_fields_no_longer_applied_are_removed() -> None:
    live = apply(None, config(labels={"app": "web", "team": "a"}, env=[{"name": "A", "value": "1"}]))
    new = apply(live, config(labels={"app": "web"}, replicas=None), now=T1)
    assert new["metadata"]["labels"] == {"app": "web"}
    assert "replicas" not in new["spec"]
    assert "env" not in new["spec"]["template"]["spec"]["containers"][0]
    assert ".spec.replicas" not in owned(new, "ci")


def test_removed_container_goes_and_a_field_shared_with_another_manager_stays() -> None:
    cfg = config()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    live = apply(None, cfg)
    live = apply(live, config(labels={"app": "web", "team": "a"}), manager="other")  # shares fields with ci
    new = apply(live, config(labels={"app": "web"}, replicas=None), now=T1)
    # "other" still applies team and replicas: they stay; the side container was only ci's: it goes.
    assert new["metadata"]["labels"] == {"app": "web", "team": "a"}
    assert new["spec"]["replicas"] == 2
    assert [c["name"] for c in new["spec"]["template"]["spec"]["containers"]] == ["web"]


def test_conflict_without_force_and_force_takes_ownership() -> None:
    created = {**config(), "metadata": {"name": "web", "labels": {"app": "web"}}}
    live = record_update(None, created, "kubectl-client-side-apply", api_version="apps/v1", now_iso=T0)
    with pytest.raises(ApiError) as ei:
        apply(live, config(replicas=3), now=T1)
    err = ei.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
                           ".spec.replicas")
    assert err.details == {"causes": [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                       "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]}

    forced = apply(live, config(replicas=3), force=True, now=T1)
    assert forced["spec"]["replicas"] == 3
    assert ".spec.replicas" in owned(forced, "ci")
    assert ".spec.replicas" not in owned(forced, "kubectl-client-side-apply", "Update")
    # Fields applied with the same value are shared, not taken.
    assert '.spec.template.spec.containers[name="web"].image' in owned(forced, "kubectl-client-side-apply", "Update")


def test_several_conflicts_are_listed_by_manager() -> None:
    live = apply(None, config(), manager="a")
    with pytest.raises(ApiError) as ei:
        apply(live, config(image="nginx:9", replicas=5), manager="b")
    assert ei.value.message == (
        'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n'
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_same_values_from_two_appliers_are_shared() -> None:
    live = apply(None, config(), manager="a")
    both = apply(live, config(), manager="b", now=T1)
    assert owned(both, "a") == owned(both, "b")
    assert entries(both)[("b", "Apply")].get("time") is None  # nothing changed: no timestamp, like the server


def test_updates_take_ownership_of_what_they_change() -> None:
    live = apply(None, config())
    scaled = apply_patch(MERGE_PATCH, live, b'{"spec":{"replicas":5}}', DEP, field_manager="kubectl", force=False,
                         now_iso=T1)
    assert owned(scaled, "kubectl", "Update") == {".spec.replicas"}
    assert ".spec.replicas" not in owned(scaled, "ci")
    with pytest.raises(ApiError) as ei:
        apply(scaled, config(), now=T2)
    assert 'conflict with "kubectl" using apps/v1: .spec.replicas' in ei.value.message
    # Apply before Update in the list, as the server sorts them.
    assert [e["operation"] for e in scaled["metadata"]["managedFields"]] == ["Apply", "Update"]


def test_record_update_is_idempotent_and_ignores_status_and_metadata_bookkeeping() -> None:
    live = apply(None, config())
    new = copy.deepcopy(live)
    new["spec"]["paused"] = True
    new["status"] = {"replicas": 2}
    new["metadata"]["resourceVersion"] = "9"
    once = record_update(live, new, "editor", api_version="apps/v1", now_iso=T1)
    twice = record_update(live, once, "editor", api_version="apps/v1", now_iso=T1)
    assert once == twice
    assert owned(once, "editor", "Update") == {".spec.paused"}


def test_update_on_create_marks_new_maps_like_the_real_server() -> None:
    """The shape kubectl-client-side-apply gets on create: '.' for maps and items it created, none for the
    structs every Deployment has (spec, strategy, template...)."""
    obj = config(env=[{"name": "A", "value": "1"}])
    obj["metadata"]["annotations"] = {"note": "x"}
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    rec = record_update(None, obj, "kubectl-client-side-apply", api_version="apps/v1", now_iso=T0)
    (entry,) = rec["metadata"]["managedFields"]
    assert entry["operation"] == "Update" and entry["time"] == T0
    f = entry["fieldsV1"]
    assert f["f:metadata"] == {"f:annotations": {".": {}, "f:note": {}}, "f:labels": {".": {}, "f:app": {}}}
    assert "." not in f["f:spec"] and "." not in f["f:spec"]["f:strategy"]
    assert f["f:spec"]["f:strategy"]["f:rollingUpdate"] == {".": {}, "f:maxSurge": {}}
    assert f["f:spec"]["f:selector"] == {}
    containers = f["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "." not in containers
    web = containers['k:{"name":"web"}']
    assert web["."] == {} and web["f:resources"] == {} and web["f:env"]["."] == {}
    assert web["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {},
                                                                        "f:protocol": {}}


def test_managed_fields_reset_with_a_single_empty_entry() -> None:
    live = apply(None, config())
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in record_update(live, new, "x", api_version="apps/v1", now_iso=T1)["metadata"]


def test_apply_to_an_object_without_managed_fields_conflicts_with_before_first_apply() -> None:
    live = config()
    with pytest.raises(ApiError) as ei:
        apply(live, config(replicas=4))
    assert '"before-first-apply" using apps/v1: .spec.replicas' in ei.value.message


def test_kubectl_takes_over_client_side_apply_fields_recorded_in_last_applied() -> None:
    created = config()
    created["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(config()) + "\n"}
    live = record_update(None, created, "kubectl-client-side-apply", api_version="apps/v1", now_iso=T0)
    new = apply(live, config(image="nginx:2"), manager="kubectl", now=T1)
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    last = json.loads(new["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    # Another manager name gets the conflict.
    with pytest.raises(ApiError):
        apply(live, config(image="nginx:2"), manager="someone-else", now=T1)


@pytest.mark.parametrize("cfg,code,fragment", [
    ({**config(), "apiVersion": "apps/v1beta1"}, 400,
     "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1"),
    ({**config(), "metadata": {"name": "web", "managedFields": []}}, 400, "metadata.managedFields must be nil"),
    ({**config(), "kind": "StatefulSet"}, 500, "no corresponding type for apps/v1, Kind=StatefulSet"),
])
def test_apply_rejects_bad_configurations(cfg: dict[str, Any], code: int, fragment: str) -> None:
    with pytest.raises(ApiError) as ei:
        apply(None, cfg)
    assert ei.value.code == code and fragment in ei.value.message


def test_apply_rejects_list_items_without_keys_and_duplicates() -> None:
    cfg = config()
    cfg["spec"]["template"]["spec"]["containers"] = [{"image": "x"}]
    with pytest.raises(ApiError) as ei:
        apply(None, cfg)
    assert ei.value.code == 500 and ('.spec.template.spec.containers: element 0: associative list with keys has an '
                                     'element that omits key field "name"') in ei.value.message
    cfg["spec"]["template"]["spec"]["containers"] = [{"name": "a"}, {"name": "a"}]
    with pytest.raises(ApiError) as ei:
        apply(None, cfg)
    assert 'duplicate entries for key [name="a"]' in ei.value.message


def test_bad_yaml_is_400() -> None:
    with pytest.raises(ApiError) as ei:
        apply(None, b"a: [unclosed")
    assert ei.value.code == 400 and ei.value.message.startswith("error decoding YAML:")


def test_apply_merges_associative_lists_and_keeps_live_only_items() -> None:
    live = apply(None, config(env=[{"name": "A", "value": "1"}]), manager="a")
    cfg = config(env=[{"name": "B", "value": "2"}])
    new = apply(live, cfg, manager="b", now=T1)
    env = new["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_custom_resource_lists_are_atomic() -> None:
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": {"a": "1"}},
          "spec": {"size": 1, "tags": ["x", "y"]}}
    live = apply(None, cr, rt=WIDGET)
    assert owned(live, "ci") == {".metadata.labels.a", ".spec.size", ".spec.tags"}
    new = apply(live, {**cr, "spec": {"size": 1, "tags": ["z"]}}, rt=WIDGET, now=T1)
    assert new["spec"]["tags"] == ["z"]


def test_fields_v1_round_trip() -> None:
    tree = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}}},
                       "f:finalizers": {'v:"x"': {}}}}
    assert to_fields_v1(from_fields_v1(tree)) == tree


def test_create_comparison_cache_matches_a_fresh_comparison() -> None:
    """managedFields of a create are cached per object shape; the cached answer must equal a fresh compare."""
    from kubelab.api.patch import schema as pschema
    from kubelab.api.patch import ssa

    root = pschema.root_schema("V1Pod")
    pods = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "a"}},
         "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}],
                  "tolerations": [{"key": "k", "operator": "Exists"}], "restartPolicy": "Always"}}
        for i in range(3)
    ]
    pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other"},
                 "spec": {"containers": [{"name": "d", "image": "nginx", "ports": [{"containerPort": 81}]}]}})
    for pod in pods + pods:  # the second round is served from the cache
        cached = ssa._created(pod, root)
        fresh = ssa.compare({}, pod, root)
        assert (cached.added, cached.modified, cached.removed) == (fresh.added, fresh.modified, fresh.removed)
    assert ssa._created(pods[0], root).added != ssa._created(pods[3], root).added  # other keys, other fields
