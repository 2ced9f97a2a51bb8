"""The canonical leaf encoding of stored events (anchoring.leaf).

The golden vectors are written out field by field from the format documented in the module
docstring, independently of the code under test.
"""

import hashlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anchoring import leaf as leaf_module
from anchoring.leaf import (
    LEAF_TAG,
    EventLeaf,
    LeafEncodingError,
    decode_leaf,
    encode_leaf,
    event_leaf_hash,
    leaf_of,
)
from anchoring.merkle import leaf_hash
from tests.anchoring.conftest import add_events

UUID_1 = uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10")


def test_tag_is_the_documented_ascii_line():
    assert LEAF_TAG == b"carbon-ledger/event-leaf/v1\n"
    assert len(LEAF_TAG) == 28
    assert LEAF_TAG.hex(" ") == (
        "63 61 72 62 6f 6e 2d 6c 65 64 67 65 72 2f 65 76 65 6e 74 2d 6c 65 61 66 2f 76 31 0a"
    )
    assert LEAF_TAG.hex(" ") in " ".join(leaf_module.__doc__.split())


def test_golden_vector_of_the_documented_example():
    expected = bytes.fromhex(
        # "carbon-ledger/event-leaf/v1\n"
        "636172626f6e2d6c65646765722f6576656e742d6c6561662f76310a"
        "0000000000000001"  # position 1, uint64 big-endian
        "0102030405060708090a0b0c0d0e0f10"  # originator id, 16 bytes
        "0000000000000001"  # originator version 1, uint64 big-endian
        "00000001"  # len(topic) = 1, uint32 big-endian
        "74"  # "t"
        "00000002"  # len(state) = 2
        "7b7d"  # b"{}"
    )
    assert encode_leaf(1, UUID_1, 1, "t", b"{}") == expected
    # The docstring shows the same example.
    doc = " ".join(leaf_module.__doc__.split())
    assert (
        "0000000000000001 0102030405060708090a0b0c0d0e0f10 0000000000000001 00000001 74 "
        "00000002 7b7d"
    ) in doc
    # Its leaf hash is SHA-256(0x00 || leaf) (RFC 9162), pinned so the format cannot drift.
    assert leaf_hash(expected) == hashlib.sha256(b"\x00" + expected).digest()
    golden_hash = "2ca8ca7367d22a07cd7da9f77acd66f83f11ccac181c18938a5adc2db3191b19"
    assert leaf_hash(expected).hex() == golden_hash
    assert golden_hash in doc


def test_golden_vector_with_non_ascii_topic_large_numbers_and_binary_state():
    originator = uuid.UUID("ffffffff-0000-4000-8000-123456789abc")
    topic = "ledger.domain:Événement"  # 14 + 2 ("É") + 1 + 2 ("é") + 6 = 25 bytes in UTF-8
    state = bytes(range(256)) * 3
    expected = (
        b"carbon-ledger/event-leaf/v1\n"
        + (2**64 - 1).to_bytes(8, "big")
        + bytes.fromhex("ffffffff000040008000123456789abc")
        + (2**40 + 7).to_bytes(8, "big")
        + (25).to_bytes(4, "big")
        + b"ledger.domain:\xc3\x89v\xc3\xa9nement"
        + (768).to_bytes(4, "big")
        + state
    )
    assert len(topic.encode()) == 25
    assert encode_leaf(2**64 - 1, originator, 2**40 + 7, topic, state) == expected
    assert len(expected) == 68 + 25 + 768
    assert "len(leaf) = 68 + len(topic) + len(state)" in leaf_module.__doc__.replace("`", "")


def test_empty_topic_and_state():
    assert encode_leaf(0, uuid.UUID(int=0), 0, "", b"") == LEAF_TAG + bytes(8 + 16 + 8 + 4 + 4)


def test_originator_id_may_be_given_as_its_16_bytes():
    assert encode_leaf(5, UUID_1.bytes, 2, "t", b"x") == encode_leaf(5, UUID_1, 2, "t", b"x")


def test_state_may_be_any_bytes_like():
    assert encode_leaf(1, UUID_1, 1, "t", bytearray(b"ab")) == encode_leaf(
        1, UUID_1, 1, "t", memoryview(b"ab")
    )


