"""Retirement certificates as PDF: bilingual text, exact quantities, the embedded JSON that
verifies byte for byte, the QR code's URL, hostile text, and the HTTP endpoint."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from anchoring.certificate import build_retirement_certificate, verify_certificate
from anchoring.neutrality import build_neutrality_certificate, verify_neutrality_certificate
from anchoring.trust import trust_anchors_of
from api import certificate_pdf
from api.certificate_pdf import (
    certificate_digest,
    embedded_certificate,
    exact_quantity,
    retirement_pdf,
    safe_text,
)
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast

URL = "https://ledger.example/explorer/certificates/"
RETIRE = {"beneficiary": "Shu's Group 蜀集团", "purpose": "compliance_offset",
          "jurisdiction": "Hubei", "consumption_period": "2023",
          "details": {"compliance_period": "2023"}}
# the longest beneficiary the ledger takes (200 characters), markup-like text
HOSTILE = {"beneficiary": "evil</b><script>&amp;" + "长" * 179,
           "purpose": "voluntary", "jurisdiction": "Wuhan", "consumption_period": "2024",
           "details": {"note": "<i>not markup</i>"}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    runtime = LedgerRuntime(Settings(data_dir=tmp_path_factory.mktemp("pdf") / "ledger"))
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast, count=40)
    retirement = ledger.retire(actor=cast.platform, batch_id=batch, quantity=500_001,
                               **RETIRE)
    hostile = ledger.retire(actor=cast.platform, batch_id=batch, quantity=1_000, **HOSTILE)
    # a claim not yet covered (two retirements of three tonnes), and one fully covered
    open_claim = ledger.register_claim(actor=cast.platform, event_name="Wuhan Marathon 武汉马拉松",
                                       footprint_g=3_000_000)
    met_claim = ledger.register_claim(actor=cast.platform, event_name="Forum", footprint_g=700)
    for claim, quantity in ((open_claim, 60_000), (open_claim, 40_001), (met_claim, 700)):
        ledger.retire(actor=cast.platform, batch_id=batch, quantity=quantity,
                      beneficiary="Organiser 组委会", purpose="event_neutrality",
                      jurisdiction="Hubei", consumption_period="2024",
                      details={"event": "Wuhan Marathon", "claim_id": str(claim)})
    runtime.sync()
    runtime.anchoring.anchor_now()
    yield {"runtime": runtime, "retirement": retirement, "hostile": hostile, "cast": cast,
           "batch": batch, "open_claim": open_claim, "met_claim": met_claim}
    runtime.close()


def document(world, retirement_id) -> bytes:
    runtime = world["runtime"]
    cert = build_retirement_certificate(runtime, runtime.anchoring.merkle_log,
                                        runtime.anchoring.anchorer, retirement_id)
    return json.dumps(cert, indent=2, ensure_ascii=False).encode()


def neutrality_document(world, claim_id) -> bytes:
    runtime = world["runtime"]
    cert = build_neutrality_certificate(runtime, runtime.anchoring.merkle_log,
                                        runtime.anchoring.anchorer, claim_id)
    return json.dumps(cert, indent=2, ensure_ascii=False).encode()


def text_of(pdf: bytes) -> str:
    """The PDF's text; pypdf ends a line where the font changes (Latin runs are set in
    Helvetica, Chinese in STSong-Light), so lines are joined."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages
                   ).replace("\n", "")


def test_exact_quantity_uses_integer_arithmetic():
    assert exact_quantity(2_000_500_001) == ("2,000.500001 t CO2e", "2,000,500,001 g CO2e")
    assert exact_quantity(10**21 + 1) == ("1,000,000,000,000,000.000001 t CO2e",
                                          "1,000,000,000,000,000,000,001 g CO2e")
    assert exact_quantity(3_000_000) == ("3 t CO2e", "3,000,000 g CO2e")
    with pytest.raises(TypeError):
        exact_quantity(1.5)  # type: ignore[arg-type]


def test_safe_text_shows_invisible_and_reordering_characters():
    assert safe_text("\u202eabc\u200b\n") == "[U+202E]abc[U+200B][U+000A]"
    assert safe_text("<b>&amp;</b> 蜀") == "<b>&amp;</b> 蜀"


