"""Retirement certificates as PDF: a bilingual (中文/English) A4 presentation of the JSON
certificate (:mod:`anchoring.certificate`), with a QR code to the certificate's page and the
JSON itself embedded as a file attachment, so the PDF alone can be verified
(``carbon-ledger verify certificate.pdf`` extracts it).

:func:`retirement_pdf` is a pure function of the certificate's JSON bytes and the page URL:
no I/O, no clock (reportlab's invariant mode: the same input gives the same bytes).

Fonts: Chinese is set in reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1), which is
*referenced, not embedded*: nothing to ship or download, and every PDF reader substitutes a
Song/Ming face it has (Acrobat's Asian font pack, poppler through fontconfig, a browser's
own). The trade-off: the exact glyph shapes depend on the reader, and a reader without any
CJK font shows the Chinese labels as blanks (the English ones, the values and the embedded
JSON remain). Embedding a subset of a TrueType CJK font would pin the shapes but needs a
font file the project ships (Noto CJK is OpenType/CFF, which reportlab cannot embed).

Participant-supplied text (beneficiary, purpose details) is printed as plain text, never
markup: control and format characters (bidirectional overrides, zero-width characters) are
shown as ``[U+XXXX]`` rather than obeyed, and long values are wrapped and cut to a few lines
with a marker, so no value can reorder, hide or push other fields off the page. Glyphs
outside the CJK font (Arabic, emoji) print as the reader's missing-glyph box; the embedded
JSON holds them exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from api.i18n import Text
from api.vocabulary import PURPOSE_FIELDS, PURPOSES
from ledger.domain.retirement import RetirementPurpose
from ledger.domain.timeutil import parse_time
from ledger.domain.vintage import DEFAULT_TIME_ZONE, REGISTRY_TIME_ZONES

__all__ = ["ATTACHMENT_NAME", "TITLES", "certificate_digest", "certificate_page_url",
           "claim_page_url", "embedded_certificate", "exact_quantity", "neutrality_pdf",
           "public_base_url", "retirement_pdf", "safe_text"]

FONT = "STSong-Light"  # Chinese (and any text Helvetica cannot encode)
LATIN = "Helvetica"  # text WinAnsi encodes: one of the PDF standard 14 fonts
ATTACHMENT_NAME = "certificate.json"
TITLES = {"retirement": Text(en="Certificate of Retirement", zh="碳普惠减排量注销证明"),
          "neutrality": Text(en="Certificate of Carbon Neutrality", zh="碳中和证明")}
COVERED = Text(en="Footprint fully neutralised", zh="碳足迹已完全抵消")
NOT_COVERED = Text(en="Not yet fully neutralised", zh="尚未完全抵消")
_QR_SIZE = 104.0
_MAX_LINES = 4  # of one participant-supplied value
_INK = HexColor("#1b2a22")
_MUTED = HexColor("#5b6b62")
_RULE = HexColor("#2e7d4f")
_MARGIN = 48.0
_LABEL_WIDTH = 150.0

LABELS: dict[str, Text] = {
    "retirement_id": Text(en="Retirement ID", zh="注销编号"),
    "quantity": Text(en="Quantity", zh="注销数量"),
    "serial_ranges": Text(en="Serial numbers", zh="序列号"),
    "block": Text(en="Batch block", zh="批次区块"),
    "batch_id": Text(en="Batch ID", zh="批次编号"),
    "registry": Text(en="Registry", zh="登记机构"),
    "vintage": Text(en="Vintage", zh="减排年份"),
    "methodology": Text(en="Methodology", zh="方法学"),
    "region": Text(en="Region", zh="地区"),
    "holder": Text(en="Holder", zh="持有方"),
    "retired_at": Text(en="Retired at", zh="注销时间"),
    "trade_ref": Text(en="Trade reference", zh="交易编号"),
    "anchor": Text(en="Anchoring evidence", zh="上链存证"),
    "root": Text(en="Checkpoint root", zh="检查点根哈希"),
    "tree_size": Text(en="Tree size (events)", zh="树大小(事件数)"),
    "chain": Text(en="Chain ID / registry", zh="链编号 / 登记合约"),
    "transaction": Text(en="Transaction", zh="交易哈希"),
    "block_number": Text(en="Block / checkpoint", zh="区块 / 检查点"),
    "digest": Text(en="Certificate SHA-256", zh="证书 SHA-256 摘要"),
    "details": Text(en="Purpose details", zh="用途说明"),
    "claim_id": Text(en="Claim ID", zh="声明编号"),
    "status": Text(en="Status", zh="状态"),
    "scope": Text(en="Scope", zh="范围"),
    "organiser": Text(en="Organiser", zh="组织方"),
    "footprint_g": Text(en="Footprint", zh="碳足迹"),
    "retired_g": Text(en="Retired for the claim", zh="已注销抵消量"),
    "outstanding_g": Text(en="Outstanding", zh="尚待抵消量"),
    "registered_at": Text(en="Registered at", zh="登记时间"),
}
NOTE = Text(
    en="The machine-readable certificate is attached to this PDF (certificate.json). "
       "Verify it with: carbon-ledger verify <this file> --trust <trust anchors>",
    zh="本PDF附有机器可读证书(certificate.json),可用 carbon-ledger verify 独立验证。")
SCAN = Text(en="Scan to view this certificate online", zh="扫码在线查看本证书")


def public_base_url(url: str) -> str:
    """``url`` checked as a public base URL (``https://host[:port][/prefix]``, no query or
    fragment), without a trailing slash; ``ValueError`` otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"not a public base URL (http(s)://host[/prefix]): {url!r}")
    return url.strip().rstrip("/")


