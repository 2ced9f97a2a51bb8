"""Every explorer page renders in Chinese and English from the ledger's real data, on both
backends; filters narrow; unknown ids and bad parameters are HTML pages in the reader's
language; participants' text is escaped."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx
import pytest

from api.explorer.pages import retirements as retirements_page
from tests.api.explorer.conftest import HOSTILE, Registry, T

ZH = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"accept-language": "en-GB,en;q=0.9"}


def page(data: Registry, path: str, headers: dict[str, str] | None = None, /,
         **params: object) -> httpx.Response:
    """GET an explorer page (query ``params``, ``None`` left out), in English by default."""
    query = {k: v for k, v in params.items() if v is not None}
    return data.world.api.client.get(path, params=query, headers=headers or EN,
                                     follow_redirects=False)


def ok(response: httpx.Response, language: str = "en") -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == ("zh-CN" if language == "zh" else "en")
    return response.text


def main_of(html: str) -> str:
    return html.split("<main>", 1)[1]


def test_the_overview_shows_supply_by_registry_vintage_methodology_and_state(
        registry: Registry):
    english = ok(page(registry, "/explorer/"))
    chinese = ok(page(registry, "/explorer/", ZH), "zh")
    assert "<h1>Registry overview</h1>" in english and "<h1>登记概览</h1>" in chinese
    for html in (english, chinese):
        assert '<span class="qty" title="12,500,500,000 g CO2e">12,500.500000 t</span>' in html
        # HBCER: 10,000 t issued, 10 t retired; SHCER: 2,500.5 t issued, 1,234,567 g retired
        assert 'title="10,000,000,000 g CO2e">10,000.000000 t' in html
        assert 'title="9,990,000,000 g CO2e">9,990.000000 t' in html
        assert 'title="2,499,265,433 g CO2e">2,499.265433 t' in html
        assert 'title="11,234,567 g CO2e">11.234567 t' in html
        assert ">HBCER</a>" in html and ">SHCER</a>" in html and ">2024</a>" in html
        assert "WH-EV-CHARGING-V1 v1" in html
        assert html.count('<svg class="chart"') == 4
        assert re.search(r'<svg [^>]*role="img" aria-labelledby="chart-\d+-title', html)
    assert "<title>HBCER: 10,000.000000 t (10,000,000,000 g CO2e)</title>" in english
    assert "Retired" in english and "已注销" in chinese and "可用" in chinese
    assert "Available" not in main_of(chinese)


def test_an_empty_registry_renders_zero(world):
    html = ok(world.api.client.get("/explorer/"))
    assert "No credits have been issued yet." in html
    assert 'title="0 g CO2e">0 g</span>' in html


def test_the_root_leads_to_the_explorer(registry: Registry):
    response = page(registry, "/", lang="zh")
    assert response.status_code == 307
    assert response.headers["location"] == "/explorer/?lang=zh"


def test_the_language_follows_accept_language_and_lang_wins(registry: Registry):
    assert "<h1>Credit batches</h1>" in ok(page(registry, "/explorer/batches"))
    assert "<h1>减排量批次</h1>" in ok(page(registry, "/explorer/batches", ZH), "zh")
    assert "<h1>Credit batches</h1>" in ok(page(registry, "/explorer/batches", ZH, lang="en"))
    html = ok(page(registry, "/explorer/batches", EN, lang="zh"), "zh")
    assert '<html lang="zh-CN">' in html
    assert 'href="/explorer/retirements?lang=zh"' in html  # the nav keeps the choice
    filtered = ok(page(registry, "/explorer/retirements", ZH, purpose="voluntary"), "zh")
    # the language switch keeps the filters
    assert 'href="/explorer/retirements?purpose=voluntary&amp;lang=en" hreflang="en"' in filtered


def test_batches_are_listed_and_filtered(registry: Registry):
    html = ok(page(registry, "/explorer/batches"))
    assert f'/explorer/batches/{registry.hubei}?lang=en">HBCER-2024-000001</a>' in html
    assert f'/explorer/batches/{registry.shanghai}?lang=en">SHCER-2024-000001</a>' in html
    shanghai = ok(page(registry, "/explorer/batches", registry="SHCER"))
    assert "SHCER-2024-000001" in shanghai and "HBCER-2024-000001" not in shanghai
    assert "Nothing matches." in ok(page(registry, "/explorer/batches", vintage="2023"))


def test_a_batch_shows_its_block_root_supply_lots_and_corrections(registry: Registry):
    world = registry.world
    world.ledger.correct_batch(actor=world.operator.id, batch_id=registry.hubei,
                               field="region", value="Hubei <b>Wuhan</b>",
                               reason="typo in the monitoring report")
    world.runtime.sync()
    row = world.runtime.views.batch(registry.hubei)
    start = int(row["serial_start"])
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, f"/explorer/batches/{registry.hubei}", headers), language)
        assert f"<code>HBCER-2024-000001:{start}-{start + 10_000 * T - 1}</code>" in html
        assert 'title="9,990,000,000 g CO2e">9,990.000000 t' in html
        assert 'title="10,000,000 g CO2e">10.000000 t' in html
        assert registry.holder.name in html
        assert f"/explorer/certificates/{registry.retired}?lang={language}" in html
        assert "typo in the monitoring report" in html
        assert ("Issued here" if language == "en" else "本登记簿签发") in html
        assert "Hubei &lt;b&gt;Wuhan&lt;/b&gt;" in html and "<b>Wuhan" not in html
    assert "Corrections" in html.replace("更正记录", "Corrections")


@pytest.mark.parametrize("ident", [str(uuid4()), "not-a-batch", "%3Cscript%3E"])
def test_an_unknown_batch_is_a_404_page_in_the_readers_language(registry: Registry,
                                                                   ident: str):
    response = page(registry, f"/explorer/batches/{ident}", ZH)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>未找到</h1>" in response.text and "不存在减排量批次" in response.text
    assert "<script>" not in response.text
    english = page(registry, f"/explorer/batches/{ident}")
    assert english.status_code == 404 and "<h1>Not found</h1>" in english.text


def test_an_unknown_explorer_path_is_a_404_page_and_static_files_still_serve(
        registry: Registry):
    response = page(registry, "/explorer/no/such/page", ZH)
    assert response.status_code == 404 and "浏览器中没有这个页面" in response.text
    css = registry.world.api.client.get("/explorer/static/explorer.css")
    assert css.status_code == 200 and "svg.chart" in css.text


def test_a_serial_names_its_lot_holder_and_retirement(registry: Registry):
    views = registry.world.runtime.views
    retired_lot = next(lot for lot in views.serial_ranges(registry.hubei)
                       if lot["state"] == "retired")
    serial = retired_lot["start"] + 3
    for batch in ("HBCER-2024-000001", str(registry.hubei)):
        html = ok(page(registry, "/explorer/serials", batch=batch, serial=serial))
        assert f"<code>HBCER-2024-000001:{serial}</code>" in html
        assert f"<code>{retired_lot['start']}\u2013{retired_lot['end'] - 1}</code>" in html
        assert "Retired" in html and registry.holder.name in html
        assert "Wuhan Marathon" in html and "Event carbon neutrality" in html
        assert f"/explorer/certificates/{registry.retired}" in html
    chinese = ok(page(registry, "/explorer/serials", ZH, batch="HBCER-2024-000001",
                      serial=serial), "zh")
    assert "已注销" in chinese and "大型活动碳中和" in chinese
    shanghai = views.batch(registry.shanghai)
    last = int(shanghai["serial_start"]) + int(shanghai["quantity"]) - 1
    available = ok(page(registry, "/explorer/serials", batch="SHCER-2024-000001",
                        serial=last))
    assert "<dd>Available</dd>" in available


def test_the_serial_form_renders_empty_and_refuses_what_it_cannot_read(registry: Registry):
    assert 'name="serial"' in ok(page(registry, "/explorer/serials"))
    missing = page(registry, "/explorer/serials", ZH, batch="HBCER-2024-000001",
                   serial=10**15)
    assert missing.status_code == 404 and "序列号" in missing.text
    for unknown in ("x" * 36, str(uuid4()), "<b>HBCER</b>"):
        response = page(registry, "/explorer/serials", batch=unknown, serial=1)
        assert response.status_code == 404 and "<h1>Not found</h1>" in response.text
        assert "<b>HBCER" not in response.text
    half = page(registry, "/explorer/serials", batch="HBCER-2024-000001")
    assert half.status_code == 400 and "Give both the batch and the serial number." in half.text
    for bad in ("12a", "-1", "\uff11\uff12"):
        response = page(registry, "/explorer/serials", ZH, batch="HBCER-2024-000001",
                        serial=bad)
        assert response.status_code == 400 and "<h1>请求无效</h1>" in response.text


def test_the_retirement_register_lists_and_filters(registry: Registry):
    html = ok(page(registry, "/explorer/retirements"))
    assert html.count("/explorer/certificates/") == 2
    assert 'title="10,000,000 g CO2e">10.000000 t' in html
    assert 'title="1,234,567 g CO2e">1.234567 t' in html

    def shown(**filters: object) -> set[str]:
        body = ok(page(registry, "/explorer/retirements", **filters))
        return set(re.findall(r"/explorer/certificates/([0-9a-f-]{36})", body))

    both = {str(registry.retired), str(registry.hostile)}
    assert shown() == both
    assert shown(beneficiary="marathon") == {str(registry.retired)}  # ASCII case ignored
    assert shown(beneficiary="مؤسسة") == {str(registry.hostile)}
    assert shown(purpose="voluntary") == {str(registry.hostile)}
    assert shown(purpose="donation") == set()
    assert shown(registry="HBCER") == {str(registry.retired)}
    retired_on = registry.world.runtime.views.retirement(registry.retired)["retired_at"][:10]
    assert shown(retired_from=retired_on, retired_until=retired_on) == both
    assert shown(retired_from="2999-01-01") == set()
    assert shown(retired_until="2000-01-01") == set()
    chinese = ok(page(registry, "/explorer/retirements", ZH, purpose="event_neutrality"), "zh")
    assert "大型活动碳中和" in chinese and "<h1>公开注销登记簿</h1>" in chinese


@pytest.mark.parametrize(("params", "message"), [
    ({"purpose": "bribery"}, "purpose must be one of"),
    ({"retired_from": "05/12/2026"}, "retired_from must be a date written YYYY-MM-DD."),
    ({"retired_from": "2026-02-30"}, "retired_from must be a date"),
    ({"retired_from": "2026-02-01", "retired_until": "2026-01-01"}, "ends before it starts"),
    ({"after": "1~2~3"}, "after is not a page key"),
    ({"beneficiary": "x" * 201}, "longer than 200 characters"),
])
def test_the_register_refuses_bad_filters_with_an_html_page(registry: Registry, params,
                                                            message: str):
    response = page(registry, "/explorer/retirements", **params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Invalid request</h1>" in response.text and message in response.text
    chinese = page(registry, "/explorer/retirements", ZH, **params)
    assert chinese.status_code == 400 and "<h1>请求无效</h1>" in chinese.text


def test_the_register_pages_through_every_retirement_once(registry: Registry,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(retirements_page, "PAGE", 1)
    seen, after = [], None
    for _ in range(5):
        html = ok(page(registry, "/explorer/retirements", purpose=None,
                       **({"after": after} if after else {})))
        seen += re.findall(r"/explorer/certificates/([0-9a-f-]{36})", html)
        found = re.search(r'rel="next" href="[^"]*after=([^&"]+)', html)
        if found is None:
            break
        after = httpx.QueryParams(f"after={found.group(1)}")["after"]
    assert seen == [str(registry.retired), str(registry.hostile)]


def test_participants_text_is_escaped_everywhere(registry: Registry):
    hostile_echo = '<script>alert(1)</script>\u202egnp.exe'
    for path in ("/explorer/retirements", "/explorer/", "/explorer/batches"):
        html = page(registry, path, beneficiary=hostile_echo, registry=hostile_echo).text
        assert "<script>" not in html, path
    register = ok(page(registry, "/explorer/retirements"))
    assert HOSTILE not in register
    assert ("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; مؤسسة" in register)
    assert "<bdi>&lt;script&gt;" in register  # right-to-left text isolated from its cells
    echoed = ok(page(registry, "/explorer/retirements", beneficiary=hostile_echo))
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;\u202egnp.exe"' in echoed
    batches = page(registry, "/explorer/batches", registry='"><script>')
    assert 'value="&#34;&gt;&lt;script&gt;"' in batches.text


def test_claims_show_their_progress(registry: Registry):
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, "/explorer/claims", headers), language)
        assert "Wuhan Marathon 2026" in html
        assert 'title="40,000,000 g CO2e">40.000000 t' in html
        assert 'title="10,000,000 g CO2e">10.000000 t' in html
        assert '<progress max="1000" value="250"' in html and "25.0 %" in html
    assert "Not yet met" in ok(page(registry, "/explorer/claims"))
    assert "未达成" in ok(page(registry, "/explorer/claims", ZH), "zh")


def test_a_claim_has_its_own_page_which_its_pdf_qr_code_opens(registry: Registry):
    from api.certificate_pdf import claim_page_url

    listing = ok(page(registry, "/explorer/claims"))
    found = re.search(r'href="/explorer/claims/([0-9a-f-]{36})\?lang=en"', listing)
    assert found, "the register links each claim to its page"
    claim_id = found.group(1)
    assert claim_page_url("http://x", claim_id) == f"http://x/explorer/claims/{claim_id}"
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, f"/explorer/claims/{claim_id}", headers), language)
        assert "Wuhan Marathon 2026" in html and "25.0 %" in html
        assert f'href="/claims/{claim_id}/certificate.pdf"' in html
    assert page(registry, f"/explorer/claims/{uuid4()}").status_code == 404
    assert page(registry, "/explorer/claims/not-a-uuid").status_code == 404


def test_checkpoints_show_the_anchor_and_link_to_the_proofs(registry: Registry):
    html = ok(page(registry, "/explorer/checkpoints"))
    assert "No checkpoint has been anchored yet." in html
    assert 'href="/log/chain-checkpoints"' in html
    status = registry.world.runtime.anchoring.anchor_now()
    assert status.anchor is not None
    record = registry.world.runtime.anchoring.anchorer.anchors()[-1]
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, "/explorer/checkpoints", headers), language)
        assert f"<code>{record.root.hex()}</code>" in html
        assert f"<code>{record.tx_hash}</code>" in html
        assert f'<td class="num">{record.tree_size}</td>' in html
        assert f'<td class="num">{record.block_number}</td>' in html
    if record.final:
        assert f'/log/consistency?first={record.tree_size}' in html


def test_methodologies_are_listed(registry: Registry):
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, "/explorer/methodologies", headers), language)
        assert "WH-EV-CHARGING-V1" in html and "Wuhan" in html and "ev-charging" in html
        assert '<td class="num">600</td>' in html and "kWh" in html
    assert "<h1>方法学</h1>" in html


def test_individuals_are_shown_by_kind_and_id_never_by_name(registry: Registry):
    world = registry.world
    person = world.register("individual", name="Zhang San")
    world.ledger.transfer(actor=registry.holder.id, batch_id=registry.hubei,
                          recipient=person.id, quantity=2 * T)
    retirement = world.ledger.retire(actor=person.id, batch_id=registry.hubei, quantity=T,
                                     beneficiary="Zhang family", purpose="voluntary",
                                     jurisdiction="CN", consumption_period="2026")
    world.runtime.sync()
    lots = world.runtime.views.serial_ranges(registry.hubei)
    held = next(lot for lot in lots if lot["holder"] == str(person.id))
    for path, params in (("/explorer/retirements", {}),
                         (f"/explorer/batches/{registry.hubei}", {}),
                         ("/explorer/serials", {"batch": "HBCER-2024-000001",
                                                "serial": held["start"]})):
        html = ok(page(registry, path, **params))
        assert "Zhang San" not in html, path
        assert f"Individual {person.id}" in html, path
        assert registry.holder.name in html or path == "/explorer/serials"
        zh = ok(page(registry, path, ZH, **params), "zh")
        assert "Zhang San" not in zh and f"个人 {person.id}" in zh
    assert "Zhang family" in ok(page(registry, "/explorer/retirements"))
    assert str(retirement) in ok(page(registry, "/explorer/retirements"))


def test_a_batchs_lots_are_paged(registry: Registry, monkeypatch: pytest.MonkeyPatch):
    from api.explorer.pages import batches

    monkeypatch.setattr(batches, "LOTS", 1)
    views = registry.world.runtime.views
    starts = [lot["start"] for lot in views.serial_ranges(registry.hubei)]
    assert len(starts) == 2

    def lots(html: str) -> str:
        return html.split('id="lots"', 1)[1].split('id="corrections"', 1)[0]

    first = lots(ok(page(registry, f"/explorer/batches/{registry.hubei}")))
    assert f"<code>{starts[0]}\u2013" in first and f"<code>{starts[1]}\u2013" not in first
    found = re.search(r'rel="next" href="[^"]*lots_after=(\d+)', first)
    assert found is not None
    second = lots(ok(page(registry, f"/explorer/batches/{registry.hubei}",
                          lots_after=found.group(1))))
    assert f"<code>{starts[1]}\u2013" in second and f"<code>{starts[0]}\u2013" not in second
    assert 'rel="next"' not in second
    bad = page(registry, f"/explorer/batches/{registry.hubei}", lots_after="x")
    assert bad.status_code == 400 and "<h1>Invalid request</h1>" in bad.text


def test_a_batch_shows_its_history_of_moves_paged(registry: Registry,
                                                  monkeypatch: pytest.MonkeyPatch):
    from api.explorer.pages import batches

    world = registry.world
    person = world.register("individual", name="Li Si")
    world.ledger.transfer(actor=registry.holder.id, batch_id=registry.hubei,
                          recipient=person.id, quantity=3 * T)
    world.runtime.sync()
    for headers, language in ((EN, "en"), (ZH, "zh")):
        html = ok(page(registry, f"/explorer/batches/{registry.hubei}", headers), language)
        history = html.split('id="history"', 1)[1]
        if language == "en":
            assert history.index("Issuance") < history.index("Retirement")
            assert history.index("Retirement") < history.index("Transfer")
            assert f"Individual {person.id}</bdi> · Available" in history
        else:
            assert "签发" in history and "注销" in history and "转让" in history
            assert f"个人 {person.id}</bdi> · 可用" in history
        assert "Li Si" not in html
        assert 'title="10,000,000,000 g CO2e">10,000.000000 t' in history  # issued
        assert 'title="3,000,000 g CO2e">3.000000 t' in history  # transferred
        assert f"/explorer/certificates/{registry.retired}?lang={language}" in history

    monkeypatch.setattr(batches, "MOVES", 1)
    kinds, after = [], None
    for _ in range(10):
        html = ok(page(registry, f"/explorer/batches/{registry.hubei}", moves_after=after))
        history = html.split('id="history"', 1)[1]
        kinds += re.findall(r"<td>(Issuance|Retirement|Transfer)</td>", history)
        found = re.search(r'rel="next" href="[^"]*moves_after=([^&"#]+)', history)
        if found is None:
            break
        after = httpx.QueryParams(f"a={found.group(1)}")["a"]
    assert kinds == ["Issuance", "Retirement", "Transfer"]
    bad = page(registry, f"/explorer/batches/{registry.hubei}", ZH, moves_after="1~x")
    assert bad.status_code == 400 and "<h1>请求无效</h1>" in bad.text


def test_a_serial_shows_its_chain_of_custody(registry: Registry):
    world = registry.world
    buyer = world.actors["platform"]
    views = world.runtime.views
    last = int(views.batch(registry.hubei)["serial_start"]) + 10_000 * T - 1
    world.ledger.transfer(actor=registry.holder.id, batch_id=registry.hubei,
                          recipient=buyer.id, quantity=20 * T)
    world.runtime.sync()
    held = next(lot for lot in views.serial_ranges(registry.hubei)
                if lot["holder"] == str(buyer.id))
    inside = ok(page(registry, "/explorer/serials", batch="HBCER-2024-000001",
                     serial=held["start"]))
    custody = inside.split('id="custody"', 1)[1]
    assert re.findall(r"<td>(Issuance|Retirement|Transfer)</td>", custody) == [
        "Issuance", "Transfer"]
    assert buyer.name in custody and registry.holder.name in custody
    never_moved = ok(page(registry, "/explorer/serials", ZH, batch="HBCER-2024-000001",
                          serial=last), "zh")
    assert re.findall(r"<td>(签发|注销|转让)</td>",
                      never_moved.split('id="custody"', 1)[1]) == ["签发"]