def test_the_pdf_prints_every_field_in_both_languages(world):
    doc = document(world, world["retirement"])
    pdf = retirement_pdf(doc, URL + str(world["retirement"]))
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    cert = json.loads(doc)
    record, anchor = cert["record"], cert["anchor"]
    for expected in ("碳普惠减排量注销证明", "Certificate of Retirement", "注销数量", "Quantity",
                     "0.500001 t CO2e", "500,001 g CO2e", "受益方", "Beneficiary",
                     "Shu's Group 蜀集团", "配额清缴抵销 / Compliance offset", "序列号",
                     "Serial numbers", "批次区块", "Batch block", record["block"],
                     record["registry"], str(record["vintage"]), record["methodology"],
                     record["retirement_id"], "UTC+08:00", "上链存证", "Anchoring evidence",
                     anchor["root"], anchor["transaction"], f"{anchor['tree_size']:,}",
                     certificate_digest(doc), "履约期 Compliance period: 2023"):
        assert expected in text, expected
    start, end = record["serial_ranges"][0]
    assert f"{start}-{end - 1}" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_the_embedded_json_is_the_certificate_byte_for_byte_and_verifies(world):
    doc = document(world, world["retirement"])
    pdf = retirement_pdf(doc, URL)
    assert embedded_certificate(pdf) == doc
    anchoring = world["runtime"].anchoring
    assert verify_certificate(json.loads(embedded_certificate(pdf)), anchoring.chain,
                              trust_anchors_of(anchoring)).ok
    assert retirement_pdf(doc, URL) == pdf  # deterministic: no clock, no random ids


def test_cli_verifies_a_pdf_by_its_embedded_certificate(world, tmp_path, capsys):
    runtime = world["runtime"]
    path = tmp_path / "cert.pdf"
    path.write_bytes(retirement_pdf(document(world, world["retirement"]), URL))
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(trust_anchors_of(runtime.anchoring).to_document()))
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", str(path), "--trust",
            str(trust)]
    assert main(args) == 0
    assert "RESULT: VERIFIED" in capsys.readouterr().out
    bare = tmp_path / "bare.pdf"
    bare.write_bytes(b"%PDF-1.4 not really")
    assert main([*args[:3], str(bare), *args[4:]]) == 2
    assert "cert" in capsys.readouterr().err


def test_the_qr_code_encodes_the_page_url(world, monkeypatch):
    seen: list[str] = []
    original = certificate_pdf.QrCodeWidget

    def spy(value, **kwargs):
        seen.append(value)
        return original(value, **kwargs)

    monkeypatch.setattr(certificate_pdf, "QrCodeWidget", spy)
    url = URL + str(world["retirement"])
    retirement_pdf(document(world, world["retirement"]), url)
    assert seen == [url]


def test_hostile_text_is_shown_not_obeyed_and_stays_on_its_page(world):
    """The ledger refuses bidi controls and invisible characters in new text; the PDF does
    not rely on it (a certificate's text is whatever its events hold)."""
    cert = json.loads(document(world, world["hostile"]))
    cert["record"]["beneficiary"] = "\u202e" + cert["record"]["beneficiary"]
    cert["record"]["details"]["note"] += "\u200b\n"
    doc = json.dumps(cert, ensure_ascii=False).encode()
    pdf = retirement_pdf(doc, URL)
    text = text_of(pdf)
    assert "\u202e" not in text and "[U+202E]evil</b><script>&amp;长长" in text
    assert "<i>not markup</i>[U+200B][U+000A]" in text
    assert "truncated" in text  # 200 wide characters cut to a few lines
    assert embedded_certificate(pdf) == doc  # the full text is kept in the JSON
    assert len(PdfReader(io.BytesIO(pdf)).pages) <= 2
    # every run of text is inside the page; only the caption reaches under the QR code
    runs: list[tuple[str, float, float, float]] = []  # text, left, right, top

    def visit(text, cm, tm, font, size):
        if text.strip():
            left = tm[4] * cm[0] + cm[4]
            right = left + certificate_pdf._width(text.strip(), size * tm[0] * cm[0])
            runs.append((text.strip(), left, right, tm[5] * cm[3] + cm[5] + size))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    width, height = A4
    assert runs and all(left >= 0 and right <= width - 40 and 0 < y < height
                        for _, left, right, y in runs)
    qr_left = width - 48 - certificate_pdf._QR_SIZE
    # the caption's lower line: its baseline and descenders
    qr_bottom = height - 48 - certificate_pdf._QR_SIZE + 6 - 8 - 2
    captions = {certificate_pdf.SCAN.zh, certificate_pdf.SCAN.en}
    under_qr = [text for text, _, right, y in runs
                if y > qr_bottom and right > qr_left and text not in captions]
    assert under_qr == []


