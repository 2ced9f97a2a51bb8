"""A mapping whose copies share its storage until they write: copying costs the number of
shards, not the number of keys.

A credit batch keeps one entry per lot (every holder's available credits, every retirement,
pledge, listing, lock ...) and the aggregate cache hands each command a copy of the batch. A
plain ``dict`` copy grows with the batch's holders (issue #17: 72 % of a transfer at 5,000
holders). Here the keys live in :data:`SHARDS` dicts; :meth:`CopyOnWriteMap.fork` shares
them all with the copy, and whichever side writes a shard first copies that shard alone
(its share of the keys), so a command that moves credits between two holders copies about
``2 * len / SHARDS`` entries.

Values are shared between the copies too: callers replace values, never change one in place
(the batch's event handlers do exactly that).

Iteration order is by shard, not insertion; nothing may rely on a batch's lots' order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, TypeVar

__all__ = ["SHARDS", "SMALL_TABLE", "CopyOnWriteMap"]

K = TypeVar("K")
V = TypeVar("V")

SHARDS = 256
# A table of at most this many keys is copied as a plain dict: quicker than forking, and it
# spares the map's own size (two lists of SHARDS, then SHARDS dicts: some 20 kB), which
# would be most of a small holding's, and the aggregate cache keeps one per holder.
SMALL_TABLE = 64


class CopyOnWriteMap(MutableMapping[K, V]):
    """A mutable mapping with O(:data:`SHARDS`) copies (see the module's docstring)."""

    __slots__ = ("_len", "_owned", "_shards")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._shards: list[dict[K, V]] = [{} for _ in range(SHARDS)]
        self._owned = [True] * SHARDS  # shards this map may write without copying first
        self._len = 0
        if items:
            for key, value in items.items():
                self[key] = value

    def fork(self) -> CopyOnWriteMap[K, V]:
        """A copy sharing every shard; the first write to a shard, on either side, copies
        that shard."""
        copied: CopyOnWriteMap[K, V] = object.__new__(type(self))
        copied._shards = list(self._shards)
        copied._owned = [False] * SHARDS
        copied._len = self._len
        self._owned = [False] * SHARDS
        return copied

    def _writable(self, key: K) -> dict[K, V]:
        index = hash(key) % SHARDS
        if not self._owned[index]:
            self._shards[index] = dict(self._shards[index])
            self._owned[index] = True
        return self._shards[index]

    def __getitem__(self, key: K) -> V:
        return self._shards[hash(key) % SHARDS][key]

    def get(self, key: K, default: Any = None) -> Any:
        return self._shards[hash(key) % SHARDS].get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._shards[hash(key) % SHARDS]

    def __setitem__(self, key: K, value: V) -> None:
        shard = self._writable(key)
        if key not in shard:
            self._len += 1
        shard[key] = value

    def __delitem__(self, key: K) -> None:
        shard = self._shards[hash(key) % SHARDS]
        if key not in shard:
            raise KeyError(key)
        del self._writable(key)[key]
        self._len -= 1

    def __iter__(self) -> Iterator[K]:
        for shard in self._shards:
            yield from shard

    def __len__(self) -> int:
        return self._len

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


def copy_sharing_tables(aggregate: Any, tables: tuple[str, ...], memo: dict[int, Any]) -> Any:
    """A copy of ``aggregate`` whose ``tables`` (attribute names) are forked copy-on-write
    maps and whose other attributes are copied one level deep: what an aggregate's
    ``__deepcopy__`` returns when its tables grow with its history. The first copy of a
    table larger than :data:`SMALL_TABLE` turns the aggregate's own plain table (read from a
    snapshot or the events) into such a map; a smaller one stays a plain dict, copied with
    each of its values (lists of ranges) copied one level deep."""
    copied = object.__new__(type(aggregate))
    memo[id(aggregate)] = copied
    state = aggregate.__dict__
    for name in tables:
        table = state.get(name)
        if type(table) is dict and len(table) > SMALL_TABLE:
            state[name] = CopyOnWriteMap(table)
    copied.__dict__.update({
        name: (value.fork() if isinstance(value, CopyOnWriteMap)
               else {key: _one_level(item) for key, item in value.items()}
               if name in tables and type(value) is dict
               else _one_level(value))
        for name, value in state.items()})
    return copied


def _one_level(value: Any) -> Any:
    return (dict(value) if isinstance(value, dict)
            else list(value) if isinstance(value, list) else value)


def plain_tables(state: dict[str, Any], tables: tuple[str, ...]) -> None:
    """A snapshot's ``state`` with its copy-on-write ``tables`` stored as plain dicts."""
    for name in tables:
        if isinstance(state.get(name), CopyOnWriteMap):
            state[name] = dict(state[name].items())
