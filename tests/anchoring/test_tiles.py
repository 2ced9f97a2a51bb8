"""C2SP tlog-tiles: path encoding, hash tiles and entry bundles of a real Merkle log, checked
against hashes computed here from the stored events."""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

import pytest

from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from anchoring.tiles import (
    Tile,
    TileNotFoundError,
    TilePathError,
    encode_index,
    entry_bundle,
    hash_tile,
    parse_tile,
)
from ledger.application import Ledger
from tests.anchoring.conftest import add_events


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def perfect_root(hashes: list[bytes]) -> bytes:
    while len(hashes) > 1:
        hashes = [sha(b"\x01" + a + b) for a, b in zip(hashes[::2], hashes[1::2], strict=True)]
    return hashes[0]


@pytest.mark.parametrize(("index", "path"), [
    (0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
    (10**9, "x001/x000/x000/000")])
def test_indices_are_written_in_3_digit_elements(index: int, path: str):
    assert encode_index(index) == path
    assert parse_tile("0", path) == Tile(0, index, 256)
    assert parse_tile("2", path + ".p/17") == Tile(2, index, 17)
    assert parse_tile("entries", path + ".p/255") == Tile(None, index, 255)


@pytest.mark.parametrize(("level", "path"), [
    ("0", "5"), ("0", "0005"), ("0", "x000/005"), ("0", "001/002"), ("0", "x1/002"),
    ("0", "005.p/0"), ("0", "005.p/256"), ("0", "005.p/07"), ("0", "005.p/"), ("8", "000"),
    ("01", "000"), ("-1", "000"), ("a", "000"), ("0", ""), ("0", "000/"), ("0", "../000")])
def test_malformed_paths_are_refused(level: str, path: str):
    with pytest.raises(TilePathError):
        parse_tile(level, path)


def test_tiles_and_bundles_are_the_logs_hashes_and_leaves(ledger: Ledger,
                                                          merkle_log: MerkleLog):
    add_events(ledger, 600)
    merkle_log.catch_up()
    size = merkle_log.size
    assert size == 600
    found = ledger.recorder.select_notifications(start=1, limit=size)
    leaves = [encode_leaf(n.id, UUID(str(n.originator_id)), n.originator_version, n.topic,
                          n.state) for n in found]
    hashes = [sha(b"\x00" + leaf) for leaf in leaves]
    tile = hash_tile(merkle_log, Tile(0, 0, 256), size)
    assert tile == b"".join(hashes[:256])
    assert hash_tile(merkle_log, Tile(0, 2, 88), size) == b"".join(hashes[512:600])
    assert hash_tile(merkle_log, Tile(0, 2, 10), size) == b"".join(hashes[512:522])
    level_one = hash_tile(merkle_log, Tile(1, 0, 2), size)
    assert level_one == perfect_root(hashes[:256]) + perfect_root(hashes[256:512])
    bundle = entry_bundle(ledger.recorder, merkle_log, Tile(None, 1, 256), size)
    entries, offset = [], 0
    while offset < len(bundle):
        (length,) = struct.unpack_from(">H", bundle, offset)
        entries.append(bundle[offset + 2 : offset + 2 + length])
        offset += 2 + length
    assert entries == leaves[256:512]
    # Nothing beyond the tree size asked for (the anchored size).
    for tile in (Tile(0, 2, 89), Tile(0, 2, 256), Tile(1, 0, 3), Tile(0, 3, 1)):
        with pytest.raises(TileNotFoundError):
            hash_tile(merkle_log, tile, size)
    with pytest.raises(TileNotFoundError):
        hash_tile(merkle_log, Tile(0, 1, 256), 511)
    with pytest.raises(TileNotFoundError):
        entry_bundle(ledger.recorder, merkle_log, Tile(None, 2, 89), size)