def test_wrapped_lines_fit_their_column():
    canvas = Canvas(io.BytesIO(), pagesize=A4)
    page = certificate_pdf._Page(canvas, "")
    certificate_pdf._register_font()
    for text in (HOSTILE["beneficiary"], "x" * 500, "a " * 300, "<" * 300 + "长" * 50):
        lines = list(page.wrap(text, 9.5, 300))
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(certificate_pdf._width(line, 9.5) <= 300 for line in lines)


def test_not_a_retirement_certificate_is_refused():
    with pytest.raises(ValueError):
        retirement_pdf(b'{"kind": "pledge"}', URL)
    with pytest.raises(ValueError, match="no embedded"):
        embedded_certificate(_plain_pdf())


def _plain_pdf() -> bytes:
    out = io.BytesIO()
    Canvas(out).save()
    return out.getvalue()


def test_render_sample(world, tmp_path):
    """Writes the PDF for a look (CARBON_LEDGER_SAMPLE_PDF=path)."""
    import os

    target = os.environ.get("CARBON_LEDGER_SAMPLE_PDF")
    if not target:
        pytest.skip("set CARBON_LEDGER_SAMPLE_PDF to write a sample")
    Path(target).write_bytes(retirement_pdf(document(world, world["retirement"]),
                                            URL + str(world["retirement"])))
    Path(target).with_suffix(".claim.pdf").write_bytes(certificate_pdf.neutrality_pdf(
        neutrality_document(world, world["open_claim"]), URL))
    assert re.search(r"\.pdf$", target)


def test_a_neutrality_pdf_states_the_claim_and_its_retirements(world):
    doc = neutrality_document(world, world["open_claim"])
    cert = json.loads(doc)
    pdf = certificate_pdf.neutrality_pdf(doc, "https://ledger.example/explorer/claims/x")
    text = text_of(pdf)
    for expected in ("碳中和证明", "Certificate of Carbon Neutrality", "尚未完全抵消",
                     "Not yet fully neutralised", "Wuhan Marathon 武汉马拉松", "碳足迹",
                     "Footprint", "3 t CO2e", "3,000,000 g CO2e", "0.100001 t CO2e",
                     "100,001 g CO2e", "2.899999 t CO2e", "计入的注销(2 笔)",
                     "Retirements counted (2)", "0.06 t CO2e (60,000 g CO2e)",
                     "0.040001 t CO2e (40,001 g CO2e)", certificate_digest(doc),
                     *(r["record"]["retirement_id"] for r in cert["retirements"]),
                     *(r["anchor"]["transaction"] for r in cert["retirements"])):
        assert expected in text, expected
    assert "碳足迹已完全抵消" not in text
    assert embedded_certificate(pdf) == doc
    anchoring = world["runtime"].anchoring
    checks = verify_neutrality_certificate(cert, anchoring.chain, trust_anchors_of(anchoring))
    assert [c.name for c in checks if not c.ok] == [] and checks.verdict == "verified"
    met = certificate_pdf.neutrality_pdf(neutrality_document(world, world["met_claim"]), URL)
    assert "碳足迹已完全抵消" in text_of(met) and "Footprint fully neutralised" in text_of(met)


def test_an_altered_neutrality_certificate_is_refused(world):
    anchoring = world["runtime"].anchoring
    trust = trust_anchors_of(anchoring)
    cert = json.loads(neutrality_document(world, world["open_claim"]))
    inflated = {**cert, "claim": {**cert["claim"], "retired_g": 3_000_000, "met": True,
                                  "outstanding_g": 0}}
    assert "claim: retired" in verify_neutrality_certificate(inflated, anchoring.chain,
                                                             trust).failed
    foreign = json.loads(neutrality_document(world, world["met_claim"]))
    borrowed = {**cert, "retirements": [*cert["retirements"], *foreign["retirements"]]}
    failed = verify_neutrality_certificate(borrowed, anchoring.chain, trust).failed
    assert any(name.endswith("counted for the claim") for name in failed)
    assert verify_neutrality_certificate({"format": "x"}).verdict == "refused"


