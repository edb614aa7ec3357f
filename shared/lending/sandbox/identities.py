"""Deterministic synthetic identities for tests, demos and OCR benchmarks.

Every number is checksum-valid and internally consistent (region ↔ address ↔ issuer,
birth date and sex ↔ ID number) but belongs to nobody: names are drawn from common
characters, serials are random, and the values come from a seeded PRNG only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from lending.identity.checks import (
    CREDIT_ALPHABET,
    credit_code_check_char,
    id_check_digit,
    luhn_check_digit,
    org_code_check_char,
)
from lending.identity.regions import Region, county_codes, lookup_region

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾夏韦傅方邹熊白孟秦邱侯江尹薛闫段雷"
    "龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
)
_GIVEN_MALE: Final = (
    "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林博文斌志峰亮成国建东海"
)
_GIVEN_FEMALE: Final = "芳娜敏静丽艳娟霞燕玲婷慧琳颖倩雪琴云洁梅红丹萍莉瑶佳欣怡晶悦露蕾薇茜"

# (BIN, length, bank) — real issuer prefixes of China UnionPay debit cards.
CARD_BINS: Final = (
    ("622202", 19, "中国工商银行"),
    ("621226", 19, "中国工商银行"),
    ("622848", 19, "中国农业银行"),
    ("621700", 19, "中国建设银行"),
    ("621661", 19, "中国银行"),
    ("622262", 19, "交通银行"),
    ("622588", 16, "招商银行"),
)
_MOBILE_PREFIXES: Final = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "182",
    "186",
    "187",
    "188",
    "189",
    "199",
)
_STREETS: Final = (
    "建设路",
    "人民路",
    "解放路",
    "中山路",
    "长江路",
    "和平路",
    "新华路",
    "文化路",
    "光明街",
    "胜利街",
    "朝阳路",
    "幸福路",
)
_COMPANY_WORDS: Final = (
    "恒信",
    "华盛",
    "鼎新",
    "瑞丰",
    "泰和",
    "宏达",
    "金源",
    "智远",
    "众诚",
    "安捷",
    "博瑞",
    "汇通",
    "联创",
    "启明",
)
_COMPANY_TRADES: Final = (
    "科技",
    "商贸",
    "网络技术",
    "餐饮管理",
    "物流",
    "建材",
    "电子",
    "文化传媒",
    "农业发展",
    "服装",
)
COMPANY_TYPES: Final = (
    "有限责任公司(自然人独资)",
    "有限责任公司(自然人投资或控股)",
    "股份有限公司(非上市、自然人投资或控股)",
)


@dataclass(frozen=True, slots=True)
class SyntheticIdentity:
    name: str
    sex: Literal["M", "F"]
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    id_issuer: str
    id_valid_from: date
    id_valid_to: date
    phone: str
    bank_name: str
    bank_card_number: str
    company_name: str
    credit_code: str
    company_type: str
    registered_capital_yuan: int
    established: date
    company_address: str

    @property
    def region(self) -> Region:
        region = lookup_region(self.id_number[:6])
        assert region is not None  # generated from the region table
        return region


def _name(rng: random.Random, sex: Literal["M", "F"]) -> str:
    pool = _GIVEN_MALE if sex == "M" else _GIVEN_FEMALE
    return rng.choice(SURNAMES) + "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))


def _issuer(region: Region) -> str:
    # Districts are policed by a branch of the city bureau; counties have their own bureau.
    if region.county.endswith("区"):
        return f"{region.prefecture}公安局{region.county[:-1]}分局"
    return f"{region.county}公安局"


def _street_address(rng: random.Random, region: Region, *, home: bool) -> str:
    street = f"{region.full_name}{rng.choice(_STREETS)}{rng.randint(1, 399)}号"
    if not home:
        return street
    floor, unit = rng.randint(1, 28), rng.randint(1, 4)
    return f"{street}{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{floor}{unit:02d}室"


def _id_validity(
    rng: random.Random, birth: date, today: date, *, expired: bool
) -> tuple[date, date]:
    # GB 11643 validity: 10 years for ages 16-25, 20 years for 26-45 (long-term over 46
    # is left out so every synthetic ID has a printable end date).
    if expired:
        start = today - timedelta(days=rng.randint(365 * 11, 365 * 15))
    else:
        start = today - timedelta(days=rng.randint(30, 365 * 9))
    age = (start - birth).days // 365
    years = 10 if age < 26 else 20
    if expired:
        years = 10
    if start.month == 2 and start.day == 29:
        start = start.replace(day=28)
    return start, start.replace(year=start.year + years)


def _credit_code(rng: random.Random, region_code: str) -> str:
    org = "".join(rng.choice(CREDIT_ALPHABET) for _ in range(8))
    org = org if org[0].isdigit() else "M" + org[1:]
    # 9 = registered by the market regulator, 1 = company.
    body = "91" + region_code + org + org_code_check_char(org)
    return body + credit_code_check_char(body)


_REFERENCE_TODAY: Final = date(2025, 6, 1)  # fixed so identities do not drift with time


def make_identity(
    seed: int, *, expired_id: bool = False, today: date = _REFERENCE_TODAY
) -> SyntheticIdentity:
    """The same seed always gives the same identity (for the same `today`)."""
    rng = random.Random(seed)
    sex: Literal["M", "F"] = rng.choice(("M", "F"))
    region = lookup_region(rng.choice(county_codes()))
    assert region is not None
    birth = date(1965, 1, 1) + timedelta(days=rng.randint(0, 365 * 37))
    parity = (1, 3, 5, 7, 9) if sex == "M" else (0, 2, 4, 6, 8)
    seq = rng.randint(0, 99) * 10 + rng.choice(parity)
    first17 = f"{region.code}{birth:%Y%m%d}{seq:03d}"
    valid_from, valid_to = _id_validity(rng, birth, today, expired=expired_id)

    bin_, length, bank = rng.choice(CARD_BINS)
    partial = bin_ + "".join(str(rng.randint(0, 9)) for _ in range(length - len(bin_) - 1))

    company_region = lookup_region(rng.choice(county_codes()))
    assert company_region is not None
    company = (
        f"{company_region.prefecture.removesuffix('市')}{rng.choice(_COMPANY_WORDS)}"
        f"{rng.choice(_COMPANY_TRADES)}有限公司"
    )
    return SyntheticIdentity(
        name=_name(rng, sex),
        sex=sex,
        ethnicity="汉",
        birth_date=birth,
        address=_street_address(rng, region, home=True),
        id_number=first17 + id_check_digit(first17),
        id_issuer=_issuer(region),
        id_valid_from=valid_from,
        id_valid_to=valid_to,
        phone=rng.choice(_MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
        bank_name=bank,
        bank_card_number=partial + luhn_check_digit(partial),
        company_name=company,
        credit_code=_credit_code(rng, company_region.code),
        company_type=rng.choice(COMPANY_TYPES),
        registered_capital_yuan=rng.choice((10, 50, 100, 200, 500, 1000)) * 10_000,
        established=today - timedelta(days=rng.randint(400, 365 * 15)),
        company_address=_street_address(rng, company_region, home=False),
    )
