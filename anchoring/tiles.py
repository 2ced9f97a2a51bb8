"""C2SP ``tlog-tiles``: the log's hashes and entries as static, cacheable tiles.

A *hash tile* at level ``L`` and index ``N`` lists ``W`` consecutive node hashes of the tree
at height ``8 L``, starting at node ``256 N``: the concatenation of the roots of the perfect
subtrees ``(8 L, 256 N + i)`` for ``i < W``. A full tile has ``W = 256`` and never changes; a
partial one (path suffix ``.p/<W>``) is the right edge for some tree size. An *entry bundle*
``entries/<N>`` lists leaves ``256 N`` to ``256 N + W - 1``, each as its 16-bit big-endian
length followed by its bytes (the ``carbon-ledger/event-leaf/v1`` encoding). ``N`` is written
in 3-digit path elements, all but the last prefixed with ``x``: 1234067 is ``x001/x234/067``.

With the signed checkpoint (:mod:`anchoring.note`), a client computes which tiles it needs and
recomputes any root, inclusion or consistency proof itself. Tiles are served up to the size
of the latest anchored checkpoint. The stored nodes of :class:`~anchoring.log.MerkleLog` are
exactly the tiles' hashes, so a tile is one read of ``merkle_nodes``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from ledger.domain.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["HEIGHT", "WIDTH", "EntryTooLargeError", "Tile", "TileNotFoundError", "TilePathError",
           "encode_index", "entry_bundle", "hash_tile", "parse_tile"]

HEIGHT = 8
WIDTH = 1 << HEIGHT
MAX_LEVEL = 63 // HEIGHT  # node heights fit a 64-bit tree size
_ELEMENT = re.compile(r"x\d{3}")
_LAST = re.compile(r"(\d{3})(?:\.p/(\d{1,3}))?")
_MAX_ENTRY = 0xFFFF


class TilePathError(ValidationError):
    """A malformed tile path."""

    code = "invalid-tile-path"


class TileNotFoundError(NotFoundError):
    """A tile beyond the latest anchored checkpoint."""

    code = "unknown-tile"


class EntryTooLargeError(ConflictError):
    """An entry longer than an entry bundle can frame (65,535 bytes)."""

    code = "entry-too-large"


@dataclass(frozen=True)
class Tile:
    """A parsed tile path: ``level`` (``None`` for an entry bundle), ``index``, ``width``."""

    level: int | None
    index: int
    width: int


def encode_index(index: int) -> str:
    """``N`` as tlog-tiles path elements: ``x001/x234/067`` for 1234067."""
    digits = str(index)
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_tile(level: str, path: str) -> Tile:
    """Parse ``tile/<level>/<path>`` (``level`` ``entries`` for an entry bundle); the index
    must be written canonically and a partial width be 1 to 255."""
    if level == "entries":
        tile_level = None
    elif re.fullmatch(r"0|[1-9]\d*", level) and int(level) <= MAX_LEVEL:
        tile_level = int(level)
    else:
        raise TilePathError(f"tile level {level!r} is not 0 to {MAX_LEVEL} or 'entries'")
    elements = path.split("/")
    if elements[-2:-1] and elements[-2].endswith(".p"):  # "067.p/5": rejoin the suffix
        elements[-2:] = ["/".join(elements[-2:])]
    if not all(_ELEMENT.fullmatch(e) for e in elements[:-1]):
        raise TilePathError(f"tile index {path!r} is not 3-digit elements prefixed with x")
    last = _LAST.fullmatch(elements[-1])
    if last is None:
        raise TilePathError(f"tile path {path!r} does not end with 3 digits and an optional "
                            "'.p/<width>'")
    index = int("".join(e[1:] for e in elements[:-1]) + last.group(1))
    width = WIDTH if last.group(2) is None else int(last.group(2))
    if encode_index(index) != "/".join([*elements[:-1], last.group(1)]):
        raise TilePathError(f"tile index {path!r} is not written canonically "
                            f"({encode_index(index)})")
    partial = last.group(2)
    if partial is not None and (not 1 <= width < WIDTH or partial != str(width)):
        raise TilePathError(f"partial tile width {partial!r} is not 1 to 255 (no leading "
                            "zeros)")
    return Tile(tile_level, index, width)


def _check_within(tile: Tile, available: int, what: str) -> None:
    if tile.index * WIDTH + tile.width > available:
        raise TileNotFoundError(
            f"{what} {tile.index} of width {tile.width} is beyond the anchored tree "
            f"({available} available)", index=tile.index, width=tile.width)


def hash_tile(merkle_log: MerkleLog, tile: Tile, tree_size: int) -> bytes:
    """The bytes of a hash tile of the tree of ``tree_size`` leaves."""
    if tile.level is None:
        raise TilePathError("an entry bundle is not a hash tile")
    height = tile.level * HEIGHT
    _check_within(tile, tree_size >> height, f"level-{tile.level} tile")
    return b"".join(merkle_log.nodes(height, tile.index * WIDTH, tile.width))


def entry_bundle(recorder: Any, merkle_log: MerkleLog, tile: Tile, tree_size: int) -> bytes:
    """The bytes of an entry bundle of the tree of ``tree_size`` leaves."""
    _check_within(tile, tree_size, "entry bundle")
    first = tile.index * WIDTH
    position = merkle_log.position_of(first)
    if position is None:
        raise TileNotFoundError(f"no leaf {first} in the log", index=tile.index)
    found = recorder.select_notifications(start=position, limit=tile.width)
    if len(found) != tile.width:
        raise TileNotFoundError(f"the log holds fewer than {tile.width} events from leaf "
                                f"{first}", index=tile.index)
    parts = []
    for n in found:
        leaf = encode_leaf(n.id, UUID(str(n.originator_id)), n.originator_version, n.topic,
                           n.state)
        if len(leaf) > _MAX_ENTRY:
            raise EntryTooLargeError(f"the event at position {n.id} is {len(leaf)} bytes, "
                                     "more than an entry bundle frames", position=n.id)
        parts.append(struct.pack(">H", len(leaf)) + leaf)
    return b"".join(parts)