def claim_page_url(base_url: str, claim_id: object) -> str:
    """The explorer's page of a neutrality claim, which its PDF's QR code opens."""
    return f"{base_url.rstrip('/')}/explorer/claims/{quote(str(claim_id), safe='')}"


def certificate_page_url(base_url: str, retirement_id: object) -> str:
    """The explorer's page of a retirement certificate, which the PDF's QR code opens."""
    return f"{base_url.rstrip('/')}/explorer/certificates/{quote(str(retirement_id), safe='')}"


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _latin(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _runs(text: str) -> Iterator[tuple[str, str]]:
    """``(font, run)`` pieces of ``text``: Helvetica where it can encode, else the CJK font."""
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or _latin(text[index]) != _latin(text[start]):
            yield (LATIN if _latin(text[start]) else FONT), text[start:index]
            start = index


def _width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for font, run in _runs(text))


def safe_text(value: object) -> str:
    """``value`` as printable plain text: control and format characters (Unicode Cc, Cf,
    Zl, Zp: bidi overrides, zero-width joiners, line breaks) become a visible ``[U+XXXX]``."""
    out = []
    for char in str(value):
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}:
            out.append(f"[U+{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def exact_quantity(grams: int) -> tuple[str, str]:
    """``(tonnes, grams)``: ``2000500001`` -> ``("2,000.500001 t CO2e", "2,000,500,001 g
    CO2e")``; integer arithmetic, no digit rounded away."""
    if isinstance(grams, bool) or not isinstance(grams, int):
        raise TypeError(f"quantity must be an integer number of grams, got {grams!r}")
    sign = "-" if grams < 0 else ""
    whole, rest = divmod(abs(grams), 1_000_000)
    fraction = f"{rest:06d}".rstrip("0")
    tonnes = f"{sign}{whole:,}{'.' + fraction if fraction else ''} t CO2e"
    return tonnes, f"{grams:,} g CO2e"


def certificate_digest(document: bytes) -> str:
    """The SHA-256 of the certificate's JSON bytes, as embedded."""
    return hashlib.sha256(document).hexdigest()


def _serials(ranges: object) -> str:
    """Half-open ``[start, end)`` ranges shown inclusive, ``start-last``."""
    if not isinstance(ranges, list):
        return safe_text(ranges)
    shown = []
    for item in ranges:
        try:
            start, end = item
            shown.append(f"{safe_text(start)}-{int(end) - 1}")
        except (TypeError, ValueError):
            shown.append(safe_text(item))
    return ", ".join(shown)


def _times(value: object, registry: str) -> list[str]:
    """UTC and the registry's local time (see :mod:`ledger.domain.vintage`)."""
    try:
        when = parse_time(str(value), "retired_at")
    except Exception:  # a malformed time is printed as given, never fatal
        return [safe_text(value)]
    zone = REGISTRY_TIME_ZONES.get(registry, DEFAULT_TIME_ZONE)
    local = when.astimezone(zone)
    return [f"{when:%Y-%m-%d %H:%M:%S} UTC",
            f"{local:%Y-%m-%d %H:%M:%S} {_zone_name(local)} (registry local time / 登记地时间)"]


def _zone_name(local: datetime) -> str:
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _purpose(record: dict[str, Any]) -> list[str]:
    raw = record.get("purpose")
    try:
        text = PURPOSES[RetirementPurpose(raw)]
        return [f"{text.zh} / {text.en}"]
    except ValueError:
        return [safe_text(raw)]


def _details(record: dict[str, Any]) -> list[str]:
    details = record.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return [safe_text(details)] if details else []
    if not isinstance(details, dict):
        return []
    lines = []
    for key, value in details.items():
        if key == "kind" or value in (None, ""):
            continue
        label = PURPOSE_FIELDS.get(key)
        name = f"{label.zh} {label.en}" if label else safe_text(key)
        lines.append(f"{name}: {safe_text(value)}")
    return lines


class _Page:
    """A canvas with a cursor: labelled rows, wrapped values, page breaks."""

    def __init__(self, canvas: Canvas, footer: str) -> None:
        self.canvas = canvas
        self.width, self.height = A4
        self.y = self.height - _MARGIN
        self.footer = footer

    def wrap(self, text: str, size: float, width: float) -> Iterator[str]:
        line = ""
        for char in text:
            if _width(line + char, size) > width:
                # break at the last space when there is one in the second half of the line
                cut = line.rfind(" ")
                if cut > len(line) // 2:
                    yield line[:cut]
                    line = line[cut + 1:]
                else:
                    yield line
                    line = ""
            line += char
        yield line

    def text(self, x: float, text: str, size: float, color: Color = _INK) -> None:
        self.canvas.setFillColor(color)
        for font, run in _runs(text):
            self.canvas.setFont(font, size)
            self.canvas.drawString(x, self.y, run)
            x += pdfmetrics.stringWidth(run, font, size)

    def need(self, height: float) -> None:
        if self.y - height < _MARGIN + 24:
            self.finish_page()
            self.canvas.showPage()
            self.y = self.height - _MARGIN

    def finish_page(self) -> None:
        self.canvas.setFont(LATIN, 6.5)
        self.canvas.setFillColor(_MUTED)
        self.canvas.drawString(_MARGIN, _MARGIN - 16, self.footer)
        self.canvas.drawRightString(self.width - _MARGIN, _MARGIN - 16,
                                    f"{self.canvas.getPageNumber()}")

    def row(self, label: Text, values: Sequence[str], size: float = 9.5,
            max_lines: int = _MAX_LINES, right: float = 0.0) -> None:
        """A labelled field: Chinese label over English label, values to the right."""
        width = self.width - 2 * _MARGIN - _LABEL_WIDTH - right
        lines: list[str] = []
        for value in values or ["—"]:
            lines.extend(self.wrap(safe_text(value), size, width))
        if len(lines) > max_lines:
            lines = [*lines[: max_lines - 1], "… (truncated; full text in certificate.json / "
                     "全文见附件)"]
        leading = size + 2.5
        self.need(max(2, len(lines)) * leading + 3)
        top = self.y
        self.text(_MARGIN, label.zh, 8.5)
        self.y -= 9.5
        self.text(_MARGIN, label.en, 6.5, _MUTED)
        self.y = top
        for line in lines:
            self.text(_MARGIN + _LABEL_WIDTH, line, size)
            self.y -= leading
        self.y = min(self.y, top - 19) - 5

    def below_qr(self) -> None:
        """Move the cursor below the QR code and its caption (full-width rows follow)."""
        self.y = min(self.y, self.height - _MARGIN - _QR_SIZE - 18)

    def heading(self, label: Text) -> None:
        self.need(40)
        self.y -= 6
        self.canvas.setStrokeColor(_RULE)
        self.canvas.setLineWidth(0.6)
        self.canvas.line(_MARGIN, self.y + 12, self.width - _MARGIN, self.y + 12)
        self.text(_MARGIN, f"{label.zh}  {label.en}", 11, _RULE)
        self.y -= 20


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0,
                                             size / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def _begin(cert: dict[str, Any], document: bytes, title: Text, subject_id: object,
           page_url: str) -> tuple[io.BytesIO, _Page]:
    """A canvas with the title block and the QR code; the cursor below the title."""
    _register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"{title.zh} / {title.en} {subject_id}")
    canvas.setSubject(str(cert.get("format", "")))
    canvas.setCreator("carbon-ledger")
    page = _Page(canvas, f"carbon-ledger | {cert.get('format', '')} | SHA-256 "
                         f"{certificate_digest(document)}")
    page.text(_MARGIN, title.zh, 22)
    page.y -= 22
    page.text(_MARGIN, title.en, 14, _MUTED)
    _qr(canvas, page_url, page.width - _MARGIN - _QR_SIZE,
        page.height - _MARGIN - _QR_SIZE + 14, _QR_SIZE)
    caption_y = page.height - _MARGIN - _QR_SIZE + 6
    for offset, (font, caption) in enumerate(((FONT, SCAN.zh), (LATIN, SCAN.en))):
        canvas.setFont(font, 6.5)
        canvas.setFillColor(_MUTED)
        canvas.drawCentredString(page.width - _MARGIN - _QR_SIZE / 2, caption_y - 8 * offset,
                                 caption)
    page.y -= 34
    return buffer, page


