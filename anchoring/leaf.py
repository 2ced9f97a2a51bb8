"""Canonical byte encoding of a stored ledger event as a leaf of the tamper-evident log.

Every event the ledger records is one entry ("leaf") of an RFC 9162 Merkle tree (see
:mod:`anchoring.merkle` and :mod:`anchoring.log`). This module fixes the exact bytes of that
entry, so that anyone holding a stored event (for instance in an export, or in a certificate)
can recompute its leaf hash and check it against an inclusion proof and an anchored root,
without this code.

Format ``carbon-ledger/event-leaf/v1``
--------------------------------------

A leaf is the concatenation, with no padding or separators other than those listed, of:

====  =====================  ======================================================================
#     bytes                  content
====  =====================  ======================================================================
1     28                     the domain-separation tag ``carbon-ledger/event-leaf/v1`` followed
                             by one line feed, in ASCII: ``63 61 72 62 6f 6e 2d 6c 65 64 67 65
                             72 2f 65 76 65 6e 74 2d 6c 65 61 66 2f 76 31 0a``
2     8                      ``position``: the event's notification id (its position in the
                             application's notification log), unsigned, big-endian
3     16                     ``originator_id``: the aggregate's UUID, its 16 bytes in RFC 9562
                             network (big-endian) order, i.e. Python's ``UUID.bytes``
4     8                      ``originator_version``: the aggregate version of the event,
                             unsigned, big-endian
5     4                      ``len(topic)``: byte length of field 6, unsigned, big-endian
6     ``len(topic)``         ``topic``: the event's topic string (e.g.
                             ``ledger.domain.participant:Participant.Registered``), UTF-8
7     4                      ``len(state)``: byte length of field 8, unsigned, big-endian
8     ``len(state)``         ``state``: the event's state exactly as stored by the event store
                             (the ``state`` column: JSON, or compressed/encrypted bytes if the
                             application is configured so), not re-serialised
====  =====================  ======================================================================

So ``len(leaf) = 68 + len(topic) + len(state)``. Integers must fit their width (``position``
and ``originator_version`` are at most ``2**64 - 1``, the two lengths at most ``2**32 - 1``);
anything else is rejected with :class:`LeafEncodingError` rather than truncated. The encoding is
injective: the tag and the fixed-width fields have fixed offsets and the two variable-length
fields are length-prefixed, so two different events never share a leaf.

The leaf hash that enters the Merkle tree is the RFC 9162 leaf hash of these bytes,
``SHA-256(0x00 || leaf)`` (:func:`anchoring.merkle.leaf_hash`; :func:`event_leaf_hash` here).

Example: position 1, originator id ``01020304-0506-0708-090a-0b0c0d0e0f10``, version 1, topic
``"t"``, state ``b"{}"`` encode as the tag followed by (hex)
``0000000000000001 0102030405060708090a0b0c0d0e0f10 0000000000000001 00000001 74 00000002 7b7d``
(71 bytes in all); its leaf hash is
``2ca8ca7367d22a07cd7da9f77acd66f83f11ccac181c18938a5adc2db3191b19``.

The ``position`` is part of the leaf so that a proof also pins where the event sits in the
notification log. It is not the leaf's index in the tree: leaves are numbered by order of
appearance in the log (see :mod:`anchoring.log`), and notification ids may have gaps.

Versioning: a change to any of the above is a new format with a new tag (``.../v2``); leaves of
different formats can never collide because the tags differ.
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Protocol
from uuid import UUID

from anchoring.merkle import leaf_hash

__all__ = [
    "LEAF_TAG",
    "EventLeaf",
    "LeafEncodingError",
    "StoredNotification",
    "decode_leaf",
    "encode_leaf",
    "event_leaf_hash",
    "leaf_of",
]

LEAF_TAG = b"carbon-ledger/event-leaf/v1\n"
"""Domain-separation tag that starts every leaf of format v1 (28 bytes, ends with ``\\n``)."""

_U64_MAX = 2**64 - 1
_U32_MAX = 2**32 - 1
_UUID_SIZE = 16
_HEADER = struct.Struct(">Q16sQ")  # position, originator_id, originator_version
_LENGTH = struct.Struct(">I")
_HEAD = struct.Struct(">Q16sQI")  # fields 2 to 5 in one pack()
_FIXED_SIZE = len(LEAF_TAG) + _HEADER.size + 2 * _LENGTH.size  # 68


class LeafEncodingError(ValueError):
    """A field cannot be encoded in (or decoded from) the canonical leaf format."""


class StoredNotification(Protocol):
    """What :func:`leaf_of` reads: an ``eventsourcing`` ``Notification`` has these fields."""

    @property
    def id(self) -> int:
        """Position of the event in the notification log."""
        ...

    @property
    def originator_id(self) -> UUID | str:
        """Id of the aggregate that recorded the event."""
        ...

    @property
    def originator_version(self) -> int:
        """Version of the aggregate at this event."""
        ...

    @property
    def topic(self) -> str:
        """Topic of the event class."""
        ...

    @property
    def state(self) -> bytes:
        """Stored (serialised, possibly compressed or encrypted) event state."""
        ...


class EventLeaf(NamedTuple):
    """The fields of a decoded leaf (see :func:`decode_leaf`)."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


