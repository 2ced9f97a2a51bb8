"""C2SP signed notes and checkpoints, against the reference vectors of Go's sumdb/note."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anchoring.note import (
    KEY_ENV,
    LogSigner,
    NoteError,
    checkpoint_text,
    key_id,
    open_note,
    parse_checkpoint,
    verifier_key,
)

# golang.org/x/mod/sumdb/note, note_test.go and the package documentation.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_NOTE = (GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgY"
           "N1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
# A second Go vector key, for a note carrying an unknown signer's line.
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"


def test_signing_reproduces_the_go_reference_note_byte_for_byte():
    signer = LogSigner.from_signer_key(GO_SKEY)
    assert signer.verifier_key == GO_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert open_note(GO_NOTE, GO_VKEY) == GO_TEXT


def test_verification_ignores_other_signers_and_refuses_forgeries():
    other = "\u2014 EnochRoot " + base64.b64encode(b"\xaf\x0c\xfe\x78" + bytes(64)).decode()
    cosigned = GO_NOTE + other + "\n"
    assert open_note(cosigned, GO_VKEY) == GO_TEXT
    with pytest.raises(NoteError, match="does not verify"):
        open_note(cosigned, ENOCH_VKEY)  # Enoch's line is there but is no signature
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), GO_VKEY)
    with pytest.raises(NoteError, match="no signature"):
        open_note(GO_TEXT + "\n" + other + "\n", GO_VKEY)
    with pytest.raises(NoteError):
        open_note(GO_TEXT, GO_VKEY)  # no signature block at all
    with pytest.raises(NoteError, match="key ID"):
        open_note(GO_NOTE, GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_a_verifier_key_whose_base64_holds_a_plus_is_parsed():
    # transparency-dev/formats note tests: the base64 part of this key contains '+'.
    plus = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    raw = base64.b64decode(plus.split("+", 2)[2])
    assert verifier_key("TEST", raw[1:]) == plus
    assert key_id("TEST", raw[1:]).hex() == "7997405c"


def test_checkpoint_text_round_trips_and_refuses_malformed_heads():
    root = bytes(range(32))
    text = checkpoint_text("example.com/log", 20852163, root)
    assert text == f"example.com/log\n20852163\n{base64.b64encode(root).decode()}\n"
    head = parse_checkpoint(text)
    assert (head.origin, head.tree_size, head.root) == ("example.com/log", 20852163, root)
    for origin in ("", "a\nb"):
        with pytest.raises(NoteError):
            checkpoint_text(origin, 1, root)
    with pytest.raises(NoteError):
        checkpoint_text("o", -1, root)
    with pytest.raises(NoteError):
        checkpoint_text("o", 1, root[:31])
    for bad in ("o\n01\nAA==\n", "o\n1\n" + "A" * 44 + "\n", "o\n1\n", "o\nx\nAA\n"):
        with pytest.raises(NoteError):
            parse_checkpoint(bad)


@given(size=st.integers(0, 2**63), root=st.binary(min_size=32, max_size=32))
def test_signed_checkpoints_verify_and_parse_back(size: int, root: bytes):
    signer = LogSigner.from_signer_key(GO_SKEY)
    note = signer.sign_checkpoint("example.com/log", size, root)
    head = parse_checkpoint(open_note(note, signer.verifier_key))
    assert (head.tree_size, head.root) == (size, root)


def test_the_log_key_is_generated_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    first = LogSigner.for_registry(tmp_path, "example.com/log")
    again = LogSigner.for_registry(tmp_path, "example.com/log")
    assert first.verifier_key == again.verifier_key
    assert (tmp_path / "log-signing-key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(KEY_ENV, GO_SKEY)
    assert LogSigner.for_registry(tmp_path, "ignored").verifier_key == GO_VKEY