def test_cli_writes_and_verifies_a_neutrality_pdf(world, tmp_path, capsys):
    runtime = world["runtime"]
    data = ["--data-dir", str(runtime.settings.data_dir)]
    path = tmp_path / "claim.pdf"
    assert main([*data, "certificate", "claim", str(world["open_claim"]), "--pdf", "-o",
                 str(path), "--public-url", "https://ledger.example"]) in (0, None)
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(trust_anchors_of(runtime.anchoring).to_document()))
    capsys.readouterr()
    assert main([*data, "verify", str(path), "--trust", str(trust)]) == 0
    assert "RESULT: VERIFIED" in capsys.readouterr().out
    assert main([*data, "certificate", "claim", str(world["open_claim"]), "--pdf",
                 "-o", str(path)]) == 2
    assert "--public-url" in capsys.readouterr().err


@pytest.fixture
def client(world):
    def make(**settings):
        from fastapi.testclient import TestClient

        from api import ApiSettings, create_app

        runtime = world["runtime"]
        app = create_app(ApiSettings(ledger=runtime.settings, **settings), runtime=runtime)
        return TestClient(app)

    return make


def qr_urls(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = certificate_pdf.QrCodeWidget
    monkeypatch.setattr(certificate_pdf, "QrCodeWidget",
                        lambda value, **kw: seen.append(value) or original(value, **kw))
    return seen


def test_the_pdf_endpoint_serves_the_certificate(world, client, monkeypatch):
    seen = qr_urls(monkeypatch)
    retirement = world["retirement"]
    with client(public_base_url="https://ledger.example/cl") as http:
        response = http.get(f"/retirements/{retirement}/certificate.pdf")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            f'inline; filename="retirement-{retirement}.pdf"')
        embedded = json.loads(embedded_certificate(response.content))
        served = http.get(f"/retirements/{retirement}/certificate").json()
    # the same document as the JSON endpoint's (built a moment later; its schema adds the
    # optional behaviour_proof as null)
    assert {**embedded, "generated_at": None} == {
        **{key: value for key, value in served.items() if value is not None},
        "generated_at": None}
    assert seen == [f"https://ledger.example/cl/explorer/certificates/{retirement}"]
    assert "碳普惠减排量注销证明" in text_of(response.content)


def test_without_a_public_base_url_the_qr_code_uses_the_requests(world, client, monkeypatch):
    seen = qr_urls(monkeypatch)
    with client() as http:
        assert http.get(f"/retirements/{world['retirement']}/certificate.pdf").status_code == 200
    assert seen == [f"http://testserver/explorer/certificates/{world['retirement']}"]


def test_the_pdf_endpoint_answers_problems(world, client):
    from uuid import uuid4

    from tests.api.support import assert_problem

    with client() as http:
        assert_problem(http.get(f"/retirements/{uuid4()}/certificate.pdf"), 404,
                       "unknown-record")
        assert http.get("/retirements/not-a-uuid/certificate.pdf").status_code == 422
        runtime = world["runtime"]
        fresh = runtime.ledger.retire(actor=world["cast"].platform, batch_id=world["batch"],
                                      quantity=1, **RETIRE)
        runtime.sync()
        assert_problem(http.get(f"/retirements/{fresh}/certificate.pdf"), 409,
                       "certificate-unavailable")


def test_the_claim_pdf_endpoint(world, client, monkeypatch):
    from uuid import uuid4

    from tests.api.support import assert_problem

    seen = qr_urls(monkeypatch)
    claim = world["met_claim"]
    with client(public_base_url="https://ledger.example") as http:
        response = http.get(f"/claims/{claim}/certificate.pdf")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            f'inline; filename="neutrality-{claim}.pdf"')
        assert json.loads(embedded_certificate(response.content))["claim"]["met"] is True
        assert_problem(http.get(f"/claims/{uuid4()}/certificate.pdf"), 404, "unknown-record")
    assert seen == [f"https://ledger.example/explorer/claims/{claim}"]


def test_public_base_urls_are_checked():
    assert certificate_pdf.public_base_url(" https://a.example/x/ ") == "https://a.example/x"
    for bad in ("ftp://a.example", "https://", "https://a.example/?q=1", "a.example",
                "https://u:p@a.example"):
        with pytest.raises(ValueError):
            certificate_pdf.public_base_url(bad)
