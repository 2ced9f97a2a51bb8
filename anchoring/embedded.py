"""The embedded chain: an in-process EVM that survives restarts.

``InProcessChain`` lives only as long as its process. ``EmbeddedChain`` makes the embedded
default useful across processes (a ``carbon-ledger verify`` run later, a restarted server):
it keeps the anchorer's key and a journal of every anchor in the data directory, and on
start replays the journal on a fresh in-process chain. The replay is exact: the same key,
nonces and calls give the same registry address, transaction hashes and block numbers (block
timestamps are the only difference). Blocks are mined one per transaction, so an embedded
anchor is final at once (confirmations ``K = 0``).

Several processes on one data directory share the journal: before every read and anchor a
process replays the entries others appended, and anchors under an exclusive lock on the
journal. This is a development and demonstration chain: its trust comes from the journal
file, not from independent nodes. Production deployments anchor on a JSON-RPC chain.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path

from web3 import Web3

from anchoring.chain import AnchorReceipt, AnchorTransaction, Checkpoint, InProcessChain

__all__ = ["EmbeddedChain"]


class EmbeddedChain:
    """A persistent :class:`~anchoring.chain.InProcessChain` (a ``ChainClient``)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / "chain-key"
        if not key_file.exists():
            key_file.write_text("0x" + secrets.token_hex(32) + "\n")
            key_file.chmod(0o600)
        self.journal = directory / "chain-anchors.jsonl"
        self.journal.touch()
        self._chain = InProcessChain(private_key=key_file.read_text().strip())
        self._replayed = 0
        self._sync()

    def _sync(self) -> None:
        """Replay anchors another process appended to the journal since we last looked."""
        lines = [line for line in self.journal.read_text().splitlines() if line.strip()]
        for line in lines[self._replayed:]:
            entry = json.loads(line)
            self._chain.anchor(int(entry["tree_size"]), bytes.fromhex(entry["root"]))
            self._replayed += 1

    @property
    def contract_address(self) -> str:
        return self._chain.contract_address

    @property
    def chain_id(self) -> int:
        return self._chain.chain_id

    def anchor(self, tree_size: int, root: bytes) -> AnchorReceipt:
        with self.journal.open("a") as journal:
            fcntl.flock(journal, fcntl.LOCK_EX)  # one anchoring process at a time
            try:
                self._sync()
                receipt = self._chain.anchor(tree_size, root)
                journal.write(json.dumps({"tree_size": tree_size, "root": root.hex(),
                                          "tx_hash": receipt.tx_hash}) + "\n")
                journal.flush()
                os.fsync(journal.fileno())
                self._replayed += 1
            finally:
                fcntl.flock(journal, fcntl.LOCK_UN)
        return receipt

    def checkpoint_count(self) -> int:
        self._sync()
        return self._chain.checkpoint_count()

    def checkpoint(self, index: int) -> Checkpoint:
        self._sync()
        return self._chain.checkpoint(index)

    def latest_checkpoint(self) -> Checkpoint | None:
        self._sync()
        return self._chain.latest_checkpoint()

    def root_of(self, tree_size: int) -> bytes | None:
        self._sync()
        return self._chain.root_of(tree_size)

    def find_anchor(self, tree_size: int, block_number: int) -> AnchorReceipt | None:
        return self._chain.find_anchor(tree_size, block_number)

    def confirmations(self, tx_hash: str) -> int:
        return self._chain.confirmations(tx_hash)

    @property
    def w3(self) -> Web3:
        """The in-process chain's web3, after replaying anchors other processes appended (what
        the explorer's read-only JSON-RPC endpoint reads, ``api/explorer/chain_rpc.py``)."""
        self._sync()
        return self._chain.w3

    @property
    def anchorer_address(self) -> str:
        return self._chain.anchorer_address

    def anchor_transaction(self, tx_hash: str) -> AnchorTransaction | None:
        self._sync()
        return self._chain.anchor_transaction(tx_hash)

    def __repr__(self) -> str:
        return f"EmbeddedChain(contract={self.contract_address}, journal={self.journal})"
