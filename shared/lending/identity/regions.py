"""A small, real subset of GB/T 2260 administrative-division codes.

Enough to validate the 6-digit prefix of resident ID numbers and to give synthetic
identities plausible addresses and issuing authorities. Historical codes stay valid:
an ID keeps the code of the county that issued it even after the county is renamed,
so retired codes (e.g. 440524 潮阳县) are listed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PROVINCES: Final[dict[str, str]] = {
    "11": "北京市",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "35": "福建省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "51": "四川省",
    "61": "陕西省",
}

# Prefecture level (first 4 digits). Municipalities repeat the province name.
PREFECTURES: Final[dict[str, str]] = {
    "1101": "北京市",
    "3101": "上海市",
    "3201": "南京市",
    "3205": "苏州市",
    "3301": "杭州市",
    "3302": "宁波市",
    "3501": "福州市",
    "3502": "厦门市",
    "3701": "济南市",
    "3702": "青岛市",
    "4101": "郑州市",
    "4201": "武汉市",
    "4301": "长沙市",
    "4401": "广州市",
    "4403": "深圳市",
    "4405": "汕头市",
    "5101": "成都市",
    "6101": "西安市",
}

COUNTIES: Final[dict[str, str]] = {
    "110101": "东城区",
    "110102": "西城区",
    "110105": "朝阳区",
    "110106": "丰台区",
    "110108": "海淀区",
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310115": "浦东新区",
    "320102": "玄武区",
    "320104": "秦淮区",
    "320106": "鼓楼区",
    "320508": "姑苏区",
    "330102": "上城区",
    "330106": "西湖区",
    "330108": "滨江区",
    "330203": "海曙区",
    "350102": "鼓楼区",
    "350203": "思明区",
    "370102": "历下区",
    "370202": "市南区",
    "370203": "市北区",
    "410102": "中原区",
    "410105": "金水区",
    "420102": "江岸区",
    "420106": "武昌区",
    "420111": "洪山区",
    "430102": "芙蓉区",
    "430104": "岳麓区",
    "440103": "荔湾区",
    "440104": "越秀区",
    "440106": "天河区",
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440524": "潮阳县",  # retired in 2003 (now 潮阳区 440513); still on older IDs
    "510104": "锦江区",
    "510105": "青羊区",
    "510107": "武侯区",
    "610102": "新城区",
    "610103": "碑林区",
    "610113": "雁塔区",
}


@dataclass(frozen=True, slots=True)
class Region:
    """A county-level division with its parents, as printed on documents."""

    code: str
    province: str
    prefecture: str
    county: str

    @property
    def is_municipality(self) -> bool:
        return self.province == self.prefecture

    @property
    def full_name(self) -> str:
        """Address prefix, e.g. 广东省深圳市南山区 or 北京市朝阳区."""
        if self.is_municipality:
            return f"{self.province}{self.county}"
        return f"{self.province}{self.prefecture}{self.county}"


def lookup_region(code: str) -> Region | None:
    """The region for a 6-digit county code, or None when it is not in the table."""
    county = COUNTIES.get(code)
    if county is None:
        return None
    return Region(code, PROVINCES[code[:2]], PREFECTURES[code[:4]], county)


def county_codes() -> tuple[str, ...]:
    """All county codes that synthetic identities may be born in (current codes only)."""
    return tuple(c for c in COUNTIES if c != "440524")
