"""Human-readable text in commands: names, beneficiaries, purposes, references, reasons.

One rule for every such field, applied by the domain before any event is recorded
(:func:`check_text`), with a backstop over every text an event carries
(:func:`forbidden_character`, called when a command saves):

* no control characters: C0 (U+0000-U+001F), DEL and C1 (U+007F-U+009F); prose fields
  (reasons, statements) may hold line feeds and tabs;
* no bidirectional controls: embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069,
  and the marks U+200E, U+200F, U+061C, which can make a name or a reference display as
  something else than it is ("Trojan Source");
* no surrogate code points (they cannot be encoded) and no noncharacters
  (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF);
* at least one visible character: text made only of blanks, zero-width or other format
  characters, combining marks, or fillers such as U+3164 is refused;
* blanks at both ends are dropped; at most ``max_length`` characters remain.

The text is otherwise kept as written (no case or width folding: it is shown to people).
"""

from __future__ import annotations

import re
import unicodedata

from ledger.domain.errors import ValidationError

__all__ = ["BIDI_CONTROLS", "INVISIBLE_LETTERS", "MAX_LINE", "MAX_PROSE", "check_text",
           "forbidden_character"]

MAX_LINE = 200
MAX_PROSE = 2000
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
# Letters and symbols that render as nothing (Hangul fillers, braille blank, Mongolian
# vowel separator).
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}-{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_FORBIDDEN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff{_NONCHARACTERS}]")
_FORBIDDEN_PROSE = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff{_NONCHARACTERS}]")
_NOT_SEEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def forbidden_character(text: str, *, prose: bool = True) -> str | None:
    """The first character of ``text`` no text field may hold, if any (line feeds and
    tabs are allowed where ``prose``)."""
    if text.isascii() and text.isprintable():  # the common case, without the regex
        return None
    found = (_FORBIDDEN_PROSE if prose else _FORBIDDEN_LINE).search(text)
    return found.group() if found else None


def _visible(text: str) -> bool:
    if text.isascii():  # no control is left: any non-blank ASCII character shows
        return not text.isspace() and bool(text)
    return any(unicodedata.category(c) not in _NOT_SEEN and c not in INVISIBLE_LETTERS
               for c in text)


def _describe(character: str) -> str:
    name = unicodedata.name(character, "") if not "\ud800" <= character <= "\udfff" else ""
    return f"U+{ord(character):04X}" + (f" {name}" if name else "")


def check_text(value: object, name: str, *, max_length: int = MAX_LINE,
               prose: bool = False) -> str:
    """``value`` stripped of surrounding blanks, if it is acceptable human-readable text
    (see the module's rules); else :class:`ValidationError` naming the field and the
    offending code point."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, got {value!r}", field=name)
    bad = forbidden_character(value, prose=prose)
    if bad is not None:
        raise ValidationError(
            f"{name} contains {_describe(bad)}: control, bidirectional-control, surrogate "
            "and noncharacter code points are not accepted", field=name,
            code_point=f"U+{ord(bad):04X}")
    text = value.strip()
    if not _visible(text):
        raise ValidationError(f"{name} must contain a visible character", field=name)
    if len(text) > max_length:
        raise ValidationError(f"{name} is longer than {max_length} characters", field=name,
                              length=len(text))
    return text
