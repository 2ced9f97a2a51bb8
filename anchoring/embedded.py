"""The embedded chain: an in-process EVM that survives restarts.

``InProcessChain`` lives only as long as its process. ``EmbeddedChain`` makes the embedded
default useful across processes (a ``carbon-ledger verify`` run later, a restarted server):
it keeps the anchorer's key and a journal of every anchor in the data directory, and on
start replays the journal on a fresh in-process chain. The replay is exact: the same key,
nonces and calls give the same registry address, transaction hashes and block numbers (block
timestamps are the only difference). Blocks are mined one per transaction, so an embedded
anchor is final at once (confirmations ``K = 0``).

This is a development and demonstration chain: its trust comes from the journal file, not
from independent nodes. Production deployments anchor on a JSON-RPC chain.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from anchoring.chain import AnchorReceipt, Checkpoint, InProcessChain

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
        self._chain = InProcessChain(private_key=key_file.read_text().strip())
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self._chain.anchor(int(entry["tree_size"]), bytes.fromhex(entry["root"]))

    @property
    def contract_address(self) -> str:
        return self._chain.contract_address

    @property
    def chain_id(self) -> int:
        return self._chain.chain_id

    def anchor(self, tree_size: int, root: bytes) -> AnchorReceipt:
        receipt = self._chain.anchor(tree_size, root)
        with self.journal.open("a") as journal:
            journal.write(json.dumps({"tree_size": tree_size, "root": root.hex(),
                                      "tx_hash": receipt.tx_hash}) + "\n")
            journal.flush()
            os.fsync(journal.fileno())
        return receipt

    def checkpoint_count(self) -> int:
        return self._chain.checkpoint_count()

    def checkpoint(self, index: int) -> Checkpoint:
        return self._chain.checkpoint(index)

    def latest_checkpoint(self) -> Checkpoint | None:
        return self._chain.latest_checkpoint()

    def root_of(self, tree_size: int) -> bytes | None:
        return self._chain.root_of(tree_size)

    def find_anchor(self, tree_size: int, block_number: int) -> AnchorReceipt | None:
        return self._chain.find_anchor(tree_size, block_number)

    def confirmations(self, tx_hash: str) -> int:
        return self._chain.confirmations(tx_hash)

    def __repr__(self) -> str:
        return f"EmbeddedChain(contract={self.contract_address}, journal={self.journal})"
