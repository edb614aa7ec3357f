"""Days past due, buckets, the five-tier loan classification (五级分类) and the NPL ratio.

Buckets by days past due: M0 (current), M1 (1-30), M2 (31-60), M3 (61-90), M3+ (over 90).
The five tiers have regulatory floors by days overdue: more than 90 days is at least
次级 (substandard), more than 270 at least 可疑 (doubtful), more than 360 损失 (loss); any
day overdue is at least 关注 (special mention). A product may set stricter thresholds,
and a person may classify a loan worse than its floor, never better.
NPL ratio = (次级 + 可疑 + 损失) outstanding principal / all outstanding principal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum


class Tier(IntEnum):
    """Worse is larger, so the stricter of two tiers is `max`."""

    NORMAL = 1  # 正常
    SPECIAL_MENTION = 2  # 关注
    SUBSTANDARD = 3  # 次级
    DOUBTFUL = 4  # 可疑
    LOSS = 5  # 损失

    @property
    def label_zh(self) -> str:
        return ("正常", "关注", "次级", "可疑", "损失")[self - 1]

    @property
    def non_performing(self) -> bool:
        return self >= Tier.SUBSTANDARD


def bucket(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "M0"
    if days_past_due > 90:
        return "M3+"
    return f"M{(days_past_due - 1) // 30 + 1}"


@dataclass(frozen=True)
class TierThresholds:
    """Days overdue beyond which a loan is at least the tier (the regulatory floors)."""

    special_mention: int = 0
    substandard: int = 90
    doubtful: int = 270
    loss: int = 360

    def __post_init__(self) -> None:
        floors = TierThresholds.__dataclass_fields__
        for name in ("substandard", "doubtful", "loss"):
            if getattr(self, name) > floors[name].default:
                raise ValueError(f"{name} may be stricter than the regulatory floor, not looser")


def floor_tier(days_past_due: int, thresholds: TierThresholds = TierThresholds()) -> Tier:
    if days_past_due > thresholds.loss:
        return Tier.LOSS
    if days_past_due > thresholds.doubtful:
        return Tier.DOUBTFUL
    if days_past_due > thresholds.substandard:
        return Tier.SUBSTANDARD
    if days_past_due > thresholds.special_mention:
        return Tier.SPECIAL_MENTION
    return Tier.NORMAL


def classify(
    days_past_due: int, judged: Tier | None = None, thresholds: TierThresholds = TierThresholds()
) -> Tier:
    """The tier in force: a person's judgement where it is worse than the floor."""
    floor = floor_tier(days_past_due, thresholds)
    return max(floor, judged) if judged is not None else floor


def npl_ratio(loans: Iterable[tuple[Tier, int]]) -> Decimal:
    """(Tier, outstanding principal in fen) of every loan -> the NPL ratio (0 if none)."""
    total = bad = 0
    for tier, principal in loans:
        total += principal
        bad += principal if tier.non_performing else 0
    return Decimal(bad) / Decimal(total) if total else Decimal(0)
