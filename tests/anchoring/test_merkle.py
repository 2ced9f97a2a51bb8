"""Tests for anchoring.merkle: RFC 9162 section 2.1 Merkle trees.

Sources of truth, in order:

1. The published Certificate Transparency test vectors (see the KNOWN ANSWER section).
2. A deliberately naive, recursive transcription of the RFC 9162 definitions (MTH, PATH,
   PROOF/SUBPROOF), written here independently of the module under test.
3. pymerkle, an independent RFC 6962 compatible implementation.
4. Properties (hypothesis): every proof verifies, tampered proofs do not, incremental and
   historical trees agree with trees built from scratch.
"""

import ast
import hashlib
import inspect
from collections.abc import Iterable
from functools import cache
from typing import Any

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring import merkle
from anchoring.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactTree,
    MerkleError,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# =============================================================================================
# KNOWN ANSWER TESTS
#
# The reference 8-leaf tree of the Certificate Transparency reference implementation, with its
# roots for every size 1..8 and its published inclusion ("path") and consistency proofs:
#   * google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
#     (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs, kSHA256EmptyTreeHash)
#   * transparency-dev/merkle, proof/verify_test.go
#     (leaves, roots, inclusionProofs, consistencyProofs; the same values)
# In both sources the inclusion vectors number leaves from 1 ("leaf 1" is index 0); they are
# converted to 0-based indices below. The hasher vectors come from transparency-dev/merkle,
# rfc6962/rfc6962_test.go (TestRFC6962Hasher).
# =============================================================================================

CT_EMPTY_TREE_HASH = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

CT_LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# CT_ROOTS[n - 1] is the root of the tree of the first n leaves.
CT_ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (0-based leaf index, tree size, proof). Published as (leaf, snapshot) = (1, 1), (1, 8),
# (6, 8), (3, 3), (2, 5) with 1-based leaf numbers.
CT_INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        3,
        [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    ),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, proof). (6, 7) is only in transparency-dev/merkle.
CT_CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

CT_LEAF_HASHES = [leaf_hash(leaf) for leaf in CT_LEAVES]

# Arbitrary well-formed 32-byte value (transparency-dev/merkle's sha256SomeHash).
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_rfc6962_hasher_vectors() -> None:
    # transparency-dev/merkle rfc6962/rfc6962_test.go, TestRFC6962Hasher.
    assert EMPTY_ROOT == CT_EMPTY_TREE_HASH
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )
    assert root_from_leaf_hashes([]) == CT_EMPTY_TREE_HASH
    assert HASH_SIZE == 32


def test_hash_domain_separation() -> None:
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert a != b
    assert node_hash(a, b) != leaf_hash(a + b)  # second-preimage resistance: prefixes differ
    assert node_hash(a, b) != node_hash(b, a)


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots_every_size(size: int) -> None:
    hashes = CT_LEAF_HASHES[:size]
    expected = CT_ROOTS[size - 1]
    assert root_from_leaf_hashes(hashes) == expected
    assert MerkleTree(hashes).root() == expected
    assert MerkleTree(CT_LEAF_HASHES).root(size) == expected  # historical root
    assert CompactTree.from_leaf_hashes(hashes).root() == expected


def test_ct_roots_incremental() -> None:
    tree, compact = MerkleTree(), CompactTree()
    assert tree.root() == compact.root() == CT_EMPTY_TREE_HASH
    for i, leaf in enumerate(CT_LEAVES):
        assert tree.append(leaf_hash(leaf)) == i
        assert compact.append(leaf_hash(leaf)) == i
        assert tree.size == compact.size == i + 1
        assert tree.root() == compact.root() == CT_ROOTS[i]
        assert tree.root(0) == CT_EMPTY_TREE_HASH
        for j in range(i + 1):
            assert tree.root(j + 1) == CT_ROOTS[j]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION_PROOFS)
