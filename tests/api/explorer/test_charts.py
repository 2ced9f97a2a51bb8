"""Quantities as exact text, and the SVG charts drawn from them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from api.explorer.charts import Bar, Segment, bar_chart, stacked_bar_chart
from api.explorer.quantities import grams_text, tonnes

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("grams", "text"), [
    (0, "0 g"), (1, "1 g"), (999_999, "999,999 g"), (1_000_000, "1.000000 t"),
    (1_234_567_890, "1,234.567890 t"), (4_544_760_000, "4,544.760000 t"),
    (2**63 - 1, "9,223,372,036,854.775807 t"), (-1_500_000, "-1.500000 t"),
])
def test_tonnes_are_exact(grams: int, text: str):
    assert tonnes(grams) == text


def test_the_exact_grams_are_written_out():
    assert grams_text(1_234_567_890) == "1,234,567,890 g CO2e"


def test_a_stacked_chart_is_valid_svg_with_titles_and_proportional_bars():
    chart = stacked_bar_chart("Supply <by> registry", [
        Bar("HBCER", [Segment("Available", 3_000_000), Segment("Retired", 1_000_000)]),
        Bar("<script>x</script>", [Segment("Available", 2_000_000), Segment("Retired", 0)]),
    ], legend=["Available", "Retired"])
    root = ET.fromstring(str(chart))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Supply <by> registry"
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "18"]
    widths = [int(r.get("width")) for r in rects]
    assert abs(widths[0] - 3 * widths[1]) <= 3
    assert widths[0] + widths[1] == 2 * widths[2]  # the longest bar fills the span
    assert widths[0] + widths[1] == 640 - 180 - 150
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "HBCER · Retired: 1.000000 t (1,000,000 g CO2e)" in titles
    assert "<script>x</script>: 2.000000 t (2,000,000 g CO2e)" in titles
    assert "<script>" not in str(chart)


def test_an_empty_chart_and_zero_bars_draw_no_bar():
    assert "<rect" not in str(bar_chart("Nothing", []))
    chart = str(bar_chart("Zero", [Bar("none", [Segment("none", 0)])]))
    assert "<rect" not in chart and "0 g" in chart
    ids = re.findall(r'id="(chart-\d+)-title"', chart + str(bar_chart("Other", [])))
    assert len(set(ids)) == 2


@pytest.mark.parametrize("legend", [["Available", "Escrowed", "Retired"],
                                    ["可用", "挂牌冻结", "已注销", "已通证化"]])
def test_legend_entries_do_not_overlap(legend: list[str]):
    root = ET.fromstring(str(stacked_bar_chart("t", [Bar("a", [Segment("x", 1)])], legend)))
    texts = [t for t in root.iter(f"{SVG}text") if t.get("font-size") == "11"]
    swatches = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "10"]
    for text, name, following in zip(texts, legend, swatches[1:], strict=False):
        wide = sum(1 for c in name if ord(c) > 0x2E80)
        least = int(text.get("x")) + 11 * wide + 5 * (len(name) - wide)
        assert int(following.get("x")) > least, (name, following.get("x"), least)
