"""The explorer's overview and retirement register in a real browser (Debian's chromium,
driven by Playwright): the charts are drawn and visible, the register's filters work from
its form, and its rows lead to the certificate pages."""

from __future__ import annotations

from typing import Any

TIMEOUT_MS = 30_000


def test_the_overview_draws_its_charts(page: Any, live_server: str):
    response = page.goto(f"{live_server}/explorer/?lang=en")
    assert response is not None and response.status == 200
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for index in range(charts.count()):
        chart = charts.nth(index)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
    bars = page.locator("#supply-registry svg.chart rect[height='18']")
    assert bars.count() >= 1
    widest = max(bars.nth(i).bounding_box()["width"] for i in range(bars.count()))
    assert widest > 50  # a drawn bar, not a hairline
    assert page.locator("#supply-registry svg.chart title").first.text_content()
    assert page.errors == []


def test_the_overview_in_chinese(browser: Any, live_server: str):
    context = browser.new_context(locale="zh-CN", extra_http_headers={
        "Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/explorer/")
        assert page.locator("h1").inner_text() == "登记概览"
        assert page.locator("svg.chart").first.is_visible()
    finally:
        context.close()


def test_the_register_filters_from_its_form_and_leads_to_certificates(
        page: Any, live_server: str, ledger_world: dict[str, Any]):
    retirement = str(ledger_world["retirement"])
    page.goto(f"{live_server}/explorer/retirements?lang=en")
    assert "Hubei Power Co." in page.inner_text("table")
    page.fill("input[name=beneficiary]", "hubei power")
    page.select_option("select[name=purpose]", "compliance_offset")
    page.click("form.filters button")
    page.wait_for_url("**/explorer/retirements?*beneficiary=hubei+power*")
    assert "Hubei Power Co." in page.inner_text("table")
    page.select_option("select[name=purpose]", "donation")
    page.click("form.filters button")
    page.wait_for_url("**purpose=donation*")
    assert "Nothing matches." in page.inner_text("main")
    page.goto(f"{live_server}/explorer/retirements?lang=en")
    with page.expect_navigation(timeout=TIMEOUT_MS):
        page.click(f"a[href^='/explorer/certificates/{retirement}']")
    assert f"/explorer/certificates/{retirement}" in page.url
    assert page.errors == []
