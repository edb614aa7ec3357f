"""Loan contract PDF, byte-for-byte reproducible so its SHA-256 can be e-signed and re-verified.

Determinism: reportlab runs with ``invariant=1``; the Info dates come from ``terms.issued_at``;
the document /ID is derived from the contract number and the serialised terms instead of
reportlab's timestamp signature (which honours SOURCE_DATE_EPOCH from the environment and would
otherwise make the same contract hash differently on different hosts). Identical output also
assumes the same reportlab version, so verification should hash the *stored* PDF rather than
re-render it after an upgrade.

Privacy: the renderer only ever sees masked borrower identifiers; ``ContractTerms`` rejects values
without a mask character so a full name or ID number cannot leak into a signed document.
All text is set in reportlab's built-in CID font STSong-Light (no font files needed).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Self
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfdoc import DummyDoc, PDFText
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from lending.finance.products import format_rate
from lending.finance.schedule import Schedule, format_yuan

__all__ = ["ContractTerms", "contract_digest", "contract_document", "render_contract"]

_FONT = "STSong-Light"
_MASK_CHARS = ("*", "＊")
_MAX_RATE = Decimal("0.24")


class ContractTerms(BaseModel):
    """Everything printed on the contract. Amount, term, rate and method come from ``schedule``
    so the headline terms can never disagree with the repayment table.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    contract_number: str = Field(min_length=1, max_length=64)
    lender_name: str = Field(min_length=1)
    borrower_name_masked: str = Field(min_length=1)
    borrower_id_masked: str = Field(min_length=1)
    product_name_zh: str
    product_name_en: str
    schedule: Schedule
    apr: Decimal = Field(ge=0, le=_MAX_RATE)  # IRR-method 年化利率, as disclosed
    total_fees_fen: int = Field(ge=0)
    overdue_annual_rate: Decimal = Field(ge=0, le=_MAX_RATE)  # 逾期利率 on overdue principal
    early_repayment_fee_bps: int = Field(default=0, ge=0, le=300)
    privacy_contact: str = Field(min_length=1)  # where data subjects exercise PIPL rights
    issued_at: datetime  # contract date and the PDF's creation date; must be tz-aware

    @field_validator("borrower_name_masked", "borrower_id_masked")
    @classmethod
    def _must_be_masked(cls, value: str) -> str:
        if not any(c in value for c in _MASK_CHARS):
            raise ValueError("borrower identifiers must be passed already masked (e.g. 张*)")
        return value

    @field_validator("issued_at")
    @classmethod
    def _must_be_aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware")
        return value

    @model_validator(mode="after")
    def _schedule_present(self) -> Self:
        if not self.schedule.instalments:
            raise ValueError("schedule has no instalments")
        return self


def contract_digest(pdf: bytes) -> bytes:
    """SHA-256 of the PDF bytes (32 bytes): what the e-signature signs."""
    return hashlib.sha256(pdf).digest()


def _terms_fingerprint(terms: ContractTerms) -> bytes:
    # Only feeds the PDF /ID: stable for the same terms, different for different contracts.
    return hashlib.sha256(terms.model_dump_json().encode("utf-8")).digest()[:16]


def _pdf_date(issued_at: datetime) -> str:
    offset = issued_at.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hh, mm_ = divmod(abs(minutes), 60)
    return f"D:{issued_at:%Y%m%d%H%M%S}{sign}{hh:02d}'{mm_:02d}'"


def _ensure_font() -> None:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=_FONT, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=1),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=16, spaceBefore=6),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _grid(rows: list[list[Any]], widths: list[float], header: bool) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), _FONT, 8),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ]
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke))
    table.setStyle(TableStyle(commands))
    return table


def _summary_rows(terms: ContractTerms) -> list[tuple[str, str]]:
    s: Schedule = terms.schedule
    return [
        ("出借人 Lender", terms.lender_name),
        ("借款人 Borrower", terms.borrower_name_masked),
        ("证件号码 ID number", terms.borrower_id_masked),
        ("借款产品 Product", f"{terms.product_name_zh} {terms.product_name_en}"),
        ("借款金额 Principal", f"人民币 CNY {format_yuan(s.principal_fen)} 元"),
        ("借款期限 Term", f"{s.term_months} 个月 months"),
        ("借款年利率 Nominal annual rate", format_rate(s.annual_rate)),
        ("年化利率(单利, 含费用) Annualised rate, simple, incl. fees", format_rate(terms.apr)),
        ("还款方式 Repayment method", f"{s.method.label_zh} {s.method.label_en}"),
        ("利息合计 Total interest", f"{format_yuan(s.total_interest_fen)} 元"),
        ("费用合计 Total fees", f"{format_yuan(terms.total_fees_fen)} 元"),
        (
            "还款总额 Total repayable",
            f"{format_yuan(s.total_repayment_fen + terms.total_fees_fen)} 元",
        ),
        ("放款日 Disbursement date", s.disbursement_date.isoformat()),
        ("到期日 Maturity date", s.maturity_date.isoformat()),
    ]