def test_ct_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(CT_LEAF_HASHES[:size], index) == proof
    assert MerkleTree(CT_LEAF_HASHES).inclusion_proof(index, size) == proof
    assert MerkleTree(CT_LEAF_HASHES[:size]).inclusion_proof(index) == proof
    root = CT_ROOTS[size - 1]
    assert verify_inclusion(CT_LEAF_HASHES[index], index, size, proof, root)
    for desc, args in inclusion_probes(CT_LEAF_HASHES[index], index, size, proof, root):
        assert not verify_inclusion(*args), desc


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY_PROOFS)
def test_ct_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(CT_LEAF_HASHES[:new], old) == proof
    assert MerkleTree(CT_LEAF_HASHES).consistency_proof(old, new) == proof
    assert MerkleTree(CT_LEAF_HASHES[:new]).consistency_proof(old) == proof
    old_root, new_root = CT_ROOTS[old - 1], CT_ROOTS[new - 1]
    assert verify_consistency(old, new, old_root, new_root, proof)
    for desc, args in consistency_probes(old, new, old_root, new_root, proof):
        assert not verify_consistency(*args), desc


def test_ct_verify_inclusion_edge_cases() -> None:
    # transparency-dev/merkle proof/verify_test.go TestVerifyInclusion{,SingleEntry} and
    # certificate-transparency merkle_tree_test.cc MerkleVerifierTest.VerifyPath.
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], b"")
        assert not verify_inclusion(b"", index, size, [], CT_EMPTY_TREE_HASH)
        assert not verify_inclusion(SOME_HASH, index, size, [], CT_EMPTY_TREE_HASH)
    single = leaf_hash(b"data")  # root and leaf hash of a 1-entry tree are the same
    assert verify_inclusion(single, 0, 1, [], single)
    assert not verify_inclusion(single, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], single)
    assert not verify_inclusion(b"", 0, 1, [], b"")


