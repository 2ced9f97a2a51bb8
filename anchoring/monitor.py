"""A monitor of the log for third parties: every new checkpoint must extend the last one
trusted.

:class:`Monitor` follows a registry's checkpoints, from the chain (a
:class:`ChainCheckpoints` over any :class:`~anchoring.chain.ChainClient`) or, without a chain,
as the registry's API serves them. For each new checkpoint, in registry order, it asks the
registry's API (a :class:`LogServer`) for the RFC 9162 consistency proof from the last
checkpoint it trusted and checks, with its own copy of the trusted root:

* the tree size grows (the registry contract refuses anything else; a source that serves a
  smaller or equal size is lying);
* the API's root at the new size is the checkpoint's root (the API serves the history the
  chain holds);
* the API's root at the trusted size is the trusted root, and the consistency proof verifies
  from the trusted root to the new one (the new tree extends the trusted tree: no event was
  changed, removed or reordered);
* the checkpoints come from the same registry (chain and contract) as before.

Any failure is a :class:`RogueCheckpointError` (``carbon-ledger monitor`` exits with
:data:`EXIT_ROGUE` and one line). A checkpoint that the API cannot prove yet (it has not
caught up with the chain) is a :class:`MonitorUnavailableError`: retried at the next pass.
The last trusted checkpoint is kept in a small JSON state file, so a monitor run from cron
carries its trust from one run to the next; the first run trusts the chain of checkpoints
from the registry's first.

Two implementations of :class:`LogServer`: :class:`HttpLogServer` (any ``httpx.Client``,
pointed at the registry's API) and :class:`InProcessLogServer` (a
:class:`~anchoring.proofs.LogProofs`, for tests and for an operator watching its own log).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from anchoring.chain import ChainClient, ChainError
from anchoring.merkle import verify_consistency
from anchoring.note import LogSigner, NoteError, open_note, parse_checkpoint
from anchoring.proofs import LogProofs
from ledger.domain.errors import ConflictError, LedgerError

__all__ = [
    "EXIT_ROGUE",
    "ChainCheckpoints",
    "HttpLogServer",
    "InProcessLogServer",
    "LogServer",
    "Monitor",
    "MonitorState",
    "MonitorUnavailableError",
    "PassReport",
    "RogueCheckpointError",
    "SeenCheckpoint",
    "open_client",
    "run_monitor",
]

EXIT_ROGUE = 3
"""Exit status of ``carbon-ledger monitor`` when it finds a rogue checkpoint."""
_PAGE = 100


class RogueCheckpointError(LedgerError):
    """A checkpoint that does not extend the trusted history, or that the chain and the API
    disagree on. Needs a human: the registry (or whoever serves it) is lying."""

    code = "rogue-checkpoint"
    exit_status = EXIT_ROGUE


class MonitorUnavailableError(ConflictError):
    """The registry's API or the chain could not answer (down, or not caught up): retry."""

    code = "monitor-unavailable"


@dataclass(frozen=True)
class SeenCheckpoint:
    """A checkpoint of the registry: its ``index`` there, ``tree_size`` and ``root``."""

    index: int
    tree_size: int
    root: bytes
    chain_id: int
    contract_address: str


@dataclass(frozen=True)
class Consistency:
    """What the API answers for a consistency proof."""

    first_root: bytes
    second_root: bytes
    proof: list[bytes]


class CheckpointSource(Protocol):
    """Where checkpoints are read from: the chain, or the registry's API."""

    def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
        """Up to ``limit`` checkpoints with an index above ``after_index``, by index."""
        ...


class LogServer(CheckpointSource, Protocol):
    """The registry's public log API."""

    def consistency(self, first: int, second: int) -> Consistency:
        """``PROOF(first, D[0:second])`` and both roots, as the registry serves them."""
        ...

    def signed_checkpoint(self) -> str:
        """The latest checkpoint as a C2SP signed note (``GET /log/checkpoint``)."""
        ...


