"""Render realistic document photos of a synthetic identity, for OCR tests and benchmarks.

Layouts follow the real documents' proportions (the ID card is 85.6 × 54 mm, drawn at
10 px/mm). Noise levels imitate how applicants actually photograph documents:

* clean — a flat-bed scan;
* mild  — a careful phone photo: ±3° tilt, slight blur, light noise, JPEG q≈70;
* harsh — a hurried photo on a desk: ±10° tilt, perspective, glare, uneven light,
  sensor noise, down-sampling and JPEG quality down to 20;
* phone — a phone photo as a WeChat upload: the card at an angle on a table (strong
  perspective), glare on the laminate, a hand's shadow, motion blur, low-light noise,
  body text 14-17 px high (arm's length), the camera's JPEG re-compressed by WeChat;
* wild — `phone`, harsher than anything the reader was tuned on: text 11-13 px
  high, longer motion blur, darker and noisier, WeChat quality 35-50.

The business licence is drawn in the 2019 national format (two columns) or, with
`licence_layout="2015"`, the earlier single-column format still in circulation.
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

Noise = Literal["clean", "mild", "harsh", "phone", "wild"]
LicenceLayout = Literal["2019", "2015"]
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


def _licence_2015(ident: SyntheticIdentity, rng: random.Random) -> Image.Image:
    """The pre-2019 format: one column of fields under the title, the credit code top
    right, labels spaced to the width of the longest."""
    w, h = LICENCE_SIZE
    img = _guilloche(LICENCE_SIZE, (250, 248, 243), (238, 232, 220), rng)
    d = ImageDraw.Draw(img)
    d.rectangle((28, 28, w - 28, h - 28), outline=(190, 150, 70), width=8)
    _emblem(d, w / 2, 120, 56)
    _text(d, (w / 2 - 230, 190), "营业执照", 100, spacing=24)
    _text(d, (w / 2 - 40, 310), "(副本)", 30)
    _text(d, (1100, 330), "统一社会信用代码", 28)
    _text(d, (1100, 370), ident.credit_code, 32, mono=True, spacing=2)
    capital = f"{ident.registered_capital_yuan // 10_000}万元"
    founded = f"{ident.established:%Y}年{ident.established:%m}月{ident.established:%d}日"
    fields = (
        ("名      称", ident.company_name),
        ("类      型", ident.company_type),
        ("住      所", ident.company_address),
        ("法定代表人", ident.name),
        ("注册资本", capital),
        ("成立日期", founded),
        ("营业期限", f"{ident.established:%Y年%m月%d日}至长期"),
    )
    for k, (label, value) in enumerate(fields):  # every value fits one line of 24
        _text(d, (300, 390 + 58 * k), label, 30, spacing=4)
        _text(d, (480, 388 + 58 * k), value[:24], 30)
    _text(d, (300, 796), "经营范围", 30, spacing=4)
    for i, line in enumerate(_wrap("技术开发、技术咨询、技术服务;销售电子产品、日用品。", 24)):
        _text(d, (480, 794 + 42 * i), line, 30)
    d.ellipse((1200, 880, 1400, 1080), outline=_RED, width=6)
    _text(d, (1232, 958), "登记机关", 34, _RED)
    _text(d, (1140, 1040), f"{ident.established:%Y年%m月%d日}", 28)
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


def _encode(img: Array, quality: int) -> Array:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)


def _motion_blur(img: Array, length: float, angle: float) -> Array:
    size = max(math.ceil(length) | 1, 3)
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return np.asarray(cv2.filter2D(img, -1, kernel / kernel.sum()), dtype=np.uint8)


def _phone(img: Array, rng: random.Random, *, wild: bool) -> tuple[Array, int]:
    """A phone photo of the document lying on a table, sent through WeChat."""
    h, w = img.shape[:2]
    # Arm's length: body text (30 px on the drawing, ~26 px of ink) ends up 14-17 px
    # of ink (wild: 11-13).
    scale = rng.uniform(0.43, 0.5) if wild else rng.uniform(0.55, 0.65)
    dw, dh = w * scale, h * scale
    margin = 0.25
    cw, ch = int(dw * (1 + 2 * margin)), int(dh * (1 + 2 * margin))
    # The card at an angle: rotated, the far edge shorter (the camera is not overhead).
    angle = math.radians(rng.uniform(-14, 14))
    tilt = rng.uniform(0.04, 0.12)
    far = rng.choice((0, 1, 2, 3))  # which edge is further from the camera
    local = [(-dw / 2, -dh / 2), (dw / 2, -dh / 2), (dw / 2, dh / 2), (-dw / 2, dh / 2)]
    shrink = {0: (0, 1), 1: (1, 2), 2: (2, 3), 3: (3, 0)}[far]
    cx, cy = cw / 2 + rng.uniform(-0.05, 0.05) * dw, ch / 2 + rng.uniform(-0.05, 0.05) * dh
    dst = []
    for i, (x0, y0) in enumerate(local):
        pull = 1 - tilt if i in shrink else 1.0  # the far edge's corners toward the centre
        x = x0 * pull + rng.uniform(-0.015, 0.015) * dw
        y = y0 * pull + rng.uniform(-0.015, 0.015) * dh
        dst.append(
            (
                cx + x * math.cos(angle) - y * math.sin(angle),
                cy + x * math.sin(angle) + y * math.cos(angle),
            )
        )
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, np.array(dst, dtype=np.float32))
    warped = cv2.warpPerspective(img, m, (cw, ch), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (cw, ch))
    scene = np.where(mask[:, :, None] > 0, warped, _desk(ch, cw, rng)).astype(np.float32)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    # A hand's or phone's shadow: a soft-edged half-plane, darkened by 25-45 %.
    theta = rng.uniform(0, 2 * math.pi)
    offset = rng.uniform(0.25, 0.45) * max(cw, ch)
    side = (xx - cw / 2) * math.cos(theta) + (yy - ch / 2) * math.sin(theta) - offset / 2
    shadow = 1 - rng.uniform(0.25, 0.45) / (1 + np.exp(-side / (0.04 * max(cw, ch))))
    # Glare on the laminate: a bright elongated highlight, saturating at its core.
    gx, gy = rng.uniform(0.15, 0.85) * cw, rng.uniform(0.15, 0.85) * ch
    gr = rng.uniform(0.05, 0.09) * cw
    ga = rng.uniform(0, math.pi)
    u = (xx - gx) * math.cos(ga) + (yy - gy) * math.sin(ga)
    v = -(xx - gx) * math.sin(ga) + (yy - gy) * math.cos(ga)
    glare = (rng.uniform(110, 160) if wild else rng.uniform(80, 130)) * np.exp(
        -(u**2 / (2 * (2.2 * gr) ** 2) + v**2 / (2 * gr**2))
    )
    # Low light: a dim exposure lifted by the camera, which amplifies the sensor's noise.
    gain = rng.uniform(0.45, 0.6) if wild else rng.uniform(0.6, 0.8)
    lit = scene * shadow[:, :, None] * 0.92 + glare[:, :, None]
    photo = np.clip(lit, 0, 255).astype(np.uint8)
    blur = rng.uniform(3.5, 5.0) if wild else rng.uniform(1.5, 3.0)
    photo = _motion_blur(photo, blur, rng.uniform(0, math.pi))
    photo = np.asarray(cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 0.9)), dtype=np.uint8)
    photo = _add_noise(photo, rng.uniform(6, 8) / gain if wild else rng.uniform(4, 6) / gain, rng)
    photo = _encode(photo, rng.randint(85, 92))  # the camera's own JPEG
    # WeChat: longer side at most 1280 px, re-compressed.
    if max(photo.shape[:2]) > 1280:
        f = 1280 / max(photo.shape[:2])
        photo = np.asarray(cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))
    return photo, rng.randint(35, 50) if wild else rng.randint(65, 80)


def render_document(
    kind: DocumentKind,
    identity: SyntheticIdentity,
    *,
    noise: Noise = "clean",
    seed: int = 0,
    licence_layout: LicenceLayout = "2019",
) -> bytes:
    """A JPEG photo of the document; deterministic for (kind, identity, noise, seed,
    licence_layout)."""
    rng = random.Random(f"{kind}:{seed}:{noise}")
    draw = _RENDERERS[kind]
    if kind is DocumentKind.BUSINESS_LICENCE and licence_layout == "2015":
        draw = _licence_2015
    img = np.asarray(draw(identity, rng), dtype=np.uint8)
    quality = 92
    if noise == "mild":
        img, quality = _mild(img, rng)
    elif noise == "harsh":
        img, quality = _harsh(img, rng)
    elif noise in ("phone", "wild"):
        img, quality = _phone(img, rng, wild=noise == "wild")
    out = BytesIO()
    Image.fromarray(img, "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