def test_ct_verify_consistency_edge_cases() -> None:
    # transparency-dev/merkle proof/verify_test.go TestVerifyConsistency. One deliberate
    # difference: for old_size == 0 the reference code accepts any old root, whereas
    # verify_consistency requires it to be the empty-tree root (and every root to be 32 bytes).
    root1, root2 = sha256(b"don't care 1"), sha256(b"don't care 2")
    assert not verify_consistency(0, 0, root1, root2, [])
    assert not verify_consistency(1, 1, root1, root2, [])
    assert verify_consistency(0, 0, root1, root1, []) is False  # not the empty-tree root
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 1, EMPTY_ROOT, root2, [])
    assert not verify_consistency(0, 1, root1, root2, [])  # reference accepts this
    assert verify_consistency(1, 1, root2, root2, [])
    # Time travel to the past.
    assert not verify_consistency(1, 0, root1, root2, [])
    assert not verify_consistency(2, 1, root1, root2, [])
    # Empty proof.
    assert not verify_consistency(1, 2, root1, root2, [])
    # Roots don't match.
    assert not verify_consistency(0, 0, EMPTY_ROOT, root2, [])
    assert not verify_consistency(1, 1, EMPTY_ROOT, root2, [])
    # Roots match but the proof is not empty.
    for old, new in [(0, 0), (0, 1), (1, 1)]:
        assert not verify_consistency(old, new, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


# =============================================================================================
# Tampering probes (mirroring corruptInclusionProof / corruptConsistencyProof of
# transparency-dev/merkle). Every probe must be rejected for a valid, non-trivial proof over a
# tree with distinct leaves.
# =============================================================================================

WRONG_HASH = sha256(b"WrongRoot")


def flip(value: bytes, byte: int = 0, mask: int = 8) -> bytes:
    out = bytearray(value)
    out[byte] ^= mask
    return bytes(out)


def inclusion_probes(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> list[tuple[str, tuple[Any, ...]]]:
    probes = [
        ("index - 1", (leaf, index - 1, size, proof, root)),
        ("index + 1", (leaf, index + 1, size, proof, root)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, root)),
        ("size * 2", (leaf, index, size * 2, proof, root)),
        ("size // 2", (leaf, index, size // 2, proof, root)),
        ("wrong leaf", (leaf_hash(b"WrongLeaf"), index, size, proof, root)),
        ("short leaf", (b"WrongLeaf", index, size, proof, root)),
        ("empty root", (leaf, index, size, proof, CT_EMPTY_TREE_HASH)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*proof, b""], root)),
        ("trailing hash", (leaf, index, size, [*proof, WRONG_HASH], root)),
        ("trailing root", (leaf, index, size, [*proof, root], root)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], root)),
        ("preceding root", (leaf, index, size, [root, *proof], root)),
    ]
    for i in range(len(proof)):
        for byte in (0, HASH_SIZE - 1):
            tampered = list(proof)
            tampered[i] = flip(tampered[i], byte)
            probes.append((f"flipped proof[{i}] byte {byte}", (leaf, index, size, tampered, root)))
        probes.append(
            (f"dropped proof[{i}]", (leaf, index, size, proof[:i] + proof[i + 1 :], root))
        )
        probes.append(
            (f"truncated proof[{i}]", (leaf, index, size, [*proof[:i], proof[i][:-1]], root))
        )
    if len(proof) > 1:
        probes.append(
            ("swapped proof[0:2]", (leaf, index, size, [proof[1], proof[0], *proof[2:]], root))
        )
        probes.append(
            ("inserted component", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
        )
    return probes


def consistency_probes(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[Any, ...]]]:
    if not proof:  # trivial proofs (old in {0, new}) are covered by the edge-case tests
        return []
    probes = [
        ("old - 1", (old - 1, new, old_root, new_root, proof)),
        ("old + 1", (old + 1, new, old_root, new_root, proof)),
        ("old ^ 2", (old ^ 2, new, old_root, new_root, proof)),
        ("new * 2", (old, new * 2, old_root, new_root, proof)),
        ("new // 2", (old, new // 2, old_root, new_root, proof)),
        ("wrong old root", (old, new, WRONG_HASH, new_root, proof)),
        ("wrong new root", (old, new, old_root, WRONG_HASH, proof)),
        ("short old root", (old, new, b"WrongRoot", new_root, proof)),
        ("swapped roots", (old, new, new_root, old_root, proof)),
        ("empty proof", (old, new, old_root, new_root, [])),
        ("trailing garbage", (old, new, old_root, new_root, [*proof, b""])),
        ("trailing old root", (old, new, old_root, new_root, [*proof, old_root])),
        ("trailing new root", (old, new, old_root, new_root, [*proof, new_root])),
        ("preceding garbage", (old, new, old_root, new_root, [b"", *proof])),
        ("preceding old root", (old, new, old_root, new_root, [old_root, *proof])),
        ("preceding new root", (old, new, old_root, new_root, [new_root, *proof])),
        ("preceding proof[0]", (old, new, old_root, new_root, [proof[0], *proof])),
        ("truncated proof", (old, new, old_root, new_root, proof[:-1])),
        ("not a list", (old, new, old_root, new_root, b"".join(proof))),
    ]
    for i in range(len(proof)):
        for byte in (0, HASH_SIZE - 1):
            tampered = list(proof)
            tampered[i] = flip(tampered[i], byte, 16)
            probes.append(
                (f"flipped proof[{i}] byte {byte}", (old, new, old_root, new_root, tampered))
            )
        probes.append(
            (f"dropped proof[{i}]", (old, new, old_root, new_root, proof[:i] + proof[i + 1 :]))
        )
    return probes


# =============================================================================================
# Naive reference: RFC 9162 section 2.1 transcribed literally (recursion over slices).
# =============================================================================================


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(d: tuple[bytes, ...]) -> bytes:
    if not d:
        return sha256(b"")
    if len(d) == 1:
        return d[0]
    k = ref_split(len(d))
    return sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


def ceil_log2(n: int) -> int:
    return (n - 1).bit_length()


REF_MAX = 64
REF_LEAVES = tuple(leaf_hash(i.to_bytes(2, "big")) for i in range(REF_MAX))
REF_TREE = MerkleTree(REF_LEAVES)


def test_against_reference_exhaustive() -> None:
    """Every root, inclusion proof and consistency proof for all sizes up to REF_MAX."""
    for n in range(REF_MAX + 1):
        d = REF_LEAVES[:n]
        fresh = MerkleTree(d)
        assert REF_TREE.root(n) == fresh.root() == root_from_leaf_hashes(d) == ref_mth(d)
        assert CompactTree.from_leaf_hashes(d).root() == ref_mth(d)
        for i in range(n):
            expected = ref_path(i, d)
            assert REF_TREE.inclusion_proof(i, n) == fresh.inclusion_proof(i) == expected
            assert len(expected) <= ceil_log2(n)
        for m in range(n + 1):
            expected = ref_proof(m, d)
            assert REF_TREE.consistency_proof(m, n) == fresh.consistency_proof(m) == expected
            # RFC 6962 2.1.2: at most ceil(log2(n)) + 1 nodes.
            assert len(expected) <= ceil_log2(n) + 1
    # The stateless functions are O(n) per proof: spot-check them on a few sizes.
    for n in (1, 2, 3, 7, 8, 13, 32, 33):
        d = REF_LEAVES[:n]
        assert [inclusion_proof(d, i) for i in range(n)] == [ref_path(i, d) for i in range(n)]
        assert [consistency_proof(d, m) for m in range(n + 1)] == [
            ref_proof(m, d) for m in range(n + 1)
        ]


def test_verify_all_proofs_and_reject_all_probes() -> None:
    """CT's MerkleVerifierTest: every valid proof verifies, every corruption is rejected."""
    for n in range(1, 33):
        root = REF_TREE.root(n)
        for i in range(n):
            leaf, proof = REF_LEAVES[i], REF_TREE.inclusion_proof(i, n)
            assert verify_inclusion(leaf, i, n, proof, root)
            for desc, args in inclusion_probes(leaf, i, n, proof, root):
                assert not verify_inclusion(*args), (n, i, desc)
        for m in range(n + 1):
            old_root, proof = REF_TREE.root(m), REF_TREE.consistency_proof(m, n)
            assert verify_consistency(m, n, old_root, root, proof)
            for desc, args in consistency_probes(m, n, old_root, root, proof):
                assert not verify_consistency(*args), (m, n, desc)


def test_proof_lengths_are_logarithmic_for_large_sizes() -> None:
    tree = MerkleTree(leaf_hash(i.to_bytes(4, "big")) for i in range(5000))
    for n in (1000, 1024, 1025, 4097, 5000):
        for i in (0, 1, n // 3, n - 2, n - 1):
            assert len(tree.inclusion_proof(i, n)) <= ceil_log2(n)
        for m in (1, 2, 3, 512, n // 2, n - 1):
            assert len(tree.consistency_proof(m, n)) <= ceil_log2(n) + 1


# =============================================================================================
# MerkleTree storage design: O(log n) node lookups, pluggable (level, index) storage.
# =============================================================================================


class CountingTree(MerkleTree):
    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.reads = 0
        super().__init__(leaves)

    def _node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super()._node(level, index)


class DictBackedTree(MerkleTree):
    """What a database-backed tree would look like: nodes keyed by (level, index)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.store: dict[tuple[int, int], bytes] = {}
        super().__init__(leaves)

    def _node(self, level: int, index: int) -> bytes:
        return self.store[level, index]

    def _store_node(self, level: int, index: int, node: bytes) -> None:
        assert (level, index) not in self.store  # append-only: each node written once
        self.store[level, index] = node


def test_node_lookups_are_logarithmic() -> None:
    n = (1 << 13) + 1234
    tree = CountingTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))
    bound = 2 * n.bit_length() + 2
    for size in (n, n - 1, 4096, 4097, 6000):
        for index in (0, size // 2, size - 1):
            tree.reads = 0
            tree.inclusion_proof(index, size)
            assert tree.reads <= bound
        for old in (1, 3, size // 2, size - 1):
            tree.reads = 0
            tree.consistency_proof(old, size)
            assert tree.reads <= bound
        tree.reads = 0
        tree.root(size)
        assert tree.reads <= size.bit_length()


def test_storage_hooks_are_sufficient() -> None:
    leaves = REF_LEAVES[:45]
    backed, plain = DictBackedTree(leaves), MerkleTree(leaves)
    assert len(backed.store) == 2 * 45 - (45).bit_count()  # one node per completed subtree
    for n in range(46):
        assert backed.root(n) == plain.root(n)
        assert backed.compact(n).frontier == plain.compact(n).frontier
        for i in range(n):
            assert backed.inclusion_proof(i, n) == plain.inclusion_proof(i, n)
        for m in range(n + 1):
            assert backed.consistency_proof(m, n) == plain.consistency_proof(m, n)
    assert [backed.leaf(i) for i in range(45)] == list(leaves)


# =============================================================================================
# CompactTree
# =============================================================================================


def test_compact_tree_resume_from_persisted_frontier() -> None:
    full = CompactTree()
    for i, leaf in enumerate(REF_LEAVES):
        persisted = (full.size, full.frontier)
        resumed = CompactTree(*persisted)
        assert resumed.root() == full.root() == ref_mth(REF_LEAVES[:i])
        assert resumed.append(leaf) == full.append(leaf) == i
        assert resumed.root() == full.root()
        assert resumed.frontier == full.frontier
        assert len(full.frontier) == full.size.bit_count()


def test_compact_tree_frontier_matches_merkle_tree() -> None:
    for n in range(REF_MAX + 1):
        compact = REF_TREE.compact(n)
        assert compact.size == n
        assert compact.frontier == CompactTree.from_leaf_hashes(REF_LEAVES[:n]).frontier
        assert compact.root() == REF_TREE.root(n)


def test_compact_tree_copy_is_independent() -> None:
    tree = CompactTree.from_leaf_hashes(REF_LEAVES[:5])
    clone = tree.copy()
    clone.append(REF_LEAVES[5])
    assert tree.size == 5
    assert clone.size == 6
    assert tree.root() == ref_mth(REF_LEAVES[:5])
    assert clone.root() == ref_mth(REF_LEAVES[:6])
    assert "size=5" in repr(tree)
    assert "size=6" in repr(MerkleTree(REF_LEAVES[:6]))


def test_compact_tree_rejects_bad_state() -> None:
    h1 = leaf_hash(b"x")
    with pytest.raises(MerkleError, match="frontier of 2 hashes"):
        CompactTree(3, [h1])
    with pytest.raises(MerkleError):
        CompactTree(1, [])
    with pytest.raises(MerkleError):
        CompactTree(0, [h1])
    with pytest.raises(MerkleError, match="32 bytes"):
        CompactTree(1, [b"short"])
    with pytest.raises(MerkleError, match="non-negative"):
        CompactTree(-1)
    with pytest.raises(MerkleError):
        CompactTree("1", [h1])
    assert CompactTree(3, [h1, h1]).size == 3


# =============================================================================================
# Argument validation
# =============================================================================================


def test_module_has_no_asserts() -> None:
    tree = ast.parse(inspect.getsource(merkle))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]


def test_merkle_error_is_value_error() -> None:
    assert issubclass(MerkleError, ValueError)


def test_generators_reject_bad_arguments() -> None:
    leaves = list(REF_LEAVES[:5])
    tree = MerkleTree(leaves)
    bad_calls = [
        lambda: inclusion_proof(leaves, -1),
        lambda: inclusion_proof(leaves, 5),
        lambda: inclusion_proof([], 0),
        lambda: inclusion_proof(leaves, "1"),
        lambda: inclusion_proof(leaves, True),
        lambda: inclusion_proof(leaves, 1.0),
        lambda: consistency_proof(leaves, -1),
        lambda: consistency_proof(leaves, 6),
        lambda: consistency_proof(leaves, None),
        lambda: root_from_leaf_hashes([b"not a hash"]),
        lambda: root_from_leaf_hashes(leaves[0]),  # a single hash, not a list of them
        lambda: root_from_leaf_hashes([leaves[0].hex()]),
        lambda: inclusion_proof([*leaves, bytearray(32)], 0),
        lambda: tree.root(6),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(5),
        lambda: tree.inclusion_proof(3, 3),
        lambda: tree.inclusion_proof(0, 6),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.consistency_proof(4, 3),
        lambda: tree.consistency_proof(1, 6),
        lambda: tree.consistency_proof(-1),
        lambda: tree.leaf(5),
        lambda: tree.leaf(-1),
        lambda: tree.compact(6),
        lambda: tree.append(b"\x00" * 31),
        lambda: tree.append("00" * 32),
        lambda: CompactTree().append(b"\x00" * 33),
        lambda: CompactTree().append(None),
    ]
    for call in bad_calls:
        with pytest.raises(MerkleError):
            call()
    assert tree.size == 5  # failed appends changed nothing


def test_error_messages_are_clear() -> None:
    tree = MerkleTree(REF_LEAVES[:5])
    with pytest.raises(MerkleError, match=r"index 5 out of range for tree size 5"):
        tree.inclusion_proof(5)
    with pytest.raises(MerkleError, match=r"old_size 4 is larger than new_size 3"):
        tree.consistency_proof(4, 3)
    with pytest.raises(MerkleError, match=r"tree_size 9 exceeds the current tree size 5"):
        tree.root(9)
    with pytest.raises(MerkleError, match=r"leaf hash must be 32 bytes, got 3 bytes"):
        tree.append(b"abc")


@pytest.mark.parametrize("tree_type", [MerkleTree, CompactTree])
def test_extend_is_atomic(tree_type: type[MerkleTree | CompactTree]) -> None:
    tree = tree_type()
    tree.extend(REF_LEAVES[:3])
    with pytest.raises(MerkleError, match="leaf hash 2"):
        tree.extend([REF_LEAVES[3], REF_LEAVES[4], b"bad"])
    assert tree.size == 3
    assert tree.root() == ref_mth(REF_LEAVES[:3])
    tree.extend(iter(REF_LEAVES[3:9]))  # any iterable
    assert tree.root() == ref_mth(REF_LEAVES[:9])


def test_verifiers_return_false_on_malformed_input() -> None:
    leaves = REF_LEAVES[:7]
    root = ref_mth(leaves)
    proof = ref_path(3, leaves)
    assert verify_inclusion(leaves[3], 3, 7, proof, root)
    assert verify_inclusion(leaves[3], 3, 7, tuple(proof), root)
    for args in [
        (leaves[3], 3, 7, None, root),
        (leaves[3], 3, 7, 5, root),
        (leaves[3], 3, 7, b"".join(proof), root),
        (leaves[3], 3, 7, [p.hex() for p in proof], root),
        (leaves[3], 3, 7, [bytearray(p) for p in proof], root),
        (leaves[3], 3, 7, [*proof[:-1], proof[-1] + b"\x00"], root),
        (leaves[3], -3, 7, proof, root),
        (leaves[3], 3, -7, proof, root),
        (leaves[3], "3", 7, proof, root),
        (leaves[3], 3, 7.0, proof, root),
        (leaves[3], 3, 7, proof, None),
        (leaves[3], 3, 7, proof, root.hex()),
        (None, 3, 7, proof, root),
        (leaves[3], 7, 7, proof, root),
    ]:
        assert verify_inclusion(*args) is False, args

    old_root = ref_mth(leaves[:3])
    cproof = ref_proof(3, leaves)
    assert verify_consistency(3, 7, old_root, root, cproof)
    for args in [
        (3, 7, old_root, root, None),
        (3, 7, old_root, root, 7),
        (3, 7, old_root, root, [p.hex() for p in cproof]),
        (3, 7, old_root, root, [*cproof, b""]),
        (-3, 7, old_root, root, cproof),
        (3, -7, old_root, root, cproof),
        (7, 3, root, old_root, cproof),
        (3.0, 7, old_root, root, cproof),
        (3, 7, None, root, cproof),
        (3, 7, old_root, root[:-1], cproof),
        (True, 7, old_root, root, cproof),
    ]:
        assert verify_consistency(*args) is False, args


# =============================================================================================
# Property-based tests (hypothesis)
# =============================================================================================

# Distinct entries: with duplicate leaves some "wrong index" probes are legitimately valid.
distinct_entries = st.lists(st.binary(max_size=12), unique=True, max_size=48)
nonempty_distinct_entries = st.lists(st.binary(max_size=12), unique=True, min_size=1, max_size=48)


@settings(max_examples=60, deadline=None)
@given(entries=distinct_entries)
def test_property_compact_equals_merkle_at_every_size(entries: list[bytes]) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree, compact = MerkleTree(), CompactTree()
    assert tree.root() == compact.root() == EMPTY_ROOT
    for i, value in enumerate(hashes):
        tree.append(value)
        compact.append(value)
        assert tree.root() == compact.root()
        assert tree.compact().frontier == compact.frontier
        assert CompactTree(compact.size, compact.frontier).root() == compact.root()
        assert tree.leaf(i) == value
    assert tree.root() == root_from_leaf_hashes(hashes) == ref_mth(tuple(hashes))


@settings(max_examples=40, deadline=None)
@given(entries=distinct_entries, data=st.data())
def test_property_historical_equals_fresh(entries: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree = MerkleTree(hashes)
    n = data.draw(st.integers(0, len(hashes)), label="historical size")
    fresh = MerkleTree(hashes[:n])
    assert tree.root(n) == fresh.root() == root_from_leaf_hashes(hashes[:n])
    assert tree.compact(n).frontier == fresh.compact().frontier
    for i in range(n):
        assert tree.inclusion_proof(i, n) == fresh.inclusion_proof(i)
    for m in range(n + 1):
        assert tree.consistency_proof(m, n) == fresh.consistency_proof(m)


@settings(max_examples=40, deadline=None)
@given(entries=nonempty_distinct_entries)
def test_property_every_inclusion_proof_verifies(entries: list[bytes]) -> None:
    hashes = [leaf_hash(e) for e in entries]
    n = len(hashes)
    tree = MerkleTree(hashes)
    root = tree.root()
    for i in range(n):
        proof = tree.inclusion_proof(i)
        assert len(proof) <= ceil_log2(n)
        assert verify_inclusion(hashes[i], i, n, proof, root)
        assert not verify_inclusion(leaf_hash(b"\xff" * 13), i, n, proof, root)  # not a leaf


@settings(max_examples=40, deadline=None)
@given(entries=distinct_entries)
def test_property_every_consistency_proof_verifies(entries: list[bytes]) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree = MerkleTree(hashes)
    for n in range(len(hashes) + 1):
        new_root = tree.root(n)
        for m in range(n + 1):
            proof = tree.consistency_proof(m, n)
            assert len(proof) <= ceil_log2(n) + 1
            assert verify_consistency(m, n, tree.root(m), new_root, proof)


@settings(max_examples=30, deadline=None)
@given(entries=nonempty_distinct_entries, data=st.data())
def test_property_tampered_proofs_rejected(entries: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in entries]
    tree = MerkleTree(hashes)
    n = data.draw(st.integers(1, len(hashes)), label="size")
    i = data.draw(st.integers(0, n - 1), label="index")
    m = data.draw(st.integers(0, n), label="old size")
    root = tree.root(n)
    proof = tree.inclusion_proof(i, n)
    assert verify_inclusion(hashes[i], i, n, proof, root)
    for desc, args in inclusion_probes(hashes[i], i, n, proof, root):
        assert not verify_inclusion(*args), desc
    # Any other leaf at that position is rejected too.
    for j in range(n):
        if j != i:
            assert not verify_inclusion(hashes[j], i, n, proof, root)
    cproof = tree.consistency_proof(m, n)
    assert verify_consistency(m, n, tree.root(m), root, cproof)
    for desc, args in consistency_probes(m, n, tree.root(m), root, cproof):
        assert not verify_consistency(*args), desc
    # A proof for one size pair does not verify for a different, valid size pair.
    for other in range(1, n):
        if other != m:
            assert not verify_consistency(other, n, tree.root(other), root, cproof)


@settings(max_examples=30, deadline=None)
@given(
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=40),
    data=st.data(),
)
def test_property_arbitrary_leaf_hashes_match_reference(
    hashes: list[bytes], data: st.DataObject
) -> None:
    # Arbitrary (possibly duplicated) 32-byte leaf hashes: structure must match the RFC.
    d = tuple(hashes)
    n = len(d)
    assert root_from_leaf_hashes(d) == ref_mth(d)
    if n:
        i = data.draw(st.integers(0, n - 1), label="index")
        assert inclusion_proof(d, i) == ref_path(i, d)
        assert verify_inclusion(d[i], i, n, inclusion_proof(d, i), ref_mth(d))
    m = data.draw(st.integers(0, n), label="old size")
    assert consistency_proof(d, m) == ref_proof(m, d)
    assert verify_consistency(m, n, ref_mth(d[:m]), ref_mth(d), consistency_proof(d, m))


# =============================================================================================
# Cross-check against pymerkle (independent implementation).
#
# pymerkle 7.0.0 is RFC 6962 compatible in its default configuration: InmemoryTree hashes
# leaves as H(0x00 || entry) and nodes as H(0x01 || l || r) ("security" mode, on unless
# disable_security=True), the empty tree as H(""), and splits at the largest power of two
# below the width. It numbers leaves from 1. Its inclusion proofs are [leaf, *RFC path] plus a
# "rule" of bits, so RFC paths can be converted into pymerkle proofs. Its consistency proofs
# are NOT the RFC 9162 PROOF: it splits differently (goes right when m == k) and always
# carries a base hash, so they are longer and not derivable from an RFC proof; for those we
# check that both implementations accept each other's roots.
# =============================================================================================


def pymerkle_tree(entries: list[bytes], **options: bool) -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256", **options)
    for entry in entries:
        tree.append_entry(entry)
    return tree


def test_pymerkle_default_configuration_is_rfc6962() -> None:
    tree = pymerkle_tree(CT_LEAVES)
    assert tree.get_root(0) == CT_EMPTY_TREE_HASH
    assert [tree.get_root(n) for n in range(1, 9)] == CT_ROOTS
    assert [tree.get_leaf(i + 1) for i in range(8)] == CT_LEAF_HASHES
    # With the prefixes disabled it is a different (non-RFC) tree: make sure we'd notice.
    insecure = pymerkle_tree(CT_LEAVES, disable_security=True)
    assert insecure.get_root() != CT_ROOTS[-1]


@settings(max_examples=25, deadline=None)
@given(entries=st.lists(st.binary(max_size=24), min_size=1, max_size=33), data=st.data())
def test_pymerkle_cross_check(entries: list[bytes], data: st.DataObject) -> None:
    pm = pymerkle_tree(entries)
    hashes = [leaf_hash(e) for e in entries]
    ours = MerkleTree(hashes)
    total = len(entries)
    assert [pm.get_leaf(i + 1) for i in range(total)] == hashes
    for n in range(total + 1):
        assert pm.get_root(n) == ours.root(n) == root_from_leaf_hashes(hashes[:n])

    n = data.draw(st.integers(1, total), label="size")
    pm_root = pm.get_root(n)
    for i in range(n):
        our_proof = ours.inclusion_proof(i, n)
        pm_proof = pm.prove_inclusion(i + 1, n)
        # pymerkle's path is [leaf hash, *RFC 9162 PATH].
        assert pm_proof.path == [hashes[i], *our_proof]
        # Our proof, wrapped in pymerkle's proof object, passes pymerkle's verifier ...
        wrapped = pymerkle.InclusionProof(
            "sha256", True, n, i + 1, pm_proof.rule, [hashes[i], *our_proof]
        )
        pymerkle.verify_inclusion(hashes[i], pm_root, wrapped, index=i + 1, size=n)
        # ... and verifies with ours against pymerkle's root.
        assert verify_inclusion(hashes[i], i, n, our_proof, pm_root)
        if our_proof:
            tampered = pymerkle.InclusionProof(
                "sha256",
                True,
                n,
                i + 1,
                pm_proof.rule,
                [hashes[i], flip(our_proof[0]), *our_proof[1:]],
            )
            with pytest.raises(pymerkle.InvalidProof):
                pymerkle.verify_inclusion(hashes[i], pm_root, tampered)

    for m in range(1, n + 1):
        pm_old_root = pm.get_root(m)
        # pymerkle's own consistency proof is accepted by pymerkle against our roots ...
        pm_proof = pm.prove_consistency(m, n)
        pymerkle.verify_consistency(
            ours.root(m), ours.root(n), pm_proof, prior_size=m, later_size=n
        )
        # ... and our RFC proof verifies with ours against pymerkle's roots.
        assert verify_consistency(m, n, pm_old_root, pm_root, ours.consistency_proof(m, n))