class HttpLogServer:
    """The registry's log API over HTTP (``GET /log/chain-checkpoints``, ``/log/consistency``);
    ``client`` is an ``httpx.Client`` whose ``base_url`` is the API's root."""

    def __init__(self, client: httpx.Client) -> None:
        """Query the API through ``client``."""
        self.client = client

    def _get(self, path: str, params: dict[str, int]) -> Any:
        try:
            response = self.client.get(path, params=params)
        except httpx.HTTPError as error:
            raise MonitorUnavailableError(f"cannot reach the registry's API: {error}") from None
        if response.status_code != 200:
            detail = response.text[:300]
            body: Any = None
            with contextlib.suppress(ValueError):
                body = response.json()
            if isinstance(body, dict) and "detail" in body:
                detail = str(body["detail"])
            raise MonitorUnavailableError(
                f"GET {path} answered {response.status_code}: {detail}")
        try:
            return response.json()
        except ValueError:
            raise MonitorUnavailableError(f"GET {path} did not answer JSON") from None

    def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
        """The registry's checkpoints as the API serves them."""
        page = self._get("/log/chain-checkpoints", {"after_index": after_index,
                                                    "limit": min(limit, _PAGE)})
        try:
            return [SeenCheckpoint(int(item["index"]), int(item["tree_size"]),
                                   bytes.fromhex(item["root"]), int(item["chain_id"]),
                                   str(item["contract_address"])) for item in page["items"]]
        except (KeyError, TypeError, ValueError) as error:
            raise MonitorUnavailableError(f"malformed checkpoint page: {error}") from None

    def signed_checkpoint(self) -> str:
        """The API's signed checkpoint note."""
        try:
            response = self.client.get("/log/checkpoint")
        except httpx.HTTPError as error:
            raise MonitorUnavailableError(f"cannot reach the registry's API: {error}") from None
        if response.status_code != 200:
            raise MonitorUnavailableError(
                f"GET /log/checkpoint answered {response.status_code}")
        return response.text

    def consistency(self, first: int, second: int) -> Consistency:
        """The API's consistency proof and roots."""
        body = self._get("/log/consistency", {"first": first, "second": second})
        try:
            if (int(body["first"]), int(body["second"])) != (first, second):
                raise RogueCheckpointError(
                    f"asked for a proof from {first} to {second}, the API answered "
                    f"{body['first']} to {body['second']}")
            return Consistency(bytes.fromhex(body["first_root"]),
                               bytes.fromhex(body["second_root"]),
                               [bytes.fromhex(p) for p in body["proof"]])
        except (KeyError, TypeError, ValueError) as error:
            raise MonitorUnavailableError(f"malformed consistency proof: {error}") from None


class InProcessLogServer:
    """The log API of a ledger in this process (no HTTP), over its :class:`LogProofs`."""

    def __init__(self, proofs: LogProofs, signer: LogSigner | None = None) -> None:
        """Answer from ``proofs``; sign checkpoints with ``signer``."""
        self.proofs = proofs
        self.signer = signer

    def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
        """The registry's checkpoints read from the chain by the ledger."""
        try:
            found = self.proofs.chain_checkpoints(after_index, limit)
        except LedgerError as error:
            raise MonitorUnavailableError(str(error)) from None
        return [SeenCheckpoint(c.index, c.tree_size, c.root, c.chain_id, c.contract_address)
                for c in found]

    def signed_checkpoint(self) -> str:
        """The ledger's signed checkpoint note (needs the ``signer``)."""
        if self.signer is None:
            raise MonitorUnavailableError("this in-process log has no signing key")
        try:
            size, root = self.proofs.signed_head()
        except LedgerError as error:
            raise MonitorUnavailableError(str(error)) from None
        return self.signer.sign_checkpoint(self.signer.name, size, root)

    def consistency(self, first: int, second: int) -> Consistency:
        """The ledger's consistency proof and roots."""
        try:
            proof = self.proofs.consistency(first, second)
        except LedgerError as error:
            raise MonitorUnavailableError(str(error)) from None
        return Consistency(proof.first_root, proof.second_root, proof.proof)


class ChainCheckpoints:
    """Checkpoints read from the ``AnchorRegistry`` on a chain, not from the registry's API."""

    def __init__(self, chain: ChainClient) -> None:
        """Read the registry of ``chain``."""
        self.chain = chain

    def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
        """The registry's checkpoints above ``after_index``."""
        chain = self.chain
        try:
            count = chain.checkpoint_count()
            found = []
            for index in range(after_index + 1, min(count, after_index + 1 + limit)):
                checkpoint = chain.checkpoint(index)
                found.append(SeenCheckpoint(index, checkpoint.tree_size, checkpoint.root,
                                            int(chain.chain_id), str(chain.contract_address)))
            return found
        except ChainError as error:
            raise MonitorUnavailableError(f"cannot read the registry on chain: {error}") from None