def _end(buffer: io.BytesIO, page: _Page, document: bytes) -> bytes:
    """The digest, the verification note, the footer; the JSON attached."""
    page.row(LABELS["digest"], [certificate_digest(document)], size=8)
    page.need(40)
    page.y -= 6
    for note in (NOTE.zh, NOTE.en):
        for line in page.wrap(note, 7.5, page.width - 2 * _MARGIN):
            page.text(_MARGIN, line, 7.5, _MUTED)
            page.y -= 10
    page.finish_page()
    page.canvas.save()
    return _attach(buffer.getvalue(), document)


def _anchor_rows(page: _Page, anchor: dict[str, Any]) -> None:
    page.row(LABELS["root"], [str(anchor.get("root", ""))], size=8)
    page.row(LABELS["tree_size"], [f"{int(anchor.get('tree_size', 0)):,}"], size=8)
    page.row(LABELS["chain"], [f"{anchor.get('chain_id', '')} / "
                               f"{anchor.get('contract_address', '')}"], size=8)
    page.row(LABELS["transaction"], [str(anchor.get("transaction", ""))], size=8)
    page.row(LABELS["block_number"], [f"{anchor.get('block_number', '')} / "
                                      f"{anchor.get('checkpoint_index', '')}"], size=8)


def retirement_pdf(document: bytes, page_url: str) -> bytes:
    """The PDF of a retirement certificate whose JSON is ``document`` (embedded as is), with a
    QR code opening ``page_url``. Raises ``ValueError`` for a document that is not a
    retirement certificate."""
    cert = json.loads(document)
    if not isinstance(cert, dict) or cert.get("kind") != "retirement":
        raise ValueError("not a retirement certificate")
    record, anchor = cert["record"], cert["anchor"]
    buffer, page = _begin(cert, document, TITLES["retirement"],
                          record.get("retirement_id", ""), page_url)
    beside_qr = _QR_SIZE + 12
    tonnes, grams = exact_quantity(int(record["quantity_g"]))
    registry = str(record.get("registry", ""))
    page.row(LABELS["retirement_id"], [str(record.get("retirement_id", ""))], right=beside_qr)
    page.row(LABELS["quantity"], [tonnes, grams], size=11, right=beside_qr)
    page.below_qr()
    page.row(PURPOSE_FIELDS["beneficiary"], [str(record.get("beneficiary", ""))])
    page.row(PURPOSE_FIELDS["purpose"], _purpose(record))
    details = _details(record)
    if details:
        page.row(LABELS["details"], details, max_lines=6)
    for key in ("jurisdiction", "consumption_period"):
        if record.get(key):
            page.row(PURPOSE_FIELDS[key], [str(record[key])])
    page.row(LABELS["retired_at"], _times(record.get("retired_at"), registry))
    page.row(LABELS["serial_ranges"], [_serials(record.get("serial_ranges"))], max_lines=6)
    page.row(LABELS["block"], [str(record.get("block", ""))])
    page.row(LABELS["batch_id"], [str(record.get("batch_id", ""))])
    page.row(LABELS["registry"], [registry])
    page.row(LABELS["vintage"], [str(record.get("vintage", ""))])
    page.row(LABELS["methodology"], [str(record.get("methodology", ""))])
    page.row(LABELS["region"], [str(record.get("region", ""))])
    page.row(LABELS["holder"], [str(record.get("holder", ""))])
    if record.get("trade_ref"):
        page.row(LABELS["trade_ref"], [str(record["trade_ref"])])

    page.heading(LABELS["anchor"])
    _anchor_rows(page, anchor)
    return _end(buffer, page, document)


