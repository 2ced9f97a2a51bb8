"""RFC 9162 section 2.1 Merkle trees (the Certificate Transparency tree), pure Python.

This module implements the Merkle Tree Hash of RFC 9162 section 2.1 (identical to RFC 6962
section 2.1), inclusion ("audit") proofs and consistency proofs, and their verification, using
SHA-256 from :mod:`hashlib` only.

Definitions (RFC 9162 section 2.1.1), for an ordered list of ``n`` inputs ``D_n``:

* ``MTH({}) = SHA-256()``, the hash of the empty string (:data:`EMPTY_ROOT`);
* ``MTH({d(0)}) = SHA-256(0x00 || d(0))``, the leaf hash (:func:`leaf_hash`);
* for ``n > 1``, with ``k`` the largest power of two strictly smaller than ``n``,
  ``MTH(D_n) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` (:func:`node_hash`).

Every function and class here works on *leaf hashes* (``leaf_hash(entry)``), not on the raw
entries, so callers decide how entries are serialised. All hashes are 32-byte ``bytes``.

Layout
------
Proof generation is written once, against a "node lookup" ``node(level, index)`` that returns
the root of the *perfect* subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``.
In the RFC 9162 tree every left child is such a perfect, aligned subtree, and every right child
is either one too or lies on the right border of the tree, where its hash is the right-to-left
fold of at most ``log2(n)`` perfect subtrees. Hence a root, an inclusion proof or a consistency
proof for *any* tree size costs ``O(log n)`` lookups and hashes once perfect-subtree hashes are
stored, which is how CT logs store trees (and what :class:`MerkleTree` does). The module-level
functions use a lookup that recomputes perfect subtrees from the leaf hashes (``O(n)``).

* :func:`root_from_leaf_hashes`: ``MTH(D_n)`` (RFC 9162 section 2.1.1).
* :func:`inclusion_proof`: ``PATH(m, D_n)`` (RFC 9162 section 2.1.3.1).
* :func:`consistency_proof`: ``PROOF(m, D_n)`` / ``SUBPROOF`` (RFC 9162 section 2.1.4.1).
* :func:`verify_inclusion`: the algorithm of RFC 9162 section 2.1.3.2, step by step.
* :func:`verify_consistency`: the algorithm of RFC 9162 section 2.1.4.2, step by step.
* :class:`CompactTree`: append-only tree keeping only the ``O(log n)`` frontier of perfect
  subtree roots (enough for the current root and for resuming from persisted state).
* :class:`MerkleTree`: keeps every leaf hash and every perfect subtree hash, serving roots and
  proofs for the current and all historical tree sizes in ``O(log n)``.

Bad arguments to generators and constructors raise :class:`MerkleError` (a ``ValueError``).
Verification functions never raise on malformed input: they return ``False``.
"""

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Self

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactTree",
    "MerkleError",
    "MerkleTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash handled by this module (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""``MTH({})``: the root of the empty tree, SHA-256 of the empty string (RFC 9162 2.1.1)."""

NodeLookup = Callable[[int, int], bytes]
"""``node(level, index)``: root of the perfect subtree of ``2**level`` leaves starting at leaf
``index * 2**level``. ``node(0, i)`` is the hash of leaf ``i``."""


class MerkleError(ValueError):
    """Invalid argument to a Merkle tree operation (bad index, size, or hash)."""


# ---------------------------------------------------------------------------------------------
# Hashing (RFC 9162 section 2.1.1)
# ---------------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Return the leaf hash ``SHA-256(0x00 || data)`` of one tree entry (RFC 9162 2.1.1)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash ``SHA-256(0x01 || left || right)`` (RFC 9162 2.1.1)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


# ---------------------------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _require_hash(what: str, value: object) -> None:
    if not _is_hash(value):
        detail = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise MerkleError(f"{what} must be {HASH_SIZE} bytes, got {detail}")


