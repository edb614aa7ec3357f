"""Render realistic document photos of a synthetic identity, for OCR tests and benchmarks.

Layouts follow the real documents' proportions (the ID card is 85.6 × 54 mm, drawn at
10 px/mm). Noise levels imitate how applicants actually photograph documents:

* clean — a flat-bed scan;
* mild  — a careful phone photo: ±3° tilt, slight blur, light noise, JPEG q≈70;
* harsh — a hurried photo on a desk: ±10° tilt, perspective, glare, uneven light,
  sensor noise, down-sampling and JPEG quality down to 20.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import Final, Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lending.documents.kinds import DocumentKind
from lending.sandbox.fonts import cjk_font_path, mono_font_path
from lending.sandbox.identities import SyntheticIdentity

Noise = Literal["clean", "mild", "harsh"]
RGB = tuple[int, int, int]
Array = NDArray[np.uint8]

CARD_SIZE: Final = (856, 540)
LICENCE_SIZE: Final = (1600, 1130)
_LABEL_BLUE: Final[RGB] = (38, 110, 170)
_INK: Final[RGB] = (25, 25, 30)
_RED: Final[RGB] = (200, 30, 30)
_SEX_ZH: Final = {"M": "男", "F": "女"}


@cache
def _font(size: int, *, mono: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(mono_font_path() if mono else cjk_font_path()), size)


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: RGB = _INK,
    *,
    mono: bool = False,
    spacing: float = 0.0,
) -> float:
    """Draw `text` with extra letter spacing; returns the x where it ends."""
    font = _font(size, mono=mono)
    x, y = xy
    if not spacing:
        draw.text((x, y), text, font=font, fill=fill)
        return x + draw.textlength(text, font=font)
    for ch in text:
        draw.text((x, y), ch, font=font, fill=fill)
        x += draw.textlength(ch, font=font) + spacing
    return x


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def _guilloche(size: tuple[int, int], base: RGB, ink: RGB, rng: random.Random) -> Image.Image:
    """A light security-print background: a soft gradient under fine sine waves."""
    w, h = size
    img = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(img)
    for k in range(0, h + 60, 9):
        phase, amp = rng.uniform(0, 6.28), rng.uniform(4, 9)
        pts = [(x, k + amp * math.sin(x / 38 + phase)) for x in range(0, w + 8, 8)]
        draw.line(pts, fill=ink, width=1)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(60, 160)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=1)
    return img.filter(ImageFilter.GaussianBlur(0.6))


def _emblem(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    """A stand-in for the national emblem: red disc, gold rim and star."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_RED, outline=(230, 180, 40), width=4)
    star = [
        (
            cx + (r * 0.55 if i % 2 == 0 else r * 0.22) * math.sin(i * math.pi / 5),
            cy - (r * 0.55 if i % 2 == 0 else r * 0.22) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=(240, 200, 50))


def _id_front(ident: SyntheticIdentity, rng: random.Random) -> Image.Image:
    img = _guilloche(CARD_SIZE, (240, 244, 246), (222, 230, 238), rng)
    d = ImageDraw.Draw(img)
    lx, vx = 62, 160
    _text(d, (lx, 62), "姓名", 26, _LABEL_BLUE, spacing=6)
    _text(d, (vx, 56), ident.name, 34, spacing=4)
    _text(d, (lx, 128), "性别", 26, _LABEL_BLUE, spacing=6)
    _text(d, (vx, 124), _SEX_ZH[ident.sex], 30)
    _text(d, (282, 128), "民族", 26, _LABEL_BLUE, spacing=6)
    _text(d, (378, 124), ident.ethnicity, 30)
    b = ident.birth_date
    _text(d, (lx, 194), "出生", 26, _LABEL_BLUE, spacing=6)
    _text(d, (vx, 190), str(b.year), 30)
    _text(d, (246, 194), "年", 26, _LABEL_BLUE)
    _text(d, (vx + 130 - (15 if b.month > 9 else 0), 190), str(b.month), 30)
    _text(d, (320, 194), "月", 26, _LABEL_BLUE)
    _text(d, (362 - (15 if b.day > 9 else 0), 190), str(b.day), 30)
    _text(d, (396, 194), "日", 26, _LABEL_BLUE)
    _text(d, (lx, 262), "住址", 26, _LABEL_BLUE, spacing=6)
    for i, line in enumerate(_wrap(ident.address, 11)[:3]):
        _text(d, (vx, 258 + 42 * i), line, 30, spacing=1)
    _text(d, (lx, 448), "公民身份号码", 26, _LABEL_BLUE, spacing=4)
    _text(d, (292, 440), ident.id_number, 38, mono=True, spacing=3)
    # Photo placeholder: grey box with a head-and-shoulders silhouette.
    d.rectangle((560, 58, 800, 368), fill=(214, 216, 220))
    d.ellipse((630, 110, 730, 230), fill=(170, 172, 178))
    d.chord((585, 230, 775, 430), 180, 360, fill=(170, 172, 178))
    d.rectangle((560, 368, 800, 372), fill=(240, 244, 246))
    return img


def _id_back(ident: SyntheticIdentity, rng: random.Random) -> Image.Image:
    img = _guilloche(CARD_SIZE, (244, 242, 238), (232, 224, 214), rng)
    d = ImageDraw.Draw(img)
    _emblem(d, 130, 120, 70)
    _text(d, (290, 64), "中华人民共和国", 40, spacing=10)
    _text(d, (268, 140), "居民身份证", 62, spacing=18)
    _text(d, (150, 392), "签发机关", 26, spacing=4)
    _text(d, (302, 386), ident.id_issuer, 30, spacing=1)
    _text(d, (150, 456), "有效期限", 26, spacing=4)
    period = f"{ident.id_valid_from:%Y.%m.%d}-{ident.id_valid_to:%Y.%m.%d}"
    _text(d, (302, 450), period, 30)
    return img


def _licence(ident: SyntheticIdentity, rng: random.Random) -> Image.Image:
    w, h = LICENCE_SIZE
    img = _guilloche(LICENCE_SIZE, (250, 247, 240), (240, 232, 218), rng)
    d = ImageDraw.Draw(img)
    d.rectangle((28, 28, w - 28, h - 28), outline=(180, 140, 60), width=10)
    d.rectangle((48, 48, w - 48, h - 48), outline=(200, 160, 80), width=3)
    _emblem(d, w / 2, 135, 62)
    _text(d, (w / 2 - 250, 215), "营业执照", 110, spacing=26)
    _text(d, (w / 2 - 40, 350), "(副本)", 30)
    _text(d, (110, 300), "统一社会信用代码", 30)
    _text(d, (110, 345), ident.credit_code, 34, mono=True, spacing=2)

    def field(x: int, y: int, label: str, value: str, per_line: int) -> None:
        _text(d, (x, y), label, 30, spacing=4)
        for i, line in enumerate(_wrap(value, per_line)[:3]):
            _text(d, (x + 170, y - 2 + 44 * i), line, 30)

    capital = f"{ident.registered_capital_yuan // 10_000}万元"
    founded = f"{ident.established:%Y}年{ident.established:%m}月{ident.established:%d}日"
    field(110, 450, "名      称", ident.company_name, 16)
    field(110, 540, "类      型", ident.company_type, 16)
    field(110, 676, "法定代表人", ident.name, 16)
    field(110, 766, "经营范围", "技术开发、技术咨询、技术服务;销售电子产品、日用品。", 16)
    field(860, 450, "注册资本", capital, 16)
    field(860, 540, "成立日期", founded, 16)
    field(860, 630, "营业期限", f"{ident.established:%Y年%m月%d日}至长期", 16)
    field(860, 720, "住      所", ident.company_address, 16)
    # Registration authority seal and date, bottom right; a QR-code stand-in bottom left.
    d.ellipse((1180, 880, 1380, 1080), outline=_RED, width=6)
    _text(d, (1212, 958), "登记机关", 34, _RED)
    _text(d, (1120, 1040), f"{ident.established:%Y年%m月%d日}", 28)
    for i in range(12):
        for j in range(12):
            if rng.random() < 0.5:
                d.rectangle((110 + 10 * i, 900 + 10 * j, 119 + 10 * i, 909 + 10 * j), fill=_INK)
    return img


_BANK_COLOURS: Final[dict[str, RGB]] = {
    "中国工商银行": (170, 20, 30),
    "中国农业银行": (0, 120, 100),
    "中国建设银行": (20, 60, 140),
    "中国银行": (160, 20, 40),
    "交通银行": (20, 50, 120),
    "招商银行": (190, 30, 40),
}


def _bank_card(ident: SyntheticIdentity, rng: random.Random) -> Image.Image:
    w, h = CARD_SIZE
    base = np.array(_BANK_COLOURS.get(ident.bank_name, (40, 60, 120)), dtype=np.float32)
    shade = np.linspace(0.75, 1.2, w, dtype=np.float32)[None, :, None]
    arr = np.clip(base[None, None, :] * shade * np.ones((h, 1, 1), np.float32), 0, 255)
    img = Image.fromarray(arr.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(5):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(150, 400)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=1)
    _text(d, (60, 44), ident.bank_name, 42, (255, 255, 255), spacing=4)
    _text(d, (62, 102), "借记卡 DEBIT CARD", 22, (235, 235, 235))
    d.rounded_rectangle((88, 190, 198, 270), radius=12, fill=(212, 180, 100))
    for y in (212, 230, 248):
        d.line((88, y, 198, y), fill=(170, 140, 70), width=2)
    groups = " ".join(ident.bank_card_number[i : i + 4] for i in range(0, 19, 4))
    # Embossed digits: a dark drop shadow and a light highlight around silver ink.
    layers: tuple[tuple[int, int, RGB], ...] = (
        (3, 3, (20, 20, 25)),
        (-1, -1, (255, 255, 255)),
        (0, 0, (225, 225, 215)),
    )
    for dx, dy, colour in layers:
        _text(d, (72 + dx, 330 + dy), groups, 46, colour, mono=True, spacing=1)
    d.rounded_rectangle((650, 420, 800, 500), radius=8, fill=(250, 250, 250))
    _text(d, (668, 426), "银联", 30, (0, 90, 160))
    _text(d, (666, 466), "UnionPay", 22, (200, 30, 30))
    return img


_RENDERERS: Final[dict[DocumentKind, Callable[[SyntheticIdentity, random.Random], Image.Image]]] = {
    DocumentKind.ID_FRONT: _id_front,
    DocumentKind.ID_BACK: _id_back,
    DocumentKind.BUSINESS_LICENCE: _licence,
    DocumentKind.BANK_CARD: _bank_card,
}


# --- photographic degradation ----------------------------------------------------------


def _desk(h: int, w: int, rng: random.Random) -> Array:
    """A wood-grain-like desk: brown base, stretched noise streaks."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    grain = cv2.resize(nrng.normal(0, 1, (h // 8 + 1, 6)).astype(np.float32), (w, h))
    base = np.array([rng.uniform(130, 175), rng.uniform(90, 125), rng.uniform(55, 85)])
    desk = base[None, None, :] * (1 + 0.12 * grain[:, :, None])
    return np.asarray(np.clip(desk, 0, 255), dtype=np.uint8)


def _rotate(img: Array, angle: float, border: tuple[int, int, int]) -> Array:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)
    return np.asarray(out, dtype=np.uint8)


def _add_noise(img: Array, sigma: float, rng: random.Random) -> Array:
    nrng = np.random.default_rng(rng.randrange(2**32))
    noisy = img.astype(np.float32) + nrng.normal(0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _mild(img: Array, rng: random.Random) -> tuple[Array, int]:
    img = _rotate(img, rng.uniform(-3, 3), (255, 255, 255))
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 0.9)), dtype=np.uint8)
    return _add_noise(img, 4, rng), rng.randint(65, 75)


def _harsh(img: Array, rng: random.Random) -> tuple[Array, int]:
    h, w = img.shape[:2]
    pad_x, pad_y = int(w * 0.22), int(h * 0.22)
    canvas_w, canvas_h = w + 2 * pad_x, h + 2 * pad_y
    # Perspective: each corner of the document moves independently by up to 5 %.
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    src = np.array(corners, dtype=np.float32)
    dst = np.array(
        [
            (x + pad_x + rng.uniform(-0.05, 0.05) * w, y + pad_y + rng.uniform(-0.05, 0.05) * h)
            for x, y in corners
        ],
        dtype=np.float32,
    )
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, m, (canvas_w, canvas_h))
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (canvas_w, canvas_h))
    photo = np.where(mask[:, :, None] > 0, warped, _desk(canvas_h, canvas_w, rng))
    photo = _rotate(photo.astype(np.uint8), rng.uniform(-10, 10), (120, 95, 70))
    ph, pw = photo.shape[:2]
    # Uneven light: a linear gradient plus a soft glare blob.
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    theta = rng.uniform(0, 6.28)
    grad = 1.0 + 0.25 * ((xx / pw - 0.5) * math.cos(theta) + (yy / ph - 0.5) * math.sin(theta))
    gx, gy = rng.uniform(0.2, 0.8) * pw, rng.uniform(0.2, 0.8) * ph
    glare = 90 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.09 * pw) ** 2))
    lit = photo.astype(np.float32) * grad[:, :, None] + glare[:, :, None]
    photo = np.clip(lit, 0, 255).astype(np.uint8)
    photo = np.asarray(cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.8, 1.3)), dtype=np.uint8)
    scale = rng.uniform(0.7, 0.9)
    photo = np.asarray(cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    return _add_noise(photo, 7, rng), rng.randint(20, 45)


def render_document(
    kind: DocumentKind,
    identity: SyntheticIdentity,
    *,
    noise: Noise = "clean",
    seed: int = 0,
) -> bytes:
    """A JPEG photo of the document; deterministic for (kind, identity, noise, seed)."""
    rng = random.Random(f"{kind}:{seed}:{noise}")
    img = np.asarray(_RENDERERS[kind](identity, rng), dtype=np.uint8)
    quality = 92
    if noise == "mild":
        img, quality = _mild(img, rng)
    elif noise == "harsh":
        img, quality = _harsh(img, rng)
    out = BytesIO()
    Image.fromarray(img, "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
