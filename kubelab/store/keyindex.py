"""Sorted key index for prefix ranges, standing in for etcd's in-memory B-tree ``treeIndex``.

Keys live in a list of sorted chunks (each at most ``2 * load`` keys) plus the list of each chunk's largest key, so
insert/remove cost O(log n + load) instead of shifting one huge list, and a prefix range is two bisections plus
list slices.

Simplified: only the current key set is indexed (no per-key revision history; the store keeps values in a dict).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

_MAX_CHAR = chr(0x10FFFF)


def prefix_end(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix``; None if there is none (empty prefix)."""
    p = prefix.rstrip(_MAX_CHAR)
    if not p:
        return None
    return p[:-1] + chr(ord(p[-1]) + 1)


class SortedKeys:
    """A sorted set of strings (no duplicates)."""

    __slots__ = ("_load", "_chunks", "_maxes", "_len")

    def __init__(self, keys: Iterable[str] = (), load: int = 512) -> None:
        if load < 2:
            raise ValueError("load must be >= 2")
        self._load = load
        ks = sorted(set(keys))
        self._chunks: list[list[str]] = [ks[i : i + load] for i in range(0, len(ks), load)]
        self._maxes: list[str] = [c[-1] for c in self._chunks]
        self._len = len(ks)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            yield from chunk

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        ci, off = self._pos(key)
        return ci < len(self._chunks) and self._chunks[ci][off] == key

    def add(self, key: str) -> bool:
        """Insert ``key``; False if it was already present."""
        chunks, maxes = self._chunks, self._maxes
        if not chunks:
            chunks.append([key])
            maxes.append(key)
            self._len = 1
            return True
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            chunk = chunks[i]
            chunk.append(key)
            maxes[i] = key
        else:
            chunk = chunks[i]
            j = bisect_left(chunk, key)
            if chunk[j] == key:  # j < len(chunk) because key <= maxes[i]
                return False
            chunk.insert(j, key)
        self._len += 1
        if len(chunk) > 2 * self._load:
            half = len(chunk) // 2
            left, right = chunk[:half], chunk[half:]
            chunks[i : i + 1] = [left, right]
            maxes[i : i + 1] = [left[-1], right[-1]]
        return True

    def remove(self, key: str) -> bool:
        """Remove ``key``; False if it was absent."""
        chunks, maxes = self._chunks, self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        chunk = chunks[i]
        j = bisect_left(chunk, key)
        if chunk[j] != key:
            return False
        del chunk[j]
        self._len -= 1
        if not chunk:
            del chunks[i]
            del maxes[i]
            return True
        if j == len(chunk):
            maxes[i] = chunk[-1]
        if len(chunk) < self._load // 2 and len(chunks) > 1:
            k = i - 1 if i > 0 else i
            merged = chunks[k] + chunks[k + 1]
            if len(merged) > 2 * self._load:
                half = len(merged) // 2
                parts = [merged[:half], merged[half:]]
            else:
                parts = [merged]
            chunks[k : k + 2] = parts
            maxes[k : k + 2] = [p[-1] for p in parts]
        return True

    def _pos(self, key: str) -> tuple[int, int]:
        """(chunk index, offset) of the first element >= key; (len(chunks), 0) if none."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return i, 0
        return i, bisect_left(self._chunks[i], key)

    def _bounds(self, prefix: str) -> tuple[int, int, int, int]:
        if not prefix:
            return 0, 0, len(self._chunks), 0
        ci, off = self._pos(prefix)
        end = prefix_end(prefix)
        cj, offj = (len(self._chunks), 0) if end is None else self._pos(end)
        return ci, off, cj, offj

    def with_prefix(self, prefix: str) -> list[str]:
        """All keys starting with ``prefix`` (literally), in order."""
        ci, off, cj, offj = self._bounds(prefix)
        chunks = self._chunks
        if ci == cj:
            return chunks[ci][off:offj] if ci < len(chunks) else []
        out = chunks[ci][off:]
        for k in range(ci + 1, cj):
            out.extend(chunks[k])
        if cj < len(chunks):
            out.extend(chunks[cj][:offj])
        return out

    def count_prefix(self, prefix: str) -> int:
        """Number of keys starting with ``prefix``, without materializing them."""
        ci, off, cj, offj = self._bounds(prefix)
        if ci == cj:
            return offj - off
        chunks = self._chunks
        n = len(chunks[ci]) - off + offj
        for k in range(ci + 1, cj):
            n += len(chunks[k])
        return n
