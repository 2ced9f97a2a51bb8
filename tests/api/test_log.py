"""The public log over HTTP: inclusion and consistency proofs checked with independent code
(pymerkle, and the RFC 9162 definitions written out here), forged parameters refused, the
registry's checkpoints read from the chain, and the C2SP signed checkpoint."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from uuid import UUID, uuid4

import pymerkle
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, update

from anchoring.leaf import encode_leaf
from anchoring.merkle import verify_consistency
from anchoring.service import merkle_anchors
from tests.api.support import World, assert_problem

# ---------------------------------------------------------------- independent RFC 9162 code


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, recursively, on raw leaves."""
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return _sha(b"\x00" + leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def rfc_consistency(m: int, leaves: list[bytes], complete: bool = True) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D_n, b), recursively."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*rfc_consistency(m, leaves[:k], complete), mth(leaves[k:])]
    return [*rfc_consistency(m - k, leaves[k:], False), mth(leaves[:k])]


def stored_leaves(world: World) -> list[bytes]:
    recorder = world.ledger.recorder
    found = recorder.select_notifications(start=1, limit=1_000_000)
    return [encode_leaf(n.id, UUID(str(n.originator_id)), n.originator_version, n.topic,
                        n.state) for n in found]


def pm_tree(leaves: list[bytes]) -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        tree.append_entry(leaf)
    return tree


def check_inclusion(body: dict[str, Any], leaves: list[bytes], tree: Any) -> None:
    """The proof verifies with pymerkle against pymerkle's root of the same tree."""
    index, size = body["leaf_index"], body["tree_size"]
    leaf = base64.b64decode(body["leaf_base64"])
    assert leaf == leaves[index]
    assert bytes.fromhex(body["leaf_hash"]) == _sha(b"\x00" + leaf)
    assert bytes.fromhex(body["root"]) == tree.get_root(size) == mth(leaves[:size])
    path = [bytes.fromhex(p) for p in body["audit_path"]]
    reference = tree.prove_inclusion(index + 1, size)
    assert reference.path == [_sha(b"\x00" + leaf), *path]
    wrapped = pymerkle.InclusionProof("sha256", True, size, index + 1, reference.rule,
                                      [_sha(b"\x00" + leaf), *path])
    pymerkle.verify_inclusion(_sha(b"\x00" + leaf), tree.get_root(size), wrapped)
    # A forged leaf does not verify against the same path and root.
    forged = _sha(b"\x00" + leaf + b"x")
    with pytest.raises(pymerkle.InvalidProof):
        pymerkle.verify_inclusion(forged, tree.get_root(size), pymerkle.InclusionProof(
            "sha256", True, size, index + 1, reference.rule, [forged, *path]))


def anchor(world: World) -> int:
    status: Any = world.runtime.anchoring.anchor_now()
    assert status.anchor is not None, status
    return int(status.anchor.tree_size)


# ------------------------------------------------------------------------------- the tests


def test_nothing_is_proven_before_an_anchor(world: World):
    api = world.api
    assert_problem(api.get(None, "/log/events/1/inclusion"), 409, "nothing-anchored")
    assert_problem(api.get(None, "/log/consistency", params={"first": 0}), 409,
                   "nothing-anchored")
    assert_problem(api.get(None, "/log/checkpoint"), 409, "nothing-anchored")
    assert_problem(api.get(None, "/log/chain-checkpoints/latest"), 409, "nothing-anchored")
    assert api.get(None, "/log/chain-checkpoints").json() == {
        "items": [], "count": 0, "next_after": None}


def test_inclusion_proofs_of_every_event_verify_independently(world: World):
    api = world.api
    first = anchor(world)
    world.project_batch(world.actors["enterprise"])
    second = anchor(world)
    assert second > first
    leaves = stored_leaves(world)
    assert len(leaves) == second
    tree = pm_tree(leaves)
    for index in range(second):
        by_leaf = api.get(None, f"/log/leaves/{index}/inclusion")
        assert by_leaf.status_code == 200, by_leaf.text
        body = by_leaf.json()
        assert body["tree_size"] == body["anchored_size"] == second  # default: anchored size
        check_inclusion(body, leaves, tree)
        by_position = api.get(None, f"/log/events/{body['position']}/inclusion").json()
        by_origin = api.get(None, f"/log/aggregates/{body['originator_id']}/versions/"
                            f"{body['originator_version']}/inclusion").json()
        assert by_position == by_origin == body
    # Against an older tree size: the one anchored first, and one never anchored.
    for size in (first, first - 1, 1):
        for index in (0, size - 1):
            body = api.get(None, f"/log/leaves/{index}/inclusion",
                           params={"tree_size": size}).json()
            assert body["tree_size"] == size
            check_inclusion(body, leaves, tree)


