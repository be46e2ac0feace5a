"""Store reads and writes: revisions, resourceVersion stamping, optimistic concurrency, prefix ranges."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.clock import FakeClock
from kubelab.store import KeyExists, KeyNotFound, RevisionMismatch, Store, StoreClosed


def pod(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name}, **extra}


def test_revisions_and_resource_version() -> None:
    s = Store(clock=FakeClock())
    assert s.revision == 1 and s.compacted_revision == 1
    kv = s.create("/registry/pods/default/a", pod("a"))
    assert (kv.create_revision, kv.mod_revision) == (2, 2)
    assert kv.value["metadata"]["resourceVersion"] == "2"
    assert s.revision == 2
    kv2 = s.update("/registry/pods/default/a", pod("a", spec={"x": 1}))
    assert (kv2.create_revision, kv2.mod_revision) == (2, 3)
    assert kv2.value["metadata"]["resourceVersion"] == "3"
    got = s.get("/registry/pods/default/a")
    assert got is not None and got.value["spec"] == {"x": 1} and got.mod_revision == 3
    assert s.get("/registry/pods/default/missing") is None


def test_metadata_created_when_missing() -> None:
    s = Store()
    kv = s.create("/k", {"data": 1})
    assert kv.value == {"data": 1, "metadata": {"resourceVersion": "2"}}


def test_value_is_owned_not_copied() -> None:
    s = Store()
    v = pod("a")
    kv = s.create("/k", v)
    assert kv.value is v and s.get("/k") is kv
    with pytest.raises(ValueError):
        s.update("/k", v)  # re-submitting the stored dict would mutate what readers hold


def test_create_existing_and_missing_keys() -> None:
    s = Store()
    s.create("/k", pod("a"))
    with pytest.raises(KeyExists) as ei:
        s.create("/k", pod("a"))
    assert ei.value.key == "/k"
    with pytest.raises(KeyNotFound):
        s.update("/nope", pod("x"))
    with pytest.raises(KeyNotFound):
        s.delete("/nope")
    assert s.revision == 2  # failed writes do not bump the revision


def test_optimistic_concurrency() -> None:
    s = Store()
    s.create("/k", pod("a"))  # rev 2
    s.update("/k", pod("a", n=1), expected_revision=2)  # rev 3
    with pytest.raises(RevisionMismatch) as ei:
        s.update("/k", pod("a", n=2), expected_revision=2)
    assert (ei.value.expected, ei.value.actual) == (2, 3)
    with pytest.raises(RevisionMismatch):
        s.delete("/k", expected_revision=2)
    assert s.revision == 3
    kv = s.get("/k")
    assert kv is not None and kv.value["n"] == 1
    s.delete("/k", expected_revision=3)
    assert s.get("/k") is None and s.revision == 4


def test_delete_returns_deletion_revision_and_keeps_old_value_intact() -> None:
    s = Store()
    s.create("/k", pod("a"))
    held = s.get("/k")
    assert held is not None
    s.update("/k", pod("a", spec={"v": 2}))
    reader = s.get("/k")
    assert reader is not None
    deleted = s.delete("/k")
    assert deleted.mod_revision == 4 and deleted.create_revision == 2
    assert deleted.value["metadata"]["resourceVersion"] == "4"
    assert deleted.value["spec"] == {"v": 2}
    # what readers held is untouched
    assert reader.value["metadata"]["resourceVersion"] == "3"
    assert reader.value is not deleted.value
    assert reader.value["metadata"] is not deleted.value["metadata"]
    assert held.value["metadata"]["resourceVersion"] == "2" and "spec" not in held.value


def test_range_by_literal_prefix() -> None:
    s = Store()
    for k in [
        "/registry/pods/default/b",
        "/registry/pods/default/a",
        "/registry/pods/default2/x",
        "/registry/pods/kube-system/c",
        "/registry/services/default/a",
    ]:
        s.create(k, pod(k.rsplit("/", 1)[1]))
    kvs, rev = s.range("/registry/pods/default/")
    assert [kv.key for kv in kvs] == ["/registry/pods/default/a", "/registry/pods/default/b"]
    assert rev == s.revision == 6
    # the prefix is literal: without the trailing slash "default2" matches too
    kvs, _ = s.range("/registry/pods/default")
    assert [kv.key for kv in kvs] == [
        "/registry/pods/default/a",
        "/registry/pods/default/b",
        "/registry/pods/default2/x",
    ]
    assert [kv.key for kv in s.range("/registry/pods/")[0]] == [
        "/registry/pods/default/a",
        "/registry/pods/default/b",
        "/registry/pods/default2/x",
        "/registry/pods/kube-system/c",
    ]
    assert len(s.range("")[0]) == 5
    assert s.range("/registry/nodes/") == ([], 6)
    assert s.count("/registry/pods/") == 4
    assert s.count("/registry/pods/default/") == 2
    assert s.count("") == 5
    s.delete("/registry/pods/default/a")
    assert [kv.key for kv in s.range("/registry/pods/default/")[0]] == ["/registry/pods/default/b"]
    assert s.count("/registry/pods/default/") == 1


def test_range_values_are_latest() -> None:
    s = Store()
    s.create("/a/1", pod("1"))
    s.create("/a/2", pod("2"))
    s.update("/a/1", pod("1", v=2))
    kvs, rev = s.range("/a/")
    assert [kv.mod_revision for kv in kvs] == [4, 3] and rev == 4
    assert kvs[0].value["v"] == 2


def test_range_many_keys() -> None:
    s = Store()
    for ns in range(20):
        for i in range(100):
            s.create(f"/registry/pods/ns{ns:02d}/p{i:03d}", pod(f"p{i}"))
    kvs, _ = s.range("/registry/pods/ns07/")
    assert [kv.key for kv in kvs] == [f"/registry/pods/ns07/p{i:03d}" for i in range(100)]
    assert s.count("/registry/pods/") == 2000


def test_writes_after_close_raise_but_reads_work() -> None:
    s = Store()
    s.create("/k", pod("a"))
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreClosed):
        s.create("/j", pod("b"))
    with pytest.raises(StoreClosed):
        s.update("/k", pod("a"))
    with pytest.raises(StoreClosed):
        s.delete("/k")
    assert s.get("/k") is not None and s.count("") == 1


def test_history_must_be_non_negative() -> None:
    with pytest.raises(ValueError):
        Store(history=-1)