def neutrality_pdf(document: bytes, page_url: str) -> bytes:
    """The PDF of a neutrality certificate (:mod:`anchoring.neutrality`) whose JSON is
    ``document`` (embedded as is): the claim, whether its footprint is covered, and each
    retirement counted with its anchoring. ``ValueError`` for another document."""
    cert = json.loads(document)
    if not isinstance(cert, dict) or cert.get("kind") != "neutrality":
        raise ValueError("not a neutrality certificate")
    claim = cert["claim"]
    buffer, page = _begin(cert, document, TITLES["neutrality"], claim.get("claim_id", ""),
                          page_url)
    right = _QR_SIZE + 12
    page.row(LABELS["claim_id"], [str(claim.get("claim_id", ""))], right=right)
    page.row(PURPOSE_FIELDS["event"], [str(claim.get("event_name", ""))], right=right)
    page.below_qr()
    met = bool(claim.get("met"))
    status = COVERED if met else NOT_COVERED
    page.row(LABELS["status"], [f"{status.zh} / {status.en}"], size=11)
    page.row(LABELS["scope"], [str(claim.get("scope", ""))])
    page.row(LABELS["organiser"], [str(claim.get("organiser", ""))])
    for key in ("footprint_g", "retired_g", "outstanding_g"):
        page.row(LABELS[key], list(exact_quantity(int(claim[key]))))
    page.row(LABELS["registered_at"], _times(claim.get("registered_at"), ""))
    retirements = cert.get("retirements") or []
    page.heading(Text(en=f"Retirements counted ({len(retirements)})",
                      zh=f"计入的注销({len(retirements)} 笔)"))
    for number, retirement in enumerate(retirements, 1):
        record, anchor = retirement["record"], retirement["anchor"]
        tonnes, grams = exact_quantity(int(record["quantity_g"]))
        registry = str(record.get("registry", ""))
        page.row(Text(en=f"Retirement {number}", zh=f"注销 {number}"), [
            str(record.get("retirement_id", "")),
            f"{tonnes} ({grams})",
            f"{record.get('registry', '')} {record.get('block', '')}, "
            f"{record.get('vintage', '')}, {record.get('methodology', '')}",
            f"{LABELS['serial_ranges'].zh} / {LABELS['serial_ranges'].en}: "
            f"{_serials(record.get('serial_ranges'))}",
            f"{PURPOSE_FIELDS['beneficiary'].zh} / {PURPOSE_FIELDS['beneficiary'].en}: "
            f"{safe_text(record.get('beneficiary', ''))}",
            *_times(record.get("retired_at"), registry)[:1],
            f"{LABELS['transaction'].en} {anchor.get('transaction', '')}, "
            f"block {anchor.get('block_number', '')}, chain {anchor.get('chain_id', '')}",
            f"{LABELS['root'].en} {anchor.get('root', '')}",
        ], size=7.5, max_lines=12)
    return _end(buffer, page, document)


def _attach(pdf: bytes, document: bytes) -> bytes:
    """Embed the certificate JSON as a file attachment (the catalog's EmbeddedFiles)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(ATTACHMENT_NAME, document)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def embedded_certificate(pdf: bytes) -> bytes:
    """The certificate JSON embedded in a PDF made by :func:`retirement_pdf`; ``ValueError``
    when the PDF has none."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
    except (PdfReadError, OSError, ValueError) as error:
        raise ValueError(f"not a readable PDF: {error}") from None
    found = attachments.get(ATTACHMENT_NAME)
    if not found:
        raise ValueError(f"the PDF has no embedded {ATTACHMENT_NAME}")
    return found[0]