@dataclass(frozen=True)
class MonitorState:
    """The last checkpoint the monitor trusted (``index`` -1: none yet)."""

    index: int = -1
    tree_size: int = 0
    root: str = ""  # hex
    chain_id: int | None = None
    contract_address: str | None = None

    @classmethod
    def load(cls, path: Path | None) -> MonitorState:
        """The state saved in ``path``; the initial state if there is no such file."""
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text())
            state = cls(index=int(data["index"]), tree_size=int(data["tree_size"]),
                        root=str(data["root"]), chain_id=data.get("chain_id"),
                        contract_address=data.get("contract_address"))
            if state.index >= 0:
                bytes.fromhex(state.root)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise LedgerError(f"cannot read the monitor state {path}: {error}") from None
        return state

    def save(self, path: Path) -> None:
        """Write the state to ``path`` (atomically: a new file renamed over the old)."""
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(json.dumps(asdict(self), indent=2) + "\n")
        draft.replace(path)


@dataclass
class PassReport:
    """What one pass verified: the checkpoints (index, tree size) now trusted."""

    verified: list[tuple[int, int]]
    state: MonitorState

    def line(self) -> str:
        """One line for the operator's log."""
        state = self.state
        if state.index < 0:
            return "no checkpoint anchored yet"
        head = f"checkpoint {state.index}: {state.tree_size:,} events, root {state.root}"
        if not self.verified:
            return f"OK, nothing new; trusted {head}"
        return f"OK, {len(self.verified)} new checkpoints extend the log; trusted {head}"


class Monitor:
    """Verifies that every new checkpoint extends the last trusted one (module docs).

    ``server`` is the registry's API; ``source`` where checkpoints are read (default: the
    API itself); ``state_path`` where the trusted checkpoint is kept between passes (none:
    in memory only).
    """

    def __init__(self, server: LogServer, source: CheckpointSource | None = None, *,
                 state_path: Path | None = None, state: MonitorState | None = None,
                 log_key: str | None = None) -> None:
        """Start from ``state``, else from the state file, else from nothing trusted. With
        ``log_key`` (the registry's C2SP verifier key) each pass also checks the signed
        checkpoint."""
        self.server = server
        self.log_key = log_key
        self.source: CheckpointSource = source if source is not None else server
        self.state_path = state_path
        self.state = state if state is not None else MonitorState.load(state_path)

    def _new_checkpoints(self) -> Iterator[SeenCheckpoint]:
        after = self.state.index
        while True:
            page = self.source.checkpoints(after, _PAGE)
            if not page:
                return
            for checkpoint in page:
                if checkpoint.index != after + 1:
                    raise RogueCheckpointError(
                        f"expected checkpoint {after + 1}, the source served "
                        f"{checkpoint.index}")
                yield checkpoint
                after = checkpoint.index

    def run_once(self) -> PassReport:
        """Verify every checkpoint after the trusted one; keep the last as trusted."""
        verified: list[tuple[int, int]] = []
        for checkpoint in self._new_checkpoints():
            self.verify(checkpoint)
            verified.append((checkpoint.index, checkpoint.tree_size))
        if self.log_key is not None:
            self.verify_signed_checkpoint(self.log_key)
        return PassReport(verified, self.state)

    def verify_signed_checkpoint(self, log_key: str) -> None:
        """Check the registry's signed checkpoint against the trusted history.

        The note must verify with ``log_key``; its tree must agree with the trusted one: the
        same root at the same size, or a consistency proof either way. A signed checkpoint
        that contradicts the chain is the operator's own signed evidence of a fork. It is not
        trusted (the chain is what is followed), only checked.
        """
        try:
            head = parse_checkpoint(open_note(self.server.signed_checkpoint(), log_key))
        except NoteError as error:
            raise RogueCheckpointError(f"the signed checkpoint does not verify: {error}") from None
        trusted = self.state
        if trusted.index < 0:
            return
        old_root = bytes.fromhex(trusted.root)
        name = f"the signed checkpoint of {head.tree_size} events"
        if head.tree_size == trusted.tree_size:
            if head.root != old_root:
                raise RogueCheckpointError(
                    f"{name} has root {head.root.hex()}, the chain {trusted.root}: a fork signed "
                    "by the registry")
            return
        first, second = sorted((head.tree_size, trusted.tree_size))
        first_root, second_root = ((head.root, old_root) if head.tree_size < trusted.tree_size
                                   else (old_root, head.root))
        answer = self.server.consistency(first, second)
        if not verify_consistency(first, second, first_root, second_root, answer.proof):
            raise RogueCheckpointError(
                f"{name} is not consistent with the trusted checkpoint of "
                f"{trusted.tree_size} events: a fork signed by the registry")

    def verify(self, checkpoint: SeenCheckpoint) -> None:
        """Check that ``checkpoint`` extends the trusted one, then trust it (and save)."""
        trusted = self.state
        name = f"checkpoint {checkpoint.index} (tree size {checkpoint.tree_size})"
        if trusted.contract_address is not None and (
                trusted.chain_id, trusted.contract_address.lower()) != (
                checkpoint.chain_id, checkpoint.contract_address.lower()):
            raise RogueCheckpointError(
                f"{name} comes from registry {checkpoint.contract_address} on chain "
                f"{checkpoint.chain_id}, not {trusted.contract_address} on chain "
                f"{trusted.chain_id} as before")
        old_size = trusted.tree_size if trusted.index >= 0 else 0
        old_root = bytes.fromhex(trusted.root) if trusted.index >= 0 else b""
        if trusted.index >= 0 and checkpoint.tree_size <= old_size:
            raise RogueCheckpointError(
                f"{name} does not grow the log: the trusted checkpoint {trusted.index} "
                f"already covers {old_size} events")
        answer = self.server.consistency(old_size, checkpoint.tree_size)
        if answer.second_root != checkpoint.root:
            raise RogueCheckpointError(
                f"{name}: the chain holds root {checkpoint.root.hex()} but the API serves "
                f"{answer.second_root.hex()}")
        if trusted.index >= 0:
            if answer.first_root != old_root:
                raise RogueCheckpointError(
                    f"history rewritten: the API's root for the trusted {old_size} events is "
                    f"{answer.first_root.hex()}, not the trusted {trusted.root}")
            if not verify_consistency(old_size, checkpoint.tree_size, old_root,
                                      checkpoint.root, answer.proof):
                raise RogueCheckpointError(
                    f"{name} does not extend the trusted checkpoint {trusted.index}: the "
                    "consistency proof fails")
        self.state = MonitorState(index=checkpoint.index, tree_size=checkpoint.tree_size,
                                  root=checkpoint.root.hex(), chain_id=checkpoint.chain_id,
                                  contract_address=checkpoint.contract_address)
        if self.state_path is not None:
            self.state.save(self.state_path)


