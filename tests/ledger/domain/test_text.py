"""One rule for human-readable text (issue 15): no controls, no bidirectional controls, no
surrogates or noncharacters, something visible."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import ValidationError
from ledger.domain.text import BIDI_CONTROLS, INVISIBLE_LETTERS, check_text

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x7F, 0xA0)]
NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF)]
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
DANGEROUS = st.one_of(st.sampled_from(C0 + C1 + sorted(BIDI_CONTROLS) + NONCHARACTERS),
                      SURROGATES)
# Characters that show nothing: blanks, format characters, combining marks, fillers.
INVISIBLE = st.one_of(
    st.sampled_from([*sorted(INVISIBLE_LETTERS), " ", "\u00a0", "\u2003", "\u3000"]),
    st.characters(categories=["Cf", "Mn", "Me", "Zs"]).filter(
        lambda c: c not in BIDI_CONTROLS))
ORDINARY = st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=20)


@given(before=ORDINARY, bad=DANGEROUS,
       after=st.text(st.characters(categories=["L", "N"]), max_size=5))
def test_a_dangerous_code_point_anywhere_is_refused_naming_it(before, bad, after):
    for text in (bad + before, before + bad + after, before + bad):
        with pytest.raises(ValidationError) as raised:
            check_text(text, "name")
        assert raised.value.details == {"field": "name", "code_point": f"U+{ord(bad):04X}"}


@given(st.lists(INVISIBLE, min_size=1, max_size=8).map("".join))
def test_text_with_nothing_visible_is_refused(text):
    with pytest.raises(ValidationError) as raised:
        check_text(text, "beneficiary")
    assert raised.value.details["field"] == "beneficiary"


@given(ORDINARY, st.lists(INVISIBLE, max_size=3).map("".join))
def test_ordinary_text_is_kept_as_written_but_for_surrounding_blanks(text, joiners):
    written = f"  {text}{joiners}{text}\u3000"
    assert check_text(written, "name", max_length=100) == written.strip()


@pytest.mark.parametrize("text", ["\u821f\u6c0f\u96c6\u56e2", "Shu's Group (emitter)",
                                  "\U0001f468\u200d\U0001f469", "\u0645\u0631\u062d\u0628\u0627",
                                  "caf\u0065\u0301"])
def test_real_names_pass(text):
    assert check_text(text, "name") == text


def test_prose_may_hold_line_feeds_and_tabs_a_line_may_not():
    assert check_text("line one\n\tline two", "reason", prose=True) == "line one\n\tline two"
    for bad in ["a\nb", "a\tb", "a\rb"]:
        with pytest.raises(ValidationError):
            check_text(bad, "name")
    with pytest.raises(ValidationError):
        check_text("a\rb", "reason", prose=True)


def test_length_and_type():
    assert check_text("x" * 200, "name") == "x" * 200
    with pytest.raises(ValidationError):
        check_text("x" * 201, "name")
    with pytest.raises(ValidationError):
        check_text(None, "name")


def test_every_bidi_control_named_in_the_rule_is_listed():
    listed = {f"U+{ord(c):04X}" for c in BIDI_CONTROLS}
    assert {f"U+{c:04X}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]} <= listed
    assert all(unicodedata.category(c) == "Cf" for c in BIDI_CONTROLS)
