"""SortedKeys: the sorted key index behind Store.range / Store.count."""

from __future__ import annotations

import random

from kubelab.store.keyindex import SortedKeys, prefix_end


def _expected(keys: set[str], prefix: str) -> list[str]:
    return sorted(k for k in keys if k.startswith(prefix))


def test_prefix_end() -> None:
    assert prefix_end("") is None
    assert prefix_end("/a/") == "/a0"
    assert prefix_end("ab") == "ac"
    assert prefix_end("a" + chr(0x10FFFF)) == "b"
    assert prefix_end(chr(0x10FFFF)) is None


def test_random_ops_match_sorted_set() -> None:
    rng = random.Random(7)
    alphabet = "ab/c"
    for load in (2, 3, 8, 512):
        idx = SortedKeys(load=load)
        model: set[str] = set()
        for _ in range(3000):
            key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
            if rng.random() < 0.6:
                assert idx.add(key) == (key not in model)
                model.add(key)
            else:
                assert idx.remove(key) == (key in model)
                model.discard(key)
            assert len(idx) == len(model)
        assert list(idx) == sorted(model)
        for prefix in ["", "a", "ab", "b/", "/", "c/a", "zz", "ab/c"]:
            assert idx.with_prefix(prefix) == _expected(model, prefix), (load, prefix)
            assert idx.count_prefix(prefix) == len(_expected(model, prefix)), (load, prefix)
        for key in list(model)[:50]:
            assert key in idx
        assert "nope" not in idx


def test_bulk_construction_and_empty() -> None:
    empty = SortedKeys()
    assert empty.with_prefix("") == [] and empty.count_prefix("x") == 0 and not empty.remove("x")
    idx = SortedKeys([f"/k/{i:04d}" for i in range(100)] + ["/k/0001"], load=4)
    assert len(idx) == 100
    assert idx.with_prefix("/k/005") == [f"/k/005{i}" for i in range(10)]
    assert idx.count_prefix("/k/00") == 100 and idx.count_prefix("/k/01") == 0


def test_max_char_keys() -> None:
    top = chr(0x10FFFF)
    idx = SortedKeys(["a", "a" + top, "a" + top + "x", "b"], load=2)
    assert idx.with_prefix("a" + top) == ["a" + top, "a" + top + "x"]
    assert idx.with_prefix(top) == []
    assert idx.count_prefix("a") == 3
