"""Language negotiation (api/i18n.py)."""

from __future__ import annotations

import pytest

from api.i18n import Text, negotiate


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"),
    ("", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("zh-Hans", "zh"),
    ("zh-TW", "zh"),
    ("en-GB,zh;q=0.5", "en"),
    ("fr-FR,zh;q=0.7,en;q=0.6", "zh"),
    ("de", "en"),
    ("*", "en"),
    ("en;q=0.2, zh;q=0.8", "zh"),
    ("zh;q=0, en", "en"),
    ("zh;q=abc, en;q=0.1", "en"),
    ("ZH-cn", "zh"),
    ("zh;q=0.5, en;q=0.5", "zh"),
])
def test_negotiate_picks_the_highest_weighted_language_served(header, expected):
    assert negotiate(header) == expected


def test_an_explicit_choice_wins_over_the_header_unless_unknown():
    assert negotiate("zh-CN", override="en") == "en"
    assert negotiate("en", override="zh") == "zh"
    assert negotiate("zh-CN", override="xx") == "zh"


def test_a_text_answers_in_each_language():
    text = Text(en="Retirements", zh="注销")
    assert (text("en"), text("zh")) == ("Retirements", "注销")
