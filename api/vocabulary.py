"""The ledger's vocabulary in Chinese and English: retirement purposes, lot states, purpose
fields, participant kinds. One catalog for pages, certificates (PDF) and exports.

Each mapping is keyed by the domain's own enum, so a purpose or state added to the domain
without a translation fails :func:`tests.api.test_vocabulary` instead of showing a blank.
"""

from __future__ import annotations

from api.i18n import Text
from ledger.domain.credit_batch import LotState
from ledger.domain.participant import ParticipantKind
from ledger.domain.retirement import RetirementPurpose

__all__ = ["MOVES", "PARTICIPANT_KINDS", "PURPOSES", "PURPOSE_FIELDS", "STATES"]

PURPOSES: dict[RetirementPurpose, Text] = {
    RetirementPurpose.COMPLIANCE_OFFSET: Text(en="Compliance offset", zh="配额清缴抵销"),
    RetirementPurpose.EVENT_NEUTRALITY: Text(en="Event carbon neutrality", zh="大型活动碳中和"),
    RetirementPurpose.OPERATIONAL_NEUTRALITY: Text(en="Operational carbon neutrality",
                                                   zh="企业运营碳中和"),
    RetirementPurpose.PRODUCT_NEUTRALITY: Text(en="Product carbon neutrality", zh="产品碳中和"),
    RetirementPurpose.ECO_COMPENSATION: Text(en="Ecological compensation", zh="以碳代偿"),
    RetirementPurpose.DONATION: Text(en="Donation", zh="碳捐赠"),
    RetirementPurpose.VOLUNTARY: Text(en="Voluntary retirement", zh="自愿注销"),
}

PURPOSE_FIELDS: dict[str, Text] = {
    "beneficiary": Text(en="Beneficiary", zh="受益方"),
    "purpose": Text(en="Purpose", zh="用途"),
    "jurisdiction": Text(en="Jurisdiction", zh="适用地区"),
    "consumption_period": Text(en="Consumption period", zh="消费期间"),
    "compliance_period": Text(en="Compliance period", zh="履约期"),
    "event": Text(en="Event", zh="活动"),
    "subject": Text(en="Subject", zh="主体"),
    "product": Text(en="Product", zh="产品"),
    "case_reference": Text(en="Case reference", zh="案件编号"),
    "recipient": Text(en="Recipient", zh="受赠方"),
    "note": Text(en="Note", zh="备注"),
    "claim_id": Text(en="Neutrality claim", zh="碳中和声明"),
    "footprint_g": Text(en="Footprint (g CO2e)", zh="碳足迹 (克二氧化碳当量)"),
}

STATES: dict[LotState, Text] = {
    LotState.AVAILABLE: Text(en="Available", zh="可用"),
    LotState.ESCROWED: Text(en="Escrowed", zh="挂牌冻结"),
    LotState.PLEDGED: Text(en="Pledged", zh="质押"),
    LotState.RETIRED: Text(en="Retired", zh="已注销"),
    LotState.TOKENISED: Text(en="Tokenised", zh="已通证化"),
    LotState.EXPORTED: Text(en="Exported", zh="已转出"),
    LotState.CANCELLED: Text(en="Cancelled", zh="已作废"),
}

PARTICIPANT_KINDS: dict[ParticipantKind, Text] = {
    ParticipantKind.INDIVIDUAL: Text(en="Individual", zh="个人"),
    ParticipantKind.PLATFORM: Text(en="Platform", zh="平台"),
    ParticipantKind.ENTERPRISE: Text(en="Enterprise", zh="企业"),
    ParticipantKind.EXCHANGE: Text(en="Exchange", zh="交易所"),
    ParticipantKind.BANK: Text(en="Bank", zh="银行"),
    ParticipantKind.VERIFIER: Text(en="Verifier", zh="核证机构"),
    ParticipantKind.REGISTRY_OPERATOR: Text(en="Registry operator", zh="登记机构"),
    ParticipantKind.AUDITOR: Text(en="Auditor", zh="审计方"),
}

MOVES: dict[str, Text] = {
    # keyed by the kinds of ledger.projections.moves.KINDS
    "issuance": Text(en="Issuance", zh="签发"),
    "import": Text(en="Import", zh="转入"),
    "transfer": Text(en="Transfer", zh="转让"),
    "escrow": Text(en="Listed (escrowed)", zh="挂牌冻结"),
    "listing_cancellation": Text(en="Listing cancelled", zh="撤销挂牌"),
    "settlement": Text(en="Trade settled", zh="交易结算"),
    "pledge": Text(en="Pledge", zh="质押"),
    "pledge_release": Text(en="Pledge released", zh="解除质押"),
    "pledge_enforcement": Text(en="Pledge enforced", zh="质权实现"),
    "retirement": Text(en="Retirement", zh="注销"),
    "token_lock": Text(en="Locked for tokens", zh="锁定以通证化"),
    "token_mint": Text(en="Tokens minted", zh="铸造通证"),
    "token_unlock": Text(en="Tokens unlocked", zh="通证解锁"),
    "token_retirement": Text(en="Tokens retired", zh="通证注销"),
    "export": Text(en="Export", zh="转出"),
    "cancellation": Text(en="Cancellation", zh="作废"),
}