def open_client(url: str, timeout: float = 10.0) -> httpx.Client:
    """An HTTP client of the registry's API at ``url``."""
    return httpx.Client(base_url=url, timeout=timeout, follow_redirects=True)


def run_monitor(url: str, *, rpc_url: str | None = None, registry: str | None = None,
                chain_id: int | None = None, state_path: Path | None = None,
                log_key: str | None = None, once: bool = False, interval: float = 60.0,
                say: Callable[[str], None] = print) -> None:
    """``carbon-ledger monitor``: follow the log of the registry's API at ``url``, reading
    checkpoints from the chain when ``rpc_url`` (with the ``registry`` address) is given.

    Raises :class:`RogueCheckpointError` on a rogue checkpoint; with ``once``, also
    :class:`MonitorUnavailableError` if the API or chain cannot answer (without ``once`` that
    is said and retried after ``interval`` seconds).
    """
    source: CheckpointSource | None = None
    if rpc_url is not None:
        if not registry:
            raise LedgerError("--rpc-url needs --registry, the AnchorRegistry address")
        from anchoring.chain import JsonRpcChain

        try:  # read only: a throwaway key, never funded
            chain = JsonRpcChain(rpc_url, "0x" + secrets.token_hex(32), contract_address=registry)
        except ChainError as error:
            raise MonitorUnavailableError(f"cannot reach {rpc_url}: {error}") from None
        except ValueError as error:
            raise LedgerError(f"bad --registry {registry!r}: {error}") from None
        if chain_id is not None and chain.chain_id != chain_id:
            raise LedgerError(f"the node at {rpc_url} serves chain {chain.chain_id}, not "
                              f"{chain_id}")
        source = ChainCheckpoints(chain)
    with open_client(url) as client:
        monitor = Monitor(HttpLogServer(client), source, state_path=state_path,
                          log_key=log_key)
        while True:
            try:
                say(monitor.run_once().line())
            except MonitorUnavailableError as error:
                if once:
                    raise
                say(f"unavailable, retrying in {interval:g} s: {error}")
            if once:
                return
            time.sleep(interval)