def _summary(terms: ContractTerms, style: ParagraphStyle) -> Table:
    rows = _summary_rows(terms)
    return _grid([[_p(k, style), _p(v, style)] for k, v in rows], [62 * mm, 108 * mm], False)


_SCHEDULE_HEADER = [
    "期数 No.",
    "应还日 Due",
    "本金 Principal",
    "利息 Interest",
    "合计 Total",
    "剩余本金 Rem.",
]


def _schedule_rows(s: Schedule) -> list[list[str]]:
    """The schedule's body rows and its total row (the header is _SCHEDULE_HEADER)."""
    rows = [
        [
            str(x.number),
            x.due_date.isoformat(),
            format_yuan(x.principal_fen),
            format_yuan(x.interest_fen),
            format_yuan(x.total_fen),
            format_yuan(x.remaining_principal_fen),
        ]
        for x in s.instalments
    ]
    rows.append(
        [
            "合计 Total",
            "",
            format_yuan(s.total_principal_fen),
            format_yuan(s.total_interest_fen),
            format_yuan(s.total_repayment_fen),
            "",
        ]
    )
    return rows


def _schedule_table(s: Schedule) -> Table:
    rows: list[list[Any]] = [list(_SCHEDULE_HEADER), *_schedule_rows(s)]
    return _grid(rows, [20 * mm, 26 * mm, 31 * mm, 29 * mm, 31 * mm, 33 * mm], True)


def _clauses(terms: ContractTerms) -> list[tuple[str, str, str]]:
    overdue = format_rate(terms.overdue_annual_rate)
    early = format_rate(Decimal(terms.early_repayment_fee_bps) / 10_000)
    return [
        (
            "第一条 逾期还款 Overdue repayment",
            f"借款人未按期足额还款的，自逾期之日起就逾期本金按年利率{overdue}(按日计算，日利率 = "
            "年利率/360)计收逾期利息，直至清偿之日；利息、逾期利息及全部费用合计不超过法律和监管"
            "规定的上限。逾期信息将依法报送中国人民银行征信系统，出借人可依法进行催收，不得采用"
            "暴力、恐吓、骚扰无关第三人等不当方式。",
            "If an instalment is not paid in full when due, overdue interest accrues on the "
            f"overdue principal at {overdue} per annum (daily rate = annual rate / 360) from the "
            "due date until paid; interest, overdue interest and all fees together never exceed "
            "the legal and regulatory cap. Overdue records are reported to the PBoC Credit "
            "Reference Center. "
            "Collection follows the law; violence, threats and contacting unrelated third parties "
            "are prohibited.",
        ),
        (
            "第二条 提前还款 Early repayment",
            f"借款人可随时申请提前偿还全部或部分本金，利息计至实际还款日；提前还款手续费为提前"
            f"偿还本金的{early}。已支付的费用按监管规定处理。",
            "The borrower may prepay all or part of the principal at any time; interest accrues "
            f"only up to the actual repayment date. The prepayment fee is {early} of the principal "
            "prepaid. Fees already paid are handled as regulations require.",
        ),
        (
            "第三条 个人信息处理 Personal information (PIPL)",
            "借款人同意出借人依据《中华人民共和国个人信息保护法》，为订立和履行本合同、风险评估、"
            "贷后管理及履行法定义务之目的，处理借款人的身份信息、联系方式、银行账户及信用信息；"
            "身份证件等敏感个人信息仅在上述必要范围内处理。出借人将依法向金融信用信息基础数据库"
            "报送和查询信用信息，除法律规定外未经单独同意不向其他第三方提供。个人信息保存至合同"
            "履行完毕后法律法规要求的期限。借款人有权查阅、复制、更正、删除其个人信息及撤回同意"
            f"(撤回不影响此前处理的效力)，联系方式：{terms.privacy_contact}。",
            "Under the Personal Information Protection Law the borrower consents to the lender "
            "processing identity, contact, bank-account and credit information to conclude and "
            "perform this contract, assess risk, manage the loan and meet legal obligations; "
            "sensitive information such as identity documents is processed only as necessary for "
            "these purposes. Credit information is reported to and queried from the national "
            "financial credit database; it is not shared with other third parties without separate "
            "consent unless the law requires. Data is retained for the period the law requires "
            "after the contract ends. The borrower may access, copy, correct or delete it and "
            "withdraw consent (without affecting prior processing) via "
            f"{terms.privacy_contact}.",
        ),
        (
            "第四条 其他 Miscellaneous",
            "借款用途须合法合规。本合同以电子签名方式订立，与纸质合同具有同等法律效力；合同文件的"
            "SHA-256摘要记录于电子签名凭证。争议提交出借人住所地有管辖权的人民法院诉讼解决。"
            "中英文不一致的，以中文为准。",
            "The loan must be used lawfully. This contract is concluded by electronic signature "
            "with the same legal effect as a paper contract; the SHA-256 digest of this file is "
            "recorded in the e-signature certificate. Disputes go to the competent people's court "
            "where the lender is domiciled. The Chinese text prevails.",
        ),
    ]


