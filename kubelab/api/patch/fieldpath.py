"""Field paths and field sets in the FieldsV1 format of ``metadata.managedFields``.

Mirrors sigs.k8s.io/structured-merge-diff ``fieldpath``: a path is a sequence of path elements, each serialized the
way FieldsV1 spells it:

* ``f:<name>``: a field of a struct or a key of a map;
* ``k:{"name":"web"}``: an item of an associative list, by its key fields (sorted, compact JSON);
* ``v:"finalizer"``: an item of a set (a primitive list), by its value;
* ``i:0``: an item of a list by position.

A set is a Python set of such tuples. As FieldsV1 it is a tree: a leaf ``{}`` is a member, and ``".": {}`` marks a
node that is a member and also has members below it. Paths print for conflict messages like
``.spec.template.spec.containers[name="web"].image``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

Path = tuple[str, ...]


def go_json(v: Any) -> str:
    """Compact JSON the way Go's encoding/json writes it (HTML characters escaped)."""
    s = json.dumps(v, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return (
        s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def field_el(name: str) -> str:
    return "f:" + name


def key_el(keys: dict[str, Any]) -> str:
    items = tuple(sorted(keys.items()))
    try:
        return _key_el_cached(items)
    except TypeError:  # an unhashable key value (a list or map): compute it directly
        return "k:" + go_json(dict(items))


@functools.lru_cache(maxsize=65536, typed=True)
def _key_el_cached(items: tuple[tuple[str, Any], ...]) -> str:
    # the same few keys recur in every write (container names, condition types, ports): encode each once
    return "k:" + go_json(dict(items))


def value_el(v: Any) -> str:
    if isinstance(v, str | int | float | bool) or v is None:
        return _value_el_cached(v)
    return "v:" + go_json(v)


@functools.lru_cache(maxsize=65536, typed=True)  # typed: True and 1 are different JSON values
def _value_el_cached(v: Any) -> str:
    return "v:" + go_json(v)


def index_el(i: int) -> str:
    return f"i:{i}"


def to_fields_v1(paths: set[Path] | frozenset[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set of paths. The result is shared between equal path sets (objects of one shape
    have the same tree, and building it is a large part of a write's cost): treat it as read-only."""
    key = paths if isinstance(paths, frozenset) else frozenset(paths)
    hit = _TREES.get(key)
    if hit is None:
        if len(_TREES) >= 4096:
            _TREES.clear()
        hit = _TREES[key] = _build_fields_v1(key)
    return hit


_TREES: dict[frozenset[Path], dict[str, Any]] = {}


def _build_fields_v1(paths: frozenset[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    members: set[Path] = set(paths)
    for path in sorted(paths, key=len):
        node = root
        for el in path:
            node = node.setdefault(el, {})
    _mark_and_sort(root, (), members)
    return _sorted_tree(root)


def _mark_and_sort(node: dict[str, Any], prefix: Path, members: set[Path]) -> None:
    for el, child in node.items():
        p = prefix + (el,)
        if child:
            _mark_and_sort(child, p, members)
            if p in members:
                child["."] = {}


_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def _el_order(el: str) -> tuple[int, Any]:
    rank = _RANK.get(el[:1], 4)
    if rank == 3:
        try:
            return rank, (int(el[2:]), "")
        except ValueError:
            return rank, (0, el)
    return rank, (0, el)


def _sorted_tree(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "." in node:
        out["."] = {}
    for el in sorted((k for k in node if k != "."), key=_el_order):
        out[el] = _sorted_tree(node[el])
    return out


def from_fields_v1(tree: Any) -> set[Path]:
    """The set of paths in a FieldsV1 tree (malformed parts are ignored)."""
    out: set[Path] = set()
    if isinstance(tree, dict):
        _collect(tree, (), out)
    return out


def _collect(node: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    for el, child in node.items():
        if el == ".":
            if prefix:
                out.add(prefix)
            continue
        p = prefix + (el,)
        if isinstance(child, dict) and child:
            _collect(child, p, out)
        else:
            out.add(p)


def path_string(path: Path) -> str:
    """A path as structured-merge-diff prints it: .spec.ports[port=80,protocol="TCP"].name."""
    parts: list[str] = []
    for el in path:
        kind, body = el[:2], el[2:]
        if kind == "f:":
            parts.append("." + body)
        elif kind == "k:":
            try:
                keys = json.loads(body)
                parts.append("[" + ",".join(f"{k}={go_json(v)}" for k, v in keys.items()) + "]")
            except ValueError:
                parts.append("[" + body + "]")
        elif kind == "v:":
            parts.append("[=" + body + "]")
        elif kind == "i:":
            parts.append("[" + body + "]")
        else:
            parts.append(el)
    return "".join(parts)


def sort_paths(paths: set[Path] | list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: [_el_order(el) for el in p])
