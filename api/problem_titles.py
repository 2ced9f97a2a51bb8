"""Titles of problems in Chinese and English, by stable problem code.

``title`` is the only part of a problem that follows the request's ``Accept-Language``
(:func:`api.i18n.negotiate`): ``type`` and ``code`` are stable English identifiers for
programs, and ``detail`` stays English because it carries the offending values (amounts,
ids) in the words the logs and support use.

Every code the API can answer with has a Chinese title here: the codes of the error classes
(``LedgerError`` and its subclasses in ``ledger``, ``api`` and ``anchoring``), the codes
made of HTTP status phrases (``not-found``, ``method-not-allowed``, ...) and
``internal-error``. ``tests/api/test_problem_titles.py`` enumerates them all.
"""

from __future__ import annotations

from api.i18n import Language

__all__ = ["ZH_TITLES", "title_of"]

_ACRONYMS = {"api": "API", "http": "HTTP", "uri": "URI", "im": "I'm"}

ZH_TITLES: dict[str, str] = {
    # ledger.domain.errors and ledger
    "ledger-error": "账本错误",
    "validation-error": "校验失败",
    "activity-above-maximum": "活动量超过上限",
    "not-found": "未找到",
    "unknown-participant": "未知参与方",
    "unknown-methodology": "未知方法学",
    "unknown-batch": "未知批次",
    "unknown-record": "未知记录",
    "forbidden": "禁止访问",
    "consent-required": "需要授权同意",
    "conflict": "与账本状态冲突",
    "insufficient-balance": "余额不足",
    "duplicate-behaviour": "重复的行为数据",
    "duplicate-record": "重复的记录",
    "overlapping-import": "导入的序列号区间重叠",
    "period-closed": "期间已关闭",
    "invalid-state": "状态不允许此操作",
    "trade-conflict": "交易冲突",
    "limit-exceeded": "超出限额",
    "concurrency-conflict": "并发冲突",
    "duplicate-request": "重复的请求",
    "invariant-violation": "违反账本不变量",
    "projection-stuck": "读模型停滞",
    # api.errors
    "unauthenticated": "未认证",
    "invalid-api-key": "API 密钥无效",
    "signature-required": "需要请求签名",
    "invalid-signature": "请求签名无效",
    "signature-unbound": "签名未绑定幂等键",
    "stale-signature": "请求签名已过期",
    "participant-suspended": "参与方已被暂停",
    "invalid-cursor": "分页游标无效",
    "idempotency-key-reused": "幂等键已用于其他请求",
    "request-incomplete": "请求尚未完成",
    "json-too-deep": "JSON 嵌套过深",
    "request-too-large": "请求体过大",
    "database-unavailable": "数据库暂不可用",
    "internal-error": "内部错误",
    # anchoring
    "rogue-checkpoint": "链上出现未知检查点",
    "monitor-unavailable": "监控暂不可用",
    "tokens-not-configured": "未配置通证化",
    "lock-not-provable": "锁定尚无法证明",
    "token-contract-rejected": "通证合约拒绝",
    "bridge-failed": "跨链桥操作失败",
    "certificate-unavailable": "证书暂不可用",
    "tree-size-out-of-range": "树大小超出范围",
    "nothing-anchored": "尚无锚定",
    "unknown-event": "未知事件",
    "log-mismatch": "日志与锚定不一致",
    "chain-unavailable": "区块链暂不可用",
    "invalid-trust-anchors": "信任锚无效",
    "registry-mismatch": "注册表不一致",
    "invalid-note": "签名检查点无效",
    "invalid-tile-path": "瓦片路径无效",
    "unknown-tile": "未知瓦片",
    "entry-too-large": "日志条目过大",
    # HTTP status phrases (api.problems answers other HTTP errors with their phrase as code)
    "bad-request": "错误的请求",
    "unauthorized": "未授权",
    "payment-required": "需要付款",
    "method-not-allowed": "不允许的方法",
    "not-acceptable": "无法提供可接受的表示",
    "proxy-authentication-required": "需要代理认证",
    "request-timeout": "请求超时",
    "gone": "已不存在",
    "length-required": "需要内容长度",
    "precondition-failed": "前提条件不满足",
    "request-entity-too-large": "请求体过大",
    "content-too-large": "请求体过大",
    "request-uri-too-long": "URI 过长",
    "uri-too-long": "URI 过长",
    "unsupported-media-type": "不支持的媒体类型",
    "requested-range-not-satisfiable": "请求范围无法满足",
    "range-not-satisfiable": "请求范围无法满足",
    "expectation-failed": "预期无法满足",
    "im-a-teapot": "我是茶壶",
    "misdirected-request": "请求被误导",
    "unprocessable-entity": "无法处理的内容",
    "unprocessable-content": "无法处理的内容",
    "locked": "已锁定",
    "failed-dependency": "依赖失败",
    "too-early": "为时过早",
    "upgrade-required": "需要升级协议",
    "precondition-required": "需要前提条件",
    "too-many-requests": "请求过多",
    "request-header-fields-too-large": "请求头过大",
    "unavailable-for-legal-reasons": "因法律原因不可用",
    "internal-server-error": "服务器内部错误",
    "not-implemented": "未实现",
    "bad-gateway": "网关错误",
    "service-unavailable": "服务不可用",
    "gateway-timeout": "网关超时",
    "http-version-not-supported": "不支持的 HTTP 版本",
    "variant-also-negotiates": "变体也在协商",
    "insufficient-storage": "存储空间不足",
    "loop-detected": "检测到循环",
    "not-extended": "未扩展",
    "network-authentication-required": "需要网络认证",
}


def english_title(code: str) -> str:
    """``insufficient-balance`` -> ``Insufficient balance``; ``invalid-api-key`` ->
    ``Invalid API key``."""
    words = [_ACRONYMS.get(word, word) for word in code.split("-")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def title_of(code: str, language: Language) -> str:
    """The title of problems of ``code`` in ``language``; English for a code without a
    Chinese title (the test of this catalog keeps there being none)."""
    if language == "zh" and code in ZH_TITLES:
        return ZH_TITLES[code]
    return english_title(code)
