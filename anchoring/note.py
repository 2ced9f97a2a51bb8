"""C2SP signed notes and checkpoints: the log's tree head in the format witnesses read.

A *checkpoint* (C2SP ``tlog-checkpoint``) is the text::

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, standard base64>\\n

and a *signed note* (C2SP ``signed-note``) is a text ending in a newline, a blank line, then
one line per signature: an em dash (U+2014), a space, the key name, a space, and the standard
base64 of the 4-byte key ID followed by the signature. For an Ed25519 key the signature is
over the text's bytes (its final newline included) and the key ID is the first 4 bytes of
``SHA-256(name || 0x0A || 0x01 || public key)``; the verifier key that a log publishes is
``<name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>``. The tests check this module
against the reference vector of Go's ``golang.org/x/mod/sumdb/note``.

The ledger signs the latest *anchored* checkpoint with the registry's log key
(:class:`LogSigner`): from ``CARBON_LEDGER_LOG_KEY`` (a note signer key,
``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>``, as Go's ``note.GenerateKey`` writes
it), else from ``log-signing-key`` in the data directory, generated on first use. The origin
is ``CARBON_LEDGER_LOG_ORIGIN`` or, by default, names the registry:
``carbon-ledger/eip155-<chain id>/<registry address, lower case>``; the key name is the
origin.

Witnesses cosign a checkpoint by adding their own signature line to the same text (the
C2SP ``tlog-cosignature`` format, key type 0x04, signs a timestamped form of it); a client
that requires k of n known witness signatures then never accepts a checkpoint that the
witnesses have not seen extend the previous ones. This module ignores signature lines of
unknown keys when verifying, so cosigned notes still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.domain.errors import ValidationError

__all__ = [
    "ED25519",
    "KEY_ENV",
    "KEY_FILE",
    "ORIGIN_ENV",
    "LogSigner",
    "NoteError",
    "TreeHead",
    "checkpoint_text",
    "default_origin",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "verifier_key",
]

ED25519 = 0x01
"""The signed-note signature type of Ed25519 keys."""
KEY_ENV = "CARBON_LEDGER_LOG_KEY"
ORIGIN_ENV = "CARBON_LEDGER_LOG_ORIGIN"
KEY_FILE = "log-signing-key"
_DASH = "\u2014 "
_NAME = re.compile(r"[^\s+\u2014]+")  # no whitespace, no '+', no em dash (signed-note)
_MAX_SIGNATURES = 100


class NoteError(ValidationError):
    """A malformed or unverifiable note, checkpoint or key."""

    code = "invalid-note"


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key ``<name>+<key ID hex>+<base64(0x01 || key)>``."""
    _check_name(name)
    encoded = base64.b64encode(bytes([ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise NoteError(f"key name {name!r} is empty or holds whitespace, '+' or an em dash")


def checkpoint_text(origin: str, tree_size: int, root: bytes) -> str:
    """The C2SP checkpoint text of a tree head (no extension lines)."""
    if not origin or "\n" in origin or not origin.isprintable():
        raise NoteError(f"origin {origin!r} must be one non-empty printable line")
    if isinstance(tree_size, bool) or not isinstance(tree_size, int) or tree_size < 0:
        raise NoteError(f"tree size {tree_size!r} must be a non-negative int")
    if len(root) != 32:
        raise NoteError("root must be 32 bytes")
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class TreeHead:
    """A parsed checkpoint text."""

    origin: str
    tree_size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def parse_checkpoint(text: str) -> TreeHead:
    """Parse a checkpoint text (as :func:`open_note` returns it)."""
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash")
    origin, size, root = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size) or int(size) >= 2**64:
        raise NoteError(f"tree size {size!r} is not a decimal without leading zeros")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError(f"root {root!r} is not base64") from None
    if len(digest) != 32 or base64.b64encode(digest).decode() != root:
        raise NoteError(f"root {root!r} is not the base64 of 32 bytes")
    return TreeHead(origin, int(size), digest, tuple(lines[3:]))


def _sign(text: str, name: str, key: Ed25519PrivateKey) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note text ends with a newline and holds no blank line")
    _check_name(name)
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_id(name, _public_bytes(key.public_key())) + signature)
    return f"{text}\n{_DASH}{name} {blob.decode()}\n"


def _parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    # The base64 may hold '+': split at the first two only (as Go's note.NewVerifier).
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key ID>+<base64 key>")
    name, hash_hex, encoded = parts
    _check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        wanted_id = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError):
        raise NoteError("malformed verifier key") from None
    if len(hash_hex) != 8 or len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("not an Ed25519 verifier key")
    if key_id(name, raw[1:]) != wanted_id:
        raise NoteError("the verifier key's key ID does not match its key")
    return name, wanted_id, raw[1:]