def test_consistency_proofs_verify_independently(world: World):
    api = world.api
    anchor(world)
    world.project_batch(world.actors["enterprise"])
    size = anchor(world)
    leaves = stored_leaves(world)
    tree = pm_tree(leaves)
    for second in (1, 2, size // 2, size - 1, size):
        for first in sorted({0, 1, second // 3, second - 1, second}):
            response = api.get(None, "/log/consistency",
                               params={"first": first, "second": second})
            assert response.status_code == 200, response.text
            body = response.json()
            proof = [bytes.fromhex(p) for p in body["proof"]]
            first_root, second_root = (bytes.fromhex(body["first_root"]),
                                       bytes.fromhex(body["second_root"]))
            assert first_root == tree.get_root(first)
            assert second_root == tree.get_root(second)
            assert proof == ([] if first in (0, second) else
                             rfc_consistency(first, leaves[:second]))
            assert verify_consistency(first, second, first_root, second_root, proof)
    default = api.get(None, "/log/consistency", params={"first": 3}).json()
    assert default["second"] == default["anchored_size"] == size


FORGED = [
    ("/log/leaves/0/inclusion", {"tree_size": "{anchored+1}"}, 422, "tree-size-out-of-range"),
    ("/log/leaves/0/inclusion", {"tree_size": 0}, 422, "tree-size-out-of-range"),
    ("/log/leaves/{anchored}/inclusion", {}, 422, "tree-size-out-of-range"),
    ("/log/leaves/5/inclusion", {"tree_size": 5}, 422, "tree-size-out-of-range"),
    ("/log/leaves/-1/inclusion", {}, 422, "validation-error"),
    ("/log/leaves/0/inclusion", {"tree_size": -1}, 422, "validation-error"),
    ("/log/leaves/0/inclusion", {"tree_size": 2**63}, 422, "validation-error"),
    ("/log/events/0/inclusion", {}, 422, "validation-error"),
    ("/log/events/999999/inclusion", {}, 404, "unknown-event"),
    ("/log/aggregates/{unknown}/versions/1/inclusion", {}, 404, "unknown-event"),
    ("/log/aggregates/{operator}/versions/999/inclusion", {}, 404, "unknown-event"),
    ("/log/aggregates/{operator}/versions/0/inclusion", {}, 422, "validation-error"),
    ("/log/aggregates/not-a-uuid/versions/1/inclusion", {}, 422, "validation-error"),
    ("/log/consistency", {"first": 5, "second": 4}, 422, "tree-size-out-of-range"),
    ("/log/consistency", {"first": 0, "second": "{anchored+1}"}, 422,
     "tree-size-out-of-range"),
    ("/log/consistency", {"first": "{anchored+1}"}, 422, "tree-size-out-of-range"),
    ("/log/consistency", {}, 422, "validation-error"),
    ("/log/consistency", {"first": -1}, 422, "validation-error"),
    ("/log/chain-checkpoints", {"limit": 0}, 422, "validation-error"),
    ("/log/chain-checkpoints", {"after_index": -2}, 422, "validation-error"),
]


def test_forged_parameters_are_refused(world: World):
    anchored = anchor(world)
    world.project_batch(world.actors["enterprise"])  # events beyond the anchored size
    names = {"anchored": anchored, "anchored+1": anchored + 1, "unknown": uuid4(),
             "operator": world.operator.id}
    for path, params, status, code in FORGED:
        path = path.format(**names)
        params = {k: v.format(**names) if isinstance(v, str) else v for k, v in params.items()}
        response = world.api.get(None, path, params=params)
        assert (response.status_code, response.json().get("code")) == (status, code), (
            path, params, response.text)
        assert_problem(response, status, code)


def test_an_event_after_the_anchored_size_is_not_proven(world: World):
    anchored = anchor(world)
    world.project_batch(world.actors["enterprise"])
    body = assert_problem(world.api.get(None, f"/log/events/{anchored + 1}/inclusion"), 422,
                          "tree-size-out-of-range")
    assert body["details"]["tree_size"] == anchored


def test_checkpoints_are_read_from_the_chain_not_the_operators_records(world: World):
    api = world.api
    anchor(world)
    world.project_batch(world.actors["enterprise"])
    anchor(world)
    anchoring = world.runtime.anchoring
    records = anchoring.anchorer.anchors()
    chain = anchoring.chain
    page = api.get(None, "/log/chain-checkpoints").json()
    assert page["count"] == 2 and page["next_after"] is None
    for item, record in zip(page["items"], records, strict=True):
        on_chain = chain.checkpoint(item["index"])
        assert (item["tree_size"], bytes.fromhex(item["root"]), item["block_number"]) == (
            on_chain.tree_size, on_chain.root, on_chain.block_number)
        assert item["transaction"] == record.tx_hash
        assert item["contract_address"] == chain.contract_address
    one = api.get(None, "/log/chain-checkpoints", params={"limit": 1}).json()
    assert one["items"] == page["items"][:1] and one["next_after"] == 0
    rest = api.get(None, "/log/chain-checkpoints", params={"after_index": 0}).json()
    assert rest["items"] == page["items"][1:]
    # The operator rewrites its own records: the chain's checkpoints are still served.
    with anchoring.engine.begin() as conn:
        conn.execute(update(merkle_anchors).values(root=b"\x11" * 32))
    assert api.get(None, "/log/chain-checkpoints").json() == page
    with anchoring.engine.begin() as conn:
        conn.execute(delete(merkle_anchors))
    assert api.get(None, "/log/chain-checkpoints/latest").json() == page["items"][-1]


# ------------------------------------------------------------------- the C2SP checkpoint


def open_note_independently(note: str, vkey: str) -> str:
    """signed-note verification written from the C2SP text, separately from anchoring.note."""
    name, key_hash, key_b64 = vkey.split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 1 and len(raw) == 33
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_hash
    text, blank, signatures = note.rpartition("\n\n")
    assert blank
    text += "\n"
    for line in signatures.rstrip("\n").split("\n"):
        dash, signer, blob = line.split(" ")
        assert dash == "\u2014"
        data = base64.b64decode(blob)
        if signer == name and data[:4].hex() == key_hash:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(data[4:], text.encode())
            return text
    raise AssertionError("no signature of the log key")


def test_the_latest_anchored_checkpoint_is_served_as_a_signed_c2sp_note(world: World):
    api = world.api
    size = anchor(world)
    response = api.get(None, "/log/checkpoint")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    vkey = api.get(None, "/log/key").text.strip()
    text = open_note_independently(response.text, vkey)
    origin, tree_size, root = text.rstrip("\n").split("\n")
    chain = world.runtime.anchoring.chain
    assert origin == vkey.split("+")[0] == (
        f"carbon-ledger/eip155-{chain.chain_id}/{chain.contract_address.lower()}")
    assert int(tree_size) == size
    assert base64.b64decode(root) == chain.root_of(size)
    # The key is persisted: the same verifier key after a restart of the app.
    assert (world.runtime.settings.data_dir / "log-signing-key").stat().st_mode & 0o077 == 0
    # A tampered note does not verify.
    forged = response.text.replace(f"\n{size}\n", f"\n{size + 1}\n")
    with pytest.raises(InvalidSignature):
        open_note_independently(forged, vkey)


def test_a_tampered_anchor_record_is_not_signed(world: World):
    anchor(world)
    anchoring = world.runtime.anchoring
    with anchoring.engine.begin() as conn:
        conn.execute(update(merkle_anchors).values(root=b"\x11" * 32))
    assert_problem(world.api.get(None, "/log/checkpoint"), 409, "log-mismatch")


def test_tiles_rebuild_the_signed_checkpoints_root(world: World):
    api = world.api
    size = anchor(world)
    vkey = api.get(None, "/log/key").text.strip()
    _, signed_size, root = open_note_independently(
        api.get(None, "/log/checkpoint").text, vkey).rstrip("\n").split("\n")
    assert int(signed_size) == size < 256
    tile = api.get(None, f"/log/tile/0/000.p/{size}")
    assert tile.status_code == 200, tile.text
    assert tile.headers["content-type"] == "application/octet-stream"
    hashes = [tile.content[i : i + 32] for i in range(0, len(tile.content), 32)]
    bundle = api.get(None, f"/log/tile/entries/000.p/{size}").content
    entries, offset = [], 0
    while offset < len(bundle):
        length = int.from_bytes(bundle[offset : offset + 2], "big")
        entries.append(bundle[offset + 2 : offset + 2 + length])
        offset += 2 + length
    assert [_sha(b"\x00" + e) for e in entries] == hashes
    assert mth(entries) == base64.b64decode(root)
    world.project_batch(world.actors["enterprise"])  # not anchored: not served
    assert_problem(api.get(None, f"/log/tile/0/000.p/{size + 1}"), 404, "unknown-tile")
    assert_problem(api.get(None, "/log/tile/0/000"), 404, "unknown-tile")
    assert_problem(api.get(None, "/log/tile/0/0.p/1"), 422, "invalid-tile-path")
    assert_problem(api.get(None, "/log/tile/9/000"), 422, "invalid-tile-path")