def _uint_error(what: str, value: object, maximum: int) -> LeafEncodingError:
    if isinstance(value, bool) or not isinstance(value, int):
        return LeafEncodingError(f"{what} must be an int, got {type(value).__name__}")
    return LeafEncodingError(f"{what} must be in [0, {maximum}], got {value}")


def encode_leaf(
    position: int,
    originator_id: UUID | bytes,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """Return the canonical leaf bytes of one stored event (format v1, see the module doc).

    ``originator_id`` is the aggregate's :class:`~uuid.UUID` or its 16 raw bytes
    (``UUID.bytes``). Raises :class:`LeafEncodingError` if a field has the wrong type or does
    not fit its width, or if ``topic`` cannot be encoded as UTF-8 (e.g. lone surrogates).
    """
    if (
        type(originator_id) is bytes
        and len(originator_id) == _UUID_SIZE
        and type(position) is int
        and type(originator_version) is int
        and type(topic) is str
        and type(state) is bytes
    ):  # the common case, as the Merkle log reads events: let ``struct`` check the widths
        try:
            topic_bytes = topic.encode("utf-8")
            head = _HEAD.pack(position, originator_id, originator_version, len(topic_bytes))
            return b"".join((LEAF_TAG, head, topic_bytes, _LENGTH.pack(len(state)), state))
        except (struct.error, UnicodeEncodeError):
            pass  # out of range or not encodable: the checks below say which field and why
    if type(position) is not int or not 0 <= position <= _U64_MAX:
        raise _uint_error("position", position, _U64_MAX)
    if type(originator_version) is not int or not 0 <= originator_version <= _U64_MAX:
        raise _uint_error("originator_version", originator_version, _U64_MAX)
    if isinstance(originator_id, UUID):
        id_bytes = originator_id.bytes
    elif type(originator_id) is bytes and len(originator_id) == _UUID_SIZE:
        id_bytes = originator_id
    else:
        raise LeafEncodingError(
            f"originator_id must be a UUID or its {_UUID_SIZE} bytes, got {originator_id!r}"
        )
    if not isinstance(topic, str):
        raise LeafEncodingError(f"topic must be a str, got {type(topic).__name__}")
    if type(state) is not bytes:
        if not isinstance(state, bytes | bytearray | memoryview):
            raise LeafEncodingError(f"state must be bytes, got {type(state).__name__}")
        state = bytes(state)
    try:
        topic_bytes = topic.encode("utf-8")
    except UnicodeEncodeError as error:
        raise LeafEncodingError(f"topic is not encodable as UTF-8: {error}") from None
    if len(topic_bytes) > _U32_MAX or len(state) > _U32_MAX:
        raise LeafEncodingError("topic and state must each be shorter than 2**32 bytes")
    return b"".join(
        (
            LEAF_TAG,
            _HEAD.pack(position, id_bytes, originator_version, len(topic_bytes)),
            topic_bytes,
            _LENGTH.pack(len(state)),
            state,
        )
    )


def leaf_of(notification: StoredNotification) -> bytes:
    """Return the canonical leaf bytes of an ``eventsourcing`` notification.

    ``position`` is ``notification.id``. A ``str`` originator id (``eventsourcing`` allows
    them) is accepted only if it parses as a UUID; its 16 bytes are then encoded.
    """
    originator_id = notification.originator_id
    if isinstance(originator_id, str):
        try:
            originator_id = UUID(originator_id)
        except ValueError:
            raise LeafEncodingError(f"originator_id {originator_id!r} is not a UUID") from None
    return encode_leaf(
        notification.id,
        originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def event_leaf_hash(notification: StoredNotification) -> bytes:
    """Return the Merkle leaf hash ``SHA-256(0x00 || leaf_of(notification))``."""
    return leaf_hash(leaf_of(notification))


def decode_leaf(leaf: bytes) -> EventLeaf:
    """Parse canonical leaf bytes back into their fields (the inverse of :func:`encode_leaf`).

    Raises :class:`LeafEncodingError` if ``leaf`` is not exactly one well-formed v1 leaf.
    """
    data = bytes(leaf)
    if len(data) < _FIXED_SIZE or not data.startswith(LEAF_TAG):
        raise LeafEncodingError("not a carbon-ledger/event-leaf/v1 leaf")
    offset = len(LEAF_TAG)
    position, uuid_bytes, version = _HEADER.unpack_from(data, offset)
    offset += _HEADER.size
    (topic_length,) = _LENGTH.unpack_from(data, offset)
    offset += _LENGTH.size
    topic_bytes = data[offset : offset + topic_length]
    offset += topic_length
    if len(topic_bytes) != topic_length or offset + _LENGTH.size > len(data):
        raise LeafEncodingError("leaf is truncated")
    (state_length,) = _LENGTH.unpack_from(data, offset)
    offset += _LENGTH.size
    if offset + state_length != len(data):
        raise LeafEncodingError("leaf length does not match its state length prefix")
    try:
        topic = topic_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise LeafEncodingError("leaf topic is not valid UTF-8") from None
    return EventLeaf(position, UUID(bytes=uuid_bytes), version, topic, data[offset:])
