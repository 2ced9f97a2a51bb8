"""Languages of pages, purposes and problem titles: Chinese and English.

A request's language is chosen by :func:`negotiate` from its ``Accept-Language`` header (RFC
9110 §12.5.4: the highest-weighted range we serve; ``zh``, ``zh-CN``, ``zh-Hans``, ``zh-TW``
are Chinese, ``en-*`` English, ``*`` or nothing the default). A page may also take an explicit
``?lang=`` that wins over the header (a link a reader can share).

Catalogs are modules of :class:`Text` constants, so a missing translation is a missing
argument, found when the module is imported, not a blank on a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "Text", "negotiate"]

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
_MAX_RANGES = 32  # a header is client input: look at no more ranges than this


@dataclass(frozen=True, slots=True)
class Text:
    """One text in every language served."""

    en: str
    zh: str

    def __call__(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


def _language_of(tag: str) -> Language | None:
    primary = tag.split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else None  # type: ignore[return-value]


def negotiate(accept_language: str | None, override: str | None = None) -> Language:
    """The language to answer in: ``override`` if it names one we serve, else the
    highest-weighted range of ``accept_language`` that we serve (earlier wins a tie), else
    :data:`DEFAULT_LANGUAGE`. Malformed ranges and weights are skipped, never an error."""
    if override is not None and (chosen := _language_of(override)) is not None:
        return chosen
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate((accept_language or "").split(",")[:_MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        if not 0 < weight <= 1:
            continue
        language = DEFAULT_LANGUAGE if tag == "*" else _language_of(tag)
        if language is None:
            continue
        if best is None or (weight, -position) > (best[0], -best[1]):
            best = (weight, position, language)
    return best[2] if best is not None else DEFAULT_LANGUAGE