def open_note(note: str, vkey: str) -> str:
    """Verify ``note`` with the verifier key ``vkey``; return its text.

    The note must carry a valid signature line of that key (name and key ID); lines of
    other keys (e.g. witnesses') are ignored. Raises :class:`NoteError` otherwise.
    """
    name, wanted_id, public = _parse_verifier_key(vkey)
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is a text, a blank line and signature lines")
    text, signatures = note[: split + 1], note[split + 2 : -1].split("\n")
    if len(signatures) > _MAX_SIGNATURES:
        raise NoteError("too many signature lines")
    verifier = Ed25519PublicKey.from_public_bytes(public)
    for line in signatures:
        if not line.startswith(_DASH) or line.count(" ") != 2:
            raise NoteError(f"malformed signature line {line!r}")
        signer, _, blob = line[len(_DASH):].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError(f"malformed signature line {line!r}") from None
        if signer != name or raw[:4] != wanted_id:
            continue  # someone else's signature
        try:
            verifier.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None
        return text
    raise NoteError(f"the note carries no signature of {name}")


class LogSigner:
    """The registry's Ed25519 log key, with its key name (see the module documentation)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        """Sign as ``name`` with ``key``."""
        _check_name(name)
        self.name = name
        self.key = key

    @classmethod
    def from_signer_key(cls, skey: str) -> LogSigner:
        """The signer of a note signer key ``PRIVATE+KEY+<name>+<key ID>+<base64>``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<key ID>+<base64 seed>")
        name, hash_hex, encoded = parts[2:]
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("malformed signer key") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("not an Ed25519 signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != hash_hex:
            raise NoteError("the signer key's key ID does not match its key")
        return signer

    @classmethod
    def for_registry(cls, data_dir: Path, origin: str) -> LogSigner:
        """The log key of ``CARBON_LEDGER_LOG_KEY``, else of ``data_dir/log-signing-key``
        (created, readable by its owner only, if missing), named ``origin``."""
        configured = os.environ.get(KEY_ENV)
        if configured:
            return cls.from_signer_key(configured)
        path = data_dir / KEY_FILE
        if not path.exists():
            # Written whole under another name, then linked: a concurrent process either
            # links first (and this one reads its key) or finds the complete file.
            draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}"
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        seed = base64.b64decode(path.read_text().strip(), validate=True)
        if len(seed) != 32:
            raise NoteError(f"{path} does not hold a 32-byte Ed25519 seed in base64")
        return cls(origin, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        """The 32 bytes of the public key."""
        return _public_bytes(self.key.public_key())

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return key_id(self.name, self.public_key)

    @property
    def verifier_key(self) -> str:
        """The verifier key to publish."""
        return verifier_key(self.name, self.public_key)

    def sign(self, text: str) -> str:
        """The signed note of ``text`` (one signature line)."""
        return _sign(text, self.name, self.key)

    def sign_checkpoint(self, origin: str, tree_size: int, root: bytes) -> str:
        """The signed C2SP checkpoint of a tree head."""
        return self.sign(checkpoint_text(origin, tree_size, root))


def default_origin(chain_id: int, contract_address: str) -> str:
    """``CARBON_LEDGER_LOG_ORIGIN``, else the origin naming the registry."""
    return os.environ.get(ORIGIN_ENV) or (
        f"carbon-ledger/eip155-{chain_id}/{contract_address.lower()}")