def _require_count(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MerkleError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise MerkleError(f"{what} must be non-negative, got {value}")
    return value


def _require_hashes(hashes: Iterable[bytes], what: str = "leaf hash") -> list[bytes]:
    if isinstance(hashes, bytes | bytearray | memoryview | str):
        raise MerkleError(f"expected an iterable of {what}es, not a single bytes/str value")
    values = list(hashes)
    for i, value in enumerate(values):
        _require_hash(f"{what} {i}", value)
    return values


def _require_index(index: object, tree_size: int) -> int:
    value = _require_count("index", index)
    if value >= tree_size:
        raise MerkleError(f"index {value} out of range for tree size {tree_size}")
    return value


def _require_sizes(old_size: object, new_size: int) -> int:
    value = _require_count("old_size", old_size)
    if value > new_size:
        raise MerkleError(f"old_size {value} is larger than new_size {new_size}")
    return value


# ---------------------------------------------------------------------------------------------
# Proof generation core, written against a node lookup (see module docstring)
# ---------------------------------------------------------------------------------------------


def _split(n: int) -> int:
    """``k`` of RFC 9162 2.1.1: the largest power of two strictly smaller than ``n >= 2``."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(node: NodeLookup, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` for a subtree of the RFC tree.

    ``start`` must be a multiple of the largest power of two not exceeding ``end - start``;
    this holds for every subtree of the RFC tree. The range is the concatenation of perfect
    subtrees of decreasing size (one per set bit of ``end - start``); since ``k`` is always the
    largest power of two below the width, ``MTH`` is their right-to-left fold.
    """
    width = end - start
    if width <= 0:
        return EMPTY_ROOT
    parts: list[bytes] = []
    while width:
        level = width.bit_length() - 1
        parts.append(node(level, start >> level))
        start += 1 << level
        width -= 1 << level
    root = parts.pop()
    while parts:
        root = _sha256(_NODE_PREFIX + parts.pop() + root).digest()
    return root


def _inclusion_path(node: NodeLookup, index: int, tree_size: int) -> list[bytes]:
    """``PATH(index, D[0:tree_size])`` of RFC 9162 2.1.3.1, with ``0 <= index < tree_size``.

    Walks from the root down to the leaf. At each step the RFC recursion is
    ``PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n])`` if ``m < k`` else
    ``PATH(m - k, D[k:n]) : MTH(D[0:k])``; the siblings are collected top-down and the list is
    reversed at the end so that it runs from the leaf towards the root as the RFC specifies.
    """
    path: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        mid = start + k
        if index < mid:
            path.append(_range_root(node, mid, end))
            end = mid
        else:
            level = k.bit_length() - 1
            path.append(node(level, start >> level))
            start = mid
    path.reverse()
    return path


def _consistency_path(node: NodeLookup, old_size: int, new_size: int) -> list[bytes]:
    """``PROOF(old_size, D[0:new_size])`` of RFC 9162 2.1.4.1, with ``old_size <= new_size``.

    ``PROOF(m, D_n) = SUBPROOF(m, D_n, true)`` where ``SUBPROOF(m, D_m, true) = {}``,
    ``SUBPROOF(m, D_m, false) = {MTH(D_m)}``, and for ``m < n``:
    ``SUBPROOF(m, D[0:k], b) : MTH(D[k:n])`` if ``m <= k``, else
    ``SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])``. As for inclusion, the recursion is
    unrolled top-down and the result reversed. ``old_size == 0`` and ``old_size == new_size``
    yield the empty proof (nothing needs proving).
    """
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, end = 0, new_size
    complete = True  # RFC's "b": the current subtree's old part is the whole old tree
    while old_size != end:  # "m == n" for the current subtree D[start:end]
        k = _split(end - start)
        mid = start + k
        if old_size <= mid:
            path.append(_range_root(node, mid, end))
            end = mid
        else:
            level = k.bit_length() - 1
            path.append(node(level, start >> level))
            start = mid
            complete = False
    if not complete:
        path.append(_range_root(node, start, end))
    path.reverse()
    return path


def _perfect_root(nodes: list[bytes]) -> bytes:
    """Root of a perfect subtree given its ``2**h`` leaf hashes (pairwise reduction)."""
    while len(nodes) > 1:
        nodes = [
            _sha256(_NODE_PREFIX + left + right).digest()
            for left, right in zip(nodes[::2], nodes[1::2], strict=True)
        ]
    return nodes[0]


def _lookup_from_leaves(leaves: list[bytes]) -> NodeLookup:
    """A node lookup that recomputes each perfect subtree from the leaf hashes."""

    def node(level: int, index: int) -> bytes:
        first = index << level
        return _perfect_root(leaves[first : first + (1 << level)])

    return node


# ---------------------------------------------------------------------------------------------
# Stateless API over a list of leaf hashes (O(n) per call)
# ---------------------------------------------------------------------------------------------


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return ``MTH(D_n)`` (RFC 9162 2.1.1) of the tree whose leaf hashes are ``hashes``.

    ``hashes`` are leaf hashes (see :func:`leaf_hash`), not raw entries. The empty tree has
    root :data:`EMPTY_ROOT`; a one-leaf tree has its leaf hash as root.
    """
    leaves = _require_hashes(hashes)
    return _range_root(_lookup_from_leaves(leaves), 0, len(leaves))


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof ``PATH(index, D_n)`` (RFC 9162 2.1.3.1).

    The proof is the list of sibling hashes from the leaf up to (excluding) the root; it is
    empty for a one-leaf tree. Raises :class:`MerkleError` unless ``0 <= index < len(hashes)``.
    """
    leaves = _require_hashes(hashes)
    _require_index(index, len(leaves))
    return _inclusion_path(_lookup_from_leaves(leaves), index, len(leaves))


def consistency_proof(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the consistency proof ``PROOF(old_size, D_n)`` (RFC 9162 2.1.4.1).

    Proves that the tree of the first ``old_size`` leaves is a prefix of the tree of all
    ``n = len(hashes)`` leaves. The proof is empty when ``old_size`` is 0 or ``n``. Raises
    :class:`MerkleError` unless ``0 <= old_size <= n``.
    """
    leaves = _require_hashes(hashes)
    _require_sizes(old_size, len(leaves))
    return _consistency_path(_lookup_from_leaves(leaves), old_size, len(leaves))


# ---------------------------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2)
# ---------------------------------------------------------------------------------------------


def _proof_list(proof: Iterable[bytes]) -> list[bytes] | None:
    """The proof as a list of well-formed hashes, or ``None`` if it is malformed."""
    if isinstance(proof, bytes | bytearray | memoryview | str):
        return None  # a single value, not a list of hashes
    try:
        items = list(proof)
    except TypeError:
        return None
    if not all(_is_hash(item) for item in items):
        return None
    return items


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Verify an inclusion proof with the algorithm of RFC 9162 section 2.1.3.2.

    Returns ``True`` iff ``proof`` proves that ``leaf_hash`` is the hash of leaf ``index`` in
    the tree of ``tree_size`` leaves whose root is ``root``. Never raises: malformed input
    (wrong types, hashes that are not 32 bytes, negative numbers, a proof of the wrong length)
    yields ``False``.

    As in RFC 9162, ``tree_size`` is bound to ``root`` only by the caller: a proof can also
    verify under another size whose tree has the same shape along the path (e.g. index 0 in
    sizes 3 and 4). Always take the size and root from the same trusted tree head.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_count(index) and _is_count(tree_size)):
        return False
    path = _proof_list(proof)
    if path is None:
        return False
    # 1. If leaf_index is greater than or equal to tree_size, fail.
    if index >= tree_size:
        return False
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, tree_size - 1
    # 3. Set r to hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in path:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = _sha256(_NODE_PREFIX + p + r).digest()
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until either LSB(fn) is
            #     set or fn is 0.
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set r to HASH(0x01 || r || p).
        else:
            r = _sha256(_NODE_PREFIX + r + p).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0 and r against root_hash.
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Verify a consistency proof with the algorithm of RFC 9162 section 2.1.4.2.

    Returns ``True`` iff ``proof`` proves that the tree of ``old_size`` leaves with root
    ``old_root`` is a prefix of the tree of ``new_size`` leaves with root ``new_root``.

    RFC 9162 specifies the algorithm for ``0 < old_size < new_size``; it is applied verbatim.
    The cases it leaves out are decided as follows (proofs for them are empty, matching
    :func:`consistency_proof`):

    * ``old_size == new_size``: ``True`` iff the proof is empty and the roots are equal;
    * ``old_size == 0``: ``True`` iff the proof is empty and ``old_root`` is :data:`EMPTY_ROOT`
      (stricter than the CT reference code, which accepts any ``old_root`` there).

    Note that, as in RFC 9162, the sizes are bound to the roots only by the caller: for some
    size pairs the same proof and roots also verify under a different ``new_size`` (e.g.
    ``(1, 3)`` and ``(1, 4)``). Always take sizes and roots from the same trusted tree head.

    Never raises: malformed input, ``old_size > new_size`` and negative sizes yield ``False``.
    """
    if not (
        _is_hash(old_root) and _is_hash(new_root) and _is_count(old_size) and _is_count(new_size)
    ):
        return False
    path = _proof_list(proof)
    if path is None or old_size > new_size:
        return False
    if old_size == 0 and not hmac.compare_digest(old_root, EMPTY_ROOT):
        return False
    if old_size == new_size:
        return not path and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not path
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not path:
        return False
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = _sha256(_NODE_PREFIX + c + fr).digest()
            sr = _sha256(_NODE_PREFIX + c + sr).digest()
            # iii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
            #      LSB(fn) is set or fn is 0.
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        # Otherwise: i. Set sr to HASH(0x01 || sr || c).
        else:
            sr = _sha256(_NODE_PREFIX + sr + c).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
    return hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root) and sn == 0


# ---------------------------------------------------------------------------------------------
# Incremental trees
# ---------------------------------------------------------------------------------------------


class CompactTree:
    """Append-only RFC 9162 tree that keeps only its frontier: ``O(log n)`` memory.

    The frontier is the list of roots of the maximal perfect subtrees the leaves decompose into,
    left to right (largest first): one per set bit of :attr:`size`, from the most significant
    bit down. It determines the root, and ``(size, frontier)`` is all that must be persisted to
    resume appending: ``CompactTree(size, frontier)``. Appending costs one hash amortised
    (at most ``log2(n)``). This is the "compact Merkle tree" of the CT reference code.

    Not thread-safe.
    """

    __slots__ = ("_frontier", "_root", "_size")

    def __init__(self, size: int = 0, frontier: Iterable[bytes] = ()) -> None:
        """Create an empty tree, or resume one from a persisted ``(size, frontier)``.

        Raises :class:`MerkleError` if ``frontier`` does not have exactly one 32-byte hash per
        set bit of ``size``.
        """
        _require_count("size", size)
        nodes = _require_hashes(frontier, "frontier hash")
        if len(nodes) != size.bit_count():
            raise MerkleError(
                f"a tree of size {size} has a frontier of {size.bit_count()} hashes, "
                f"got {len(nodes)}"
            )
        self._frontier = nodes
        self._size = size
        self._root: bytes | None = None

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> Self:
        """Build a compact tree from a sequence of leaf hashes."""
        tree = cls()
        tree.extend(hashes)
        return tree

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """Roots of the maximal perfect subtrees, left to right (persist with :attr:`size`)."""
        return tuple(self._frontier)

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash (see :func:`leaf_hash`) and return its index (0-based)."""
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
            _require_hash("leaf hash", leaf_hash)
        index = self._size
        frontier = self._frontier
        node = leaf_hash
        # Every trailing 1-bit of the old size is a perfect subtree that the new leaf completes.
        n = index
        while n & 1:
            node = _sha256(_NODE_PREFIX + frontier.pop() + node).digest()
            n >>= 1
        frontier.append(node)
        self._size = index + 1
        self._root = None
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order.

        All hashes are validated first, so a :class:`MerkleError` leaves the tree unchanged.
        """
        leaves = _require_hashes(leaf_hashes)
        if not leaves:
            return
        frontier = self._frontier
        pop = frontier.pop
        push = frontier.append
        sha256 = _sha256
        prefix = _NODE_PREFIX
        size = self._size
        for node in leaves:
            n = size
            while n & 1:
                node = sha256(prefix + pop() + node).digest()
                n >>= 1
            push(node)
            size += 1
        self._size = size
        self._root = None

    def root(self) -> bytes:
        """Return the current root ``MTH(D_n)``; :data:`EMPTY_ROOT` if empty. ``O(log n)``."""
        root = self._root
        if root is None:
            frontier = self._frontier
            if not frontier:
                root = EMPTY_ROOT
            else:
                root = frontier[-1]
                for left in reversed(frontier[:-1]):
                    root = _sha256(_NODE_PREFIX + left + root).digest()
            self._root = root
        return root

    def copy(self) -> Self:
        """Return an independent copy of this tree."""
        return type(self)(self._size, self._frontier)

    def __repr__(self) -> str:
        """Show the size and current root."""
        return f"{type(self).__name__}(size={self._size}, root={self.root().hex()})"


class MerkleTree:
    """Append-only RFC 9162 tree serving roots and proofs for current and historical sizes.

    Alongside the leaf hashes it stores the hash of every *perfect* subtree as soon as it is
    complete, level by level, the way CT logs store their trees: ``node(level, index)`` is the
    root of the ``2**level`` leaves starting at ``index * 2**level`` (level 0 holds the leaf
    hashes). These never change once written, so they serve every tree size ``<= size``, and
    :meth:`root`, :meth:`inclusion_proof` and :meth:`consistency_proof` cost ``O(log n)``
    lookups and hashes. Storage is about ``2 * 32`` bytes per leaf.

    All node reads go through :meth:`_node` and all writes through :meth:`_store_node`; a
    storage-backed subclass (e.g. a database table keyed by ``(level, index)``) only needs to
    override those two methods and :attr:`size`.

    Not thread-safe.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Create a tree, optionally appending ``leaf_hashes``."""
        # _levels[h] holds the perfect-subtree hashes of height h, concatenated (32 bytes each).
        self._levels: list[bytearray] = []
        self._size = 0
        self.extend(leaf_hashes)

    # -- storage hooks ---------------------------------------------------------------------

    def _node(self, level: int, index: int) -> bytes:
        """Return the stored root of the perfect subtree ``(level, index)``.

        That subtree covers leaves ``[index * 2**level, (index + 1) * 2**level)``; callers only
        ask for subtrees that are complete. ``_node(0, i)`` is the hash of leaf ``i``.
        """
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def _store_node(self, level: int, index: int, node: bytes) -> None:
        """Store the root of the just-completed perfect subtree ``(level, index)``.

        Nodes are stored in append order: ``index`` is always the next free slot of ``level``.
        """
        if level == len(self._levels):
            self._levels.append(bytearray())
        self._levels[level] += node

    # -- public API ------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return self._size

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash (see :func:`leaf_hash`) and return its index (0-based)."""
        _require_hash("leaf hash", leaf_hash)
        index = self._size
        self._store_node(0, index, leaf_hash)
        node, level, i = leaf_hash, 0, index
        while i & 1:  # the new node is a right child: its parent's subtree is now complete
            node = _sha256(_NODE_PREFIX + self._node(level, i - 1) + node).digest()
            level += 1
            i >>= 1
            self._store_node(level, i, node)
        self._size = index + 1
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order.

        All hashes are validated first, so a :class:`MerkleError` leaves the tree unchanged.
        """
        for node in _require_hashes(leaf_hashes):
            self.append(node)

    def leaf(self, index: int) -> bytes:
        """Return the hash of leaf ``index``."""
        return self._node(0, _require_index(index, self.size))

    def root(self, tree_size: int | None = None) -> bytes:
        """Return ``MTH(D[0:tree_size])`` (default: the current size), in ``O(log n)``."""
        n = self._resolve_size("tree_size", tree_size)
        return _range_root(self._node, 0, n)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Return ``PATH(index, D[0:tree_size])`` (RFC 9162 2.1.3.1), in ``O(log n)``.

        Raises :class:`MerkleError` unless ``0 <= index < tree_size <= size``.
        """
        n = self._resolve_size("tree_size", tree_size)
        _require_index(index, n)
        return _inclusion_path(self._node, index, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return ``PROOF(old_size, D[0:new_size])`` (RFC 9162 2.1.4.1), in ``O(log n)``.

        Raises :class:`MerkleError` unless ``0 <= old_size <= new_size <= size``.
        """
        n = self._resolve_size("new_size", new_size)
        _require_sizes(old_size, n)
        return _consistency_path(self._node, old_size, n)

    def compact(self, tree_size: int | None = None) -> CompactTree:
        """Return the :class:`CompactTree` of the first ``tree_size`` leaves (its frontier)."""
        n = self._resolve_size("tree_size", tree_size)
        frontier: list[bytes] = []
        start = 0
        for level in range(n.bit_length() - 1, -1, -1):
            if n >> level & 1:
                frontier.append(self._node(level, start >> level))
                start += 1 << level
        return CompactTree(n, frontier)

    def _resolve_size(self, what: str, tree_size: int | None) -> int:
        if tree_size is None:
            return self.size
        _require_count(what, tree_size)
        if tree_size > self.size:
            raise MerkleError(f"{what} {tree_size} exceeds the current tree size {self.size}")
        return tree_size

    def __repr__(self) -> str:
        """Show the size and current root."""
        return f"{type(self).__name__}(size={self.size}, root={self.root().hex()})"
