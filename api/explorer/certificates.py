# Chinese texts use full-width punctuation, as Chinese is written.
# ruff: noqa: RUF001
"""Certificate pages: a retirement's certificate, verified in the reader's browser.

``/explorer/certificates/{retirement_id}`` prints the retirement certificate's fields in the
reader's language and runs, in the browser (``static/verify.js``, no build step, no CDN),
every check ``carbon-ledger verify`` runs: leaf bytes and hashes, RFC 9162 inclusion proofs,
the printed fields bound to the proven events, and the anchor read from the chain over
JSON-RPC. Where to verify is the reader's choice, never the certificate's: the trust anchors
default to this ledger's ``GET /trust-anchors`` and the JSON-RPC URL to this ledger's
read-only ``POST /explorer/chain/rpc`` (:mod:`api.explorer.chain_rpc`); both are editable on
the page.

``/explorer/certificates`` verifies a certificate file (pasted or uploaded): a retirement
certificate, or a pledge certificate its parties downloaded with their key
(``GET /pledges/{id}/certificate``). The file never leaves the browser.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from anchoring.certificate import CertificateError, build_retirement_certificate
from anchoring.trust import trust_anchors_of
from api.deps import RuntimeDep
from api.explorer.layout import language_of, render
from api.i18n import Language, Text
from api.vocabulary import PURPOSE_FIELDS, PURPOSES
from ledger.domain.quantities import format_grams
from ledger.domain.retirement import RetirementPurpose

__all__ = ["FIELD_LABELS", "router"]

router = APIRouter()

TITLE = Text(en="Retirement certificate", zh="注销证明")
FILE_TITLE = Text(en="Verify a certificate", zh="验证证明文件")
RPC_PATH = "/explorer/chain/rpc"

FIELD_LABELS: dict[str, Text] = {
    "retirement_id": Text(en="Retirement", zh="注销编号"),
    "pledge_id": Text(en="Pledge", zh="质押编号"),
    "batch_id": Text(en="Batch id", zh="批次标识"),
    "block": Text(en="Batch", zh="批次"),
    "registry": Text(en="Registry", zh="登记机构"),
    "vintage": Text(en="Vintage", zh="年份"),
    "methodology": Text(en="Methodology", zh="方法学"),
    "region": Text(en="Region", zh="地区"),
    "holder": Text(en="Holder", zh="持有方"),
    "bank": Text(en="Bank", zh="质权银行"),
    "loan_reference": Text(en="Loan reference", zh="贷款编号"),
    "status": Text(en="Status", zh="状态"),
    "quantity_g": Text(en="Quantity", zh="数量"),
    "serial_ranges": Text(en="Serial numbers", zh="序列号"),
    "details": Text(en="Purpose details", zh="用途说明"),
    "retired_at": Text(en="Retired at", zh="注销时间"),
    "pledged_at": Text(en="Pledged at", zh="质押时间"),
    "trade_ref": Text(en="Trade", zh="交易编号"),
    **PURPOSE_FIELDS,
}
"""Names of a certificate's record fields (the page's and the file verifier's)."""

UI: dict[str, Text] = {
    "verification": Text(en="Verification in your browser", zh="在您的浏览器中验证"),
    "trust": Text(en="Trust anchors (what you trust: chain, registry, anchorer accounts)",
                  zh="信任锚（您信任的链、登记合约与锚定账户）"),
    "rpc": Text(en="JSON-RPC URL of the chain", zh="链的 JSON-RPC 地址"),
    "verify": Text(en="Verify", zh="验证"),
    "check": Text(en="Check", zh="检查项"),
    "result": Text(en="Result", zh="结果"),
    "detail": Text(en="Detail", zh="说明"),
    "field": Text(en="Field", zh="字段"),
    "value": Text(en="Value", zh="内容"),
    "bound": Text(en="Proven by", zh="证明来源"),
    "download": Text(en="Download the certificate (JSON)", zh="下载证明文件 (JSON)"),
    "running": Text(en="Verifying…", zh="验证中…"),
    "PASS": Text(en="PASS", zh="通过"),
    "FAIL": Text(en="FAIL", zh="未通过"),
    "NOT CHECKED": Text(en="NOT CHECKED", zh="未检查"),
    "verified": Text(en="VERIFIED: every check passed, against the trusted registry on chain.",
                     zh="已验证：全部检查通过，并已与链上受信任的登记合约核对。"),
    "refused": Text(en="REFUSED: a check failed. Do not rely on this certificate.",
                    zh="验证失败：有检查未通过，请勿采信此证明。"),
    "not-verified-against-a-chain": Text(
        en="NOT VERIFIED AGAINST A CHAIN: the offline checks passed, but the anchor was not "
           "confirmed on chain; the fields are not proven.",
        zh="未与链核对：离线检查通过，但未能在链上确认锚定，字段未获证明。"),
    "field-verified": Text(en="verified", zh="已验证"),
    "field-unverified": Text(en="unverified", zh="未验证"),
    "field-mismatch": Text(en="MISMATCH", zh="不符"),
    "paste": Text(en="Paste a certificate (JSON)", zh="粘贴证明文件 (JSON)"),
    "upload": Text(en="or choose a file", zh="或选择文件"),
    "bad-json": Text(en="This is not JSON.", zh="这不是 JSON。"),
    "bad-trust": Text(en="The trust anchors are not valid JSON: verifying without them.",
                      zh="信任锚不是有效的 JSON：将不使用信任锚进行验证。"),
    "notes": Text(en="Notes", zh="注意"),
    "file-link": FILE_TITLE,
    "file-intro": Text(
        en="Verify any retirement or pledge certificate. It is checked in this page and sent "
           "nowhere. Parties to a pledge download its certificate from the API with their key "
           "(GET /pledges/{id}/certificate).",
        zh="可验证任何注销或质押证明。文件只在本页中核验，不会上传。质押的当事方可用其密钥从 "
           "API 下载质押证明（GET /pledges/{id}/certificate）。"),
    "rpc-help": Text(
        en="The default is this server's read-only view of its chain; for an independent "
           "check, use a node of your own. Leave empty to check offline only.",
        zh="默认为本服务器对其所用链的只读接口；如需独立核验，请使用您自己的节点。留空则仅做离线检查。"),
}


