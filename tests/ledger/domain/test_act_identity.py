"""Act identities: every spelling of one act has one normal form, distinct acts keep
distinct ones (issue 15)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import ids
from ledger.domain.act_identity import normal_act_identity, normal_scene

_KEY = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-",
               min_size=1, max_size=12)
_INSTANT = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                        timezones=st.just(UTC))
_OFFSET = st.integers(min_value=-14 * 4, max_value=14 * 4).map(
    lambda q: timezone(timedelta(minutes=15 * q)))
_FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def _spell(instant: datetime, offset: timezone, style: int) -> str:
    """``instant`` in one of the ISO 8601 spellings platforms use."""
    local = instant.astimezone(offset)
    zone = local.strftime("%z")
    zone = {0: f"{zone[:3]}:{zone[3:]}", 1: zone, 2: f"{zone[:3]}:{zone[3:]}"}[style % 3]
    if offset.utcoffset(None) == timedelta(0) and style % 2:
        zone = "Z" if style % 4 == 1 else "z"
    seconds = f"{local:%S}"
    if local.microsecond:
        seconds += f".{local.microsecond:06d}" + "0" * (style % 3)
    elif style % 5 == 0:
        seconds += ".000"
    sep = "T" if style % 7 else " "
    return f"{local:%Y-%m-%d}{sep}{local:%H:%M}:{seconds}{' ' if style % 11 == 0 else ''}{zone}"


@given(key=_KEY, instant=_INSTANT, offsets=st.tuples(_OFFSET, _OFFSET),
       styles=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
       upper=st.booleans(), wide=st.booleans(), blanks=st.booleans())
def test_every_spelling_of_one_act_has_one_normal_form(key, instant, offsets, styles, upper,
                                                         wide, blanks):
    first = f"charger:{key}|{_spell(instant, offsets[0], styles[0])}"
    other = f"charger:{key}|{_spell(instant, offsets[1], styles[1])}"
    if upper:
        other = other.upper()
    if wide:
        other = "".join(_FULL_WIDTH.get(c, c) for c in other)
    if blanks:
        other = f" \u3000{other.replace('|', ' | ')}\u200b "
    assert normal_act_identity(first) == normal_act_identity(other), (first, other)
    assert ids.behaviour_id("EV", first) == ids.behaviour_id(" ev ", other)


@given(key=_KEY, instants=st.tuples(_INSTANT, _INSTANT), offset=_OFFSET,
       style=st.integers(0, 1000))
def test_distinct_instants_stay_distinct(key, instants, offset, style):
    first, second = (f"c:{key}|{_spell(i, offset, style)}" for i in instants)
    assert (normal_act_identity(first) == normal_act_identity(second)) == (
        instants[0] == instants[1])


@given(st.text(max_size=60))
def test_the_normal_form_is_a_fixed_point(text):
    once = normal_act_identity(text)
    assert normal_act_identity(once) == once
    assert normal_scene(normal_scene(text)) == normal_scene(text)
    assert unicodedata.normalize("NFKC", once) == once


def test_timestamps_become_utc_instants_written_one_way():
    assert normal_act_identity("C:1|2024-09-03T16:15+08:00") == "c:1|2024-09-03T08:15:00Z"
    assert normal_act_identity("C:1|2024-09-03T08:15:00.120Z") == "c:1|2024-09-03T08:15:00.12Z"
    assert normal_act_identity("c:1|2024-01-01T00:30-01:00") == "c:1|2024-01-01T01:30:00Z"
    # no offset: no instant; not a date; out of range: left as text (folded)
    for text in ["c:1|2024-09-03T08:15", "c:1|2024-02-30T08:15Z", "c:1|0001-01-01T00:00+01:00",
                 "c:1|2024-09-03T08:15+25:00"]:
        assert normal_act_identity(text) == text.lower()