@pytest.mark.parametrize(
    "args",
    [
        (-1, UUID_1, 1, "t", b""),
        (2**64, UUID_1, 1, "t", b""),
        (True, UUID_1, 1, "t", b""),
        (1.0, UUID_1, 1, "t", b""),
        ("1", UUID_1, 1, "t", b""),
        (1, UUID_1, -1, "t", b""),
        (1, UUID_1, 2**64, "t", b""),
        (1, UUID_1, False, "t", b""),
        (1, str(UUID_1), 1, "t", b""),
        (1, b"\x00" * 15, 1, "t", b""),
        (1, bytearray(16), 1, "t", b""),
        (1, UUID_1, 1, b"t", b""),
        (1, UUID_1, 1, "\ud800", b""),  # lone surrogate: not encodable as UTF-8
        (1, UUID_1, 1, "t", "state"),
        (1, UUID_1, 1, "t", None),
    ],
)
def test_invalid_fields_are_rejected(args):
    with pytest.raises(LeafEncodingError):
        encode_leaf(*args)


@pytest.mark.parametrize(
    "args",
    [
        (-1, UUID_1.bytes, 1, "t", b""),
        (2**64, UUID_1.bytes, 1, "t", b""),
        (1, UUID_1.bytes, 2**64, "t", b""),
        (1, UUID_1.bytes, 1, "\ud800", b""),
    ],
)
def test_fields_refused_on_the_fast_path_get_the_checked_error(args):
    with pytest.raises(LeafEncodingError) as fast:
        encode_leaf(*args)
    with pytest.raises(LeafEncodingError) as checked:
        encode_leaf(args[0], UUID_1, *args[2:])
    assert str(fast.value) == str(checked.value)


def test_leaf_encoding_error_is_a_value_error():
    assert issubclass(LeafEncodingError, ValueError)


def test_leaf_of_a_real_stored_event(ledger):
    (participant,) = add_events(ledger, 1)
    (notification,) = ledger.recorder.select_notifications(start=1, limit=1)
    assert notification.originator_id == participant

    leaf = leaf_of(notification)

    topic = notification.topic.encode()
    assert leaf == (
        LEAF_TAG
        + notification.id.to_bytes(8, "big")
        + participant.bytes
        + notification.originator_version.to_bytes(8, "big")
        + len(topic).to_bytes(4, "big")
        + topic
        + len(notification.state).to_bytes(4, "big")
        + notification.state
    )
    assert notification.topic == "ledger.domain.participant:Participant.Registered"
    assert event_leaf_hash(notification) == hashlib.sha256(b"\x00" + leaf).digest()
    assert decode_leaf(leaf) == EventLeaf(
        notification.id,
        participant,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def test_leaf_of_accepts_string_uuid_originator_ids_only():
    class Stored:
        id = 3
        originator_version = 1
        topic = "t"
        state = b""

        def __init__(self, originator_id):
            self.originator_id = originator_id

    assert leaf_of(Stored(str(UUID_1))) == encode_leaf(3, UUID_1, 1, "t", b"")
    with pytest.raises(LeafEncodingError):
        leaf_of(Stored("not-a-uuid"))


fields = st.tuples(
    st.integers(0, 2**64 - 1),
    st.uuids(),
    st.integers(0, 2**64 - 1),
    st.text(),
    st.binary(),
)


@given(fields)
def test_the_fast_path_encodes_as_the_checked_one(values):
    """An id given as 16 bytes takes the unchecked path (``struct`` refuses what does not
    fit); as a UUID, every field is checked first. Both give the same leaf."""
    position, originator_id, version, topic, state = values
    fast = encode_leaf(position, originator_id.bytes, version, topic, state)
    assert fast == encode_leaf(position, originator_id, version, topic, state)


@given(fields)
def test_decode_inverts_encode(values):
    assert decode_leaf(encode_leaf(*values)) == EventLeaf(*values)


@given(fields, fields)
def test_encoding_is_injective(a, b):
    if a != b:
        assert encode_leaf(*a) != encode_leaf(*b)


@given(fields, st.data())
def test_truncated_or_extended_leaves_do_not_decode(values, data):
    leaf = encode_leaf(*values)
    cut = data.draw(st.integers(0, len(leaf) - 1))
    with pytest.raises(LeafEncodingError):
        decode_leaf(leaf[:cut])
    with pytest.raises(LeafEncodingError):
        decode_leaf(leaf + b"\x00")


def test_other_versions_do_not_decode():
    leaf = encode_leaf(1, UUID_1, 1, "t", b"")
    with pytest.raises(LeafEncodingError):
        decode_leaf(leaf.replace(b"/v1\n", b"/v2\n"))
