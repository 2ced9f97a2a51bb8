"""The normal form of a physical act's identity, from which its behaviour id derives.

Two platforms (or one platform twice) may spell the same act differently: another case, a
full-width colon, extra blanks, ``+08:00`` instead of ``Z`` or ``.000Z`` in a timestamp. The
behaviour id (:func:`ledger.domain.ids.behaviour_id`) is derived from the *normal form* of the
scene and of the act identity, so every such spelling collides with the first report:

1. Unicode NFKC (full-width letters, digits and punctuation become ASCII), then case folding,
   then NFKC again (the "NFKC_Casefold" of Unicode, closed under both);
2. format characters (Unicode category ``Cf``: zero-width spaces and joiners, bidi controls,
   soft hyphens) are dropped; every run of whitespace becomes one space, and blanks at both
   ends and around the separators ``| : ; , / =`` are dropped;
3. every ISO 8601 date-time *with* an offset (``2024-09-03T08:15+08:00``,
   ``2024-09-03 00:15:00.000Z``, ``...+0800``) becomes the UTC instant it denotes, written
   ``YYYY-MM-DDTHH:MM:SS[.fraction]Z`` with the fraction (up to nanoseconds) stripped of
   trailing zeros: one spelling per instant. A date-time without an offset names no instant
   and is left as written (after steps 1-2).

The normal form is used for the id only; the event keeps the identity as the platform sent it.
Behaviours stored before this rule have ids derived from the exact text (see
:func:`ledger.domain.ids.legacy_behaviour_id`); re-reports are checked against both.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache

__all__ = ["normal_act_identity", "normal_scene"]

_AROUND = re.compile(r" ?([|:;,/=]) ?")
_INSTANT = re.compile(
    r"(?<![0-9])(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[t ](?P<h>[0-9]{2}):(?P<m>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?(?![0-9])"
    r" ?(?P<zone>z|[+-][0-9]{2}(?::?[0-9]{2})?)(?![0-9a-z])",
    re.ASCII,
)


def _fold(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII as it is, and has no format character to drop
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    spaced = " ".join(folded.split())  # every whitespace run: one space; none at the ends
    return _AROUND.sub(_separator, spaced) if " " in spaced else spaced


def _separator(match: re.Match[str]) -> str:
    return match.group(1)


@lru_cache(maxsize=256)
def _offset(zone: str) -> timedelta | None:
    """The UTC offset ``zone`` (``z``, ``+08``, ``+0800``, ``-05:30``) denotes, if valid."""
    if zone == "z":
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    if len(digits) not in (2, 4) or int(digits[:2]) > 23 or int(digits[2:] or 0) > 59:
        return None
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return -offset if zone[0] == "-" else offset


def _utc(match: re.Match[str]) -> str:
    offset = _offset(match.group("zone"))
    date = match.group("date")
    try:
        if offset is None:
            raise ValueError(match.group("zone"))
        instant = datetime(int(date[:4]), int(date[5:7]), int(date[8:]),
                           int(match.group("h")), int(match.group("m")),
                           int(match.group("s") or 0)) - offset  # naive: UTC wall time
    except (ValueError, OverflowError):  # not a real date or time, an offset of a day or
        # more, or an instant outside years 1-9999 in UTC: left as written
        return match.group(0)
    fraction = (match.group("f") or "").rstrip("0")
    return f"{instant.isoformat()}{'.' + fraction if fraction else ''}Z"


def normal_act_identity(act_identity: str) -> str:
    """The normal form of an act identity (see the module's rules)."""
    return _INSTANT.sub(_utc, _fold(act_identity))


@lru_cache(maxsize=1024)  # a ledger has a few scenes, derived once per behaviour
def normal_scene(scene: str) -> str:
    """The normal form of a methodology's scene: steps 1 and 2 of the module's rules."""
    return _fold(scene)