def _signature_rows(terms: ContractTerms) -> list[list[str]]:
    date_text = terms.issued_at.date().isoformat()
    return [
        [
            f"出借人(电子签章) Lender: {terms.lender_name}",
            f"借款人(电子签名) Borrower: {terms.borrower_name_masked}",
        ],
        [f"签署日期 Date: {date_text}", f"签署日期 Date: {date_text}"],
    ]


def _signature_block(terms: ContractTerms, style: ParagraphStyle) -> Table:
    rows = [[_p(cell, style) for cell in row] for row in _signature_rows(terms)]
    table = Table(rows, colWidths=[85 * mm, 85 * mm], rowHeights=[18 * mm, 9 * mm])
    table.setStyle(
        TableStyle(
            [("BOX", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    return table


_TITLE = "借款合同 Loan Contract"
_HEADINGS = (
    "一、借款要素 Key terms",
    "二、还款计划 Repayment schedule (单位：元 CNY)",
    "三、主要条款 Key clauses",
    "四、签署 Signatures",
)


def _story(terms: ContractTerms) -> list[Flowable]:
    st = _styles()
    story: list[Flowable] = [
        _p(_TITLE, st["title"]),
        _p(f"合同编号 Contract No.: {terms.contract_number}", st["body"]),
        _p(f"签订日期 Date: {terms.issued_at.date().isoformat()}", st["body"]),
        Spacer(1, 4 * mm),
        _p(_HEADINGS[0], st["h2"]),
        _summary(terms, st["body"]),
        _p(_HEADINGS[1], st["h2"]),
        _schedule_table(terms.schedule),
        _p(_HEADINGS[2], st["h2"]),
    ]
    for heading, zh, en in _clauses(terms):
        story += [_p(heading, st["body"]), _p(zh, st["body"]), _p(en, st["small"])]
        story.append(Spacer(1, 2 * mm))
    # Never let the signature block be orphaned from its heading or split across pages.
    story.append(KeepTogether([_p(_HEADINGS[3], st["h2"]), _signature_block(terms, st["body"])]))
    return story


def contract_document(terms: ContractTerms) -> dict[str, Any]:
    """The contract's text as data, from the same rows and clauses the PDF sets: what a
    borrower reads on screen before accepting is the document that will be signed."""
    return {
        "title": _TITLE,
        "contract_number": terms.contract_number,
        "date": terms.issued_at.date().isoformat(),
        "sections": [
            {"heading": _HEADINGS[0], "rows": [list(r) for r in _summary_rows(terms)]},
            {
                "heading": _HEADINGS[1],
                "header": list(_SCHEDULE_HEADER),
                "rows": _schedule_rows(terms.schedule),
            },
            {
                "heading": _HEADINGS[2],
                "clauses": [{"heading": h, "zh": zh, "en": en} for h, zh, en in _clauses(terms)],
            },
            {"heading": _HEADINGS[3], "rows": _signature_rows(terms)},
        ],
    }


def render_contract(contract: ContractTerms) -> bytes:
    """Render ``contract`` to PDF bytes; identical input gives identical bytes."""
    _ensure_font()
    pdf_date = _pdf_date(contract.issued_at)
    fingerprint = _terms_fingerprint(contract)

    def make_canvas(*args: Any, **kwargs: Any) -> Canvas:
        canvas = Canvas(*args, **kwargs)
        canvas.setDateFormatter(lambda *_: pdf_date)
        # Replace the timestamp-seeded /ID (see module docstring); same layout reportlab uses.
        ident = PDFText(fingerprint, enc="raw").format(DummyDoc())
        canvas._doc._ID = b"\n[" + ident + ident + b"]\n"  # no public hook for the /ID
        return canvas

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 7)
        canvas.drawCentredString(
            A4[0] / 2,
            10 * mm,
            f"合同编号 {contract.contract_number}  第 {doc.page} 页 Page {doc.page}",
        )
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        invariant=1,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"借款合同 {contract.contract_number}",
        author=contract.lender_name,
        subject="Loan Contract",
        creator="lending.contracts",
    )
    doc.build(_story(contract), onFirstPage=footer, onLaterPages=footer, canvasmaker=make_canvas)
    return buffer.getvalue()