def _purpose(value: Any, language: Language) -> str:
    try:
        return PURPOSES[RetirementPurpose(value)](language)
    except (ValueError, KeyError):
        return str(value)


def _shown(name: str, value: Any, language: Language) -> str:
    """A record field as people read it (the JSON value stays in the certificate)."""
    if value is None or value == "":
        return "—"
    if name.endswith("_g") and isinstance(value, int) and not isinstance(value, bool):
        return format_grams(value)
    if name == "purpose":
        return _purpose(value, language)
    if name == "serial_ranges" and isinstance(value, list):
        try:
            return ", ".join(f"{int(a):,}–{int(b) - 1:,}" for a, b in value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def printed_fields(record: dict[str, Any], language: Language) -> list[dict[str, Any]]:
    """The record's fields with their labels and shown values; ``details`` become rows."""
    rows = []
    for name, value in record.items():
        label = FIELD_LABELS.get(name)
        shown = _shown(name, value, language)
        if name == "details" and isinstance(value, dict):
            shown = "; ".join(
                f"{FIELD_LABELS[k](language) if k in FIELD_LABELS else k}: "
                f"{format_grams(v) if k.endswith('_g') and isinstance(v, int) else v}"
                for k, v in value.items()) or "—"
        rows.append({"name": name, "label": label(language) if label else name,
                     "value": shown})
    return rows


def _ui(language: Language) -> dict[str, str]:
    texts = {key: text(language) for key, text in UI.items()}
    texts.update({f"label:{name}": text(language) for name, text in FIELD_LABELS.items()})
    texts.update({f"purpose:{purpose.value}": text(language)
                  for purpose, text in PURPOSES.items()})
    return texts


def _trust_document(runtime: Any) -> dict[str, Any] | None:
    anchoring = getattr(runtime, "anchoring", None)
    if anchoring is None:
        return None
    return trust_anchors_of(anchoring).to_document()


@router.get("/explorer/certificates/{retirement_id}", response_class=HTMLResponse)
def retirement_certificate_page(request: Request, retirement_id: UUID,
                                runtime: RuntimeDep) -> HTMLResponse:
    """The retirement's certificate, verified in the browser."""
    language = language_of(request)
    context: dict[str, Any] = {"ui": _ui(language), "rpc_url": RPC_PATH,
                               "trust": _trust_document(runtime), "certificate": None,
                               "fields": [], "retirement_id": str(retirement_id)}
    if runtime.views.retirement(retirement_id) is None:
        return render(request, "certificate.html", TITLE, status_code=404,
                      error=Text(en=f"There is no retirement {retirement_id}.",
                                 zh=f"没有注销记录 {retirement_id}。")(language), **context)
    anchoring = runtime.anchoring
    try:
        cert = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                            retirement_id)
    except CertificateError as error:
        return render(request, "certificate.html", TITLE, status_code=409,
                      error=Text(en=f"No certificate yet: {error}",
                                 zh=f"暂无证明：该注销尚未进入已确认的链上锚定检查点（{error}）。"
                                 )(language), **context)
    context.update(certificate=cert, fields=printed_fields(cert["record"], language))
    return render(request, "certificate.html", TITLE, **context)


@router.get("/explorer/certificates", response_class=HTMLResponse)
def certificate_file_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Verify a certificate file (retirement or pledge), pasted or uploaded."""
    return render(request, "certificate_file.html", FILE_TITLE, ui=_ui(language_of(request)),
                  rpc_url=RPC_PATH, trust=_trust_document(runtime))
