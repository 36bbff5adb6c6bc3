"""The traceability pages in English and Chinese: one catalog, the language picked per request."""
from __future__ import annotations

from flask import request

LANGUAGES = ("en", "zh")

CATALOG: dict[str, dict[str, str]] = {
    "genuine": {"en": "Genuine", "zh": "正品"},
    "unknown": {"en": "Unknown code", "zh": "未知编码"},
    "recalled": {"en": "Recalled", "zh": "已召回"},
    "expired": {"en": "Expired", "zh": "已过期"},
    "sold": {"en": "Already sold", "zh": "已售出"},
    "decommissioned": {"en": "Decommissioned", "zh": "已停用"},
    "suspicious": {"en": "Suspicious", "zh": "可疑"},
    "product": {"en": "Product", "zh": "产品"},
    "brand": {"en": "Brand", "zh": "品牌"},
    "lot": {"en": "Lot", "zh": "批次"},
    "serial": {"en": "Serial", "zh": "序列号"},
    "expiry": {"en": "Best before", "zh": "保质期至"},
    "history": {"en": "History", "zh": "溯源记录"},
    "recorded_by": {"en": "recorded by", "zh": "记录方"},
    "place": {"en": "place", "zh": "地点"},
    "block": {"en": "block", "zh": "区块"},
    "via": {"en": "via", "zh": "随包装"},
    "cold_chain": {"en": "Cold chain", "zh": "冷链"},
    "on_chain": {"en": "On-chain proofs", "zh": "链上证明"},
    "checking": {"en": "checking proofs…", "zh": "正在验证…"},
    "verified": {"en": "verified against a certified block header", "zh": "已通过认证区块头验证"},
    "not_verified": {"en": "NOT verified", "zh": "验证失败"},
    "claim_pin": {"en": "Scratch the label and enter the PIN to register your purchase", "zh": "刮开标签输入验证码登记购买"},
    "claim": {"en": "Check PIN", "zh": "验证"},
    "pin_ok": {"en": "PIN accepted: this purchase is registered to you.", "zh": "验证码正确，购买已登记。"},
    "report": {"en": "Report counterfeit", "zh": "举报假冒"},
    "report_note": {"en": "Where did you buy it? What looks wrong?", "zh": "购买地点？哪里可疑？"},
    "report_sent": {"en": "Thank you: the brand will look into it.", "zh": "感谢举报，品牌方将核查。"},
    "certified_by": {"en": "certified member of the consortium", "zh": "联盟认证成员"},
    "issued": {"en": "Codes issued and committed", "zh": "编码发行并上链"},
    "no_history": {"en": "No events yet after issuance.", "zh": "发行后暂无记录。"},
    "language": {"en": "中文", "zh": "English"},
    "scans": {"en": "scans in the last hour", "zh": "最近一小时扫描次数"},
    "commissioning": {"en": "Produced", "zh": "生产"},
    "inspecting": {"en": "Inspected", "zh": "检验"},
    "packing": {"en": "Packed", "zh": "包装"},
    "unpacking": {"en": "Unpacked", "zh": "拆包"},
    "shipping": {"en": "Shipped", "zh": "发货"},
    "receiving": {"en": "Received", "zh": "收货"},
    "retail_selling": {"en": "Sold", "zh": "零售售出"},
    "decommissioning": {"en": "Decommissioned", "zh": "停用"},
    "storing": {"en": "Stored", "zh": "仓储"},
    "transforming": {"en": "Made from raw materials", "zh": "原料加工"},
    "corrected": {"en": "declared erroneous by its author", "zh": "记录方已声明此记录有误"},
}


def language() -> str:
    """The request's language: ?lang=, then the lang cookie, then Accept-Language (English by default)."""
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-TW"])
    return "zh" if best and best.startswith("zh") else "en"


def translate(key: str, lang: str | None = None) -> str:
    """The text of a catalog key in a language (the key itself if the catalog lacks it)."""
    entry = CATALOG.get(key)
    if entry is None:
        return key.replace("_", " ")
    return entry.get(lang or language(), entry["en"])
