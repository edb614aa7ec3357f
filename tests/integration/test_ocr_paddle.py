"""The PaddleOCR engine for real, on rendered documents: PaddleOCR 3.x on the Paddle CPU
runtime with the PP-OCRv4 models `make paddle-venv` prepared (nothing downloaded).

Paddle lives in its own venv (.venv-paddle), so the documents are rendered here and
validated there by tests/paddle_worker.py, in one subprocess (one cold start) for
all cases, without network where the machine allows it. `make test` makes the venv
first; a missing venv fails these tests. They are skipped only when asked to:
LENDING_SKIP_PADDLE=1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lending.documents.kinds import DocumentKind
from lending.sandbox import SyntheticIdentity, make_identity
from lending.sandbox.documents import Noise, render_document

pytestmark = pytest.mark.ocr
ROOT = Path(__file__).resolve().parents[2]
PADDLE_PYTHON = Path(os.environ.get("PADDLE_PYTHON", ROOT / ".venv-paddle" / "bin" / "python"))
TODAY = date(2025, 6, 1)
ID_CARD = [DocumentKind.ID_FRONT, DocumentKind.ID_BACK]

if os.environ.get("LENDING_SKIP_PADDLE") == "1":
    pytest.skip("LENDING_SKIP_PADDLE=1", allow_module_level=True)


def pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements file's `name==version` lines."""
    out = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, ver = line.partition("==")
            out[name.strip().lower().replace("_", "-")] = ver.strip()
    return out


def _request(
    folder: Path,
    ident: SyntheticIdentity,
    images: dict[DocumentKind, bytes],
    *,
    name: str | None = None,
    full: bool = False,
) -> dict[str, Any]:
    paths = {}
    for kind, data in images.items():
        paths[str(kind)] = str(folder / f"{len(list(folder.iterdir()))}-{kind}.img")
        Path(paths[str(kind)]).write_bytes(data)
    declared: dict[str, str | None] = {"name": name or ident.name, "id_number": ident.id_number}
    if full:
        declared |= {
            "bank_card_number": ident.bank_card_number,
            "company_name": ident.company_name,
            "credit_code": ident.credit_code,
        }
    return {"images": paths, "declared": declared, "today": TODAY.isoformat()}


def _render(
    ident: SyntheticIdentity, noise: Noise, kinds: list[DocumentKind]
) -> dict[DocumentKind, bytes]:
    return {k: render_document(k, ident, noise=noise, seed=7) for k in kinds}


def _blank_png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (856, 540), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def _offline() -> list[str]:
    """A network namespace of its own where the machine allows one (root, as CI): the
    engine must load its models with no network at all."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], check=False).returncode == 0:
        return [unshare, "-n"]
    return []


CLEAN = make_identity(11, today=TODAY)
HARSH = make_identity(13, today=TODAY)


@pytest.fixture(scope="module")
def paddle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not PADDLE_PYTHON.exists():
        pytest.fail(f"{PADDLE_PYTHON} is missing: `make paddle-venv` makes it")
    folder = tmp_path_factory.mktemp("paddle")
    requests = [
        # every document, clean: verified, every field read
        _request(folder, CLEAN, _render(CLEAN, "clean", list(DocumentKind)), full=True),
        # a harsh photo of an ID card declared under another name: mismatch
        _request(folder, HARSH, _render(HARSH, "harsh", ID_CARD), name="欧阳" + HARSH.name[1:]),
        # a blank photo for the front: unreadable
        _request(
            folder,
            CLEAN,
            {
                DocumentKind.ID_FRONT: _blank_png(),
                **_render(CLEAN, "clean", [DocumentKind.ID_BACK]),
            },
        ),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [*_offline(), str(PADDLE_PYTHON), "-m", "tests.paddle_worker"],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_runs_the_pinned_paddle_engine(paddle: dict[str, Any]) -> None:
    assert paddle["engine"] == "PaddleOcrEngine"
    pinned = pins(ROOT / "requirements" / "paddle.txt")
    assert paddle["versions"] == {name: pinned[name] for name in paddle["versions"]}


def test_clean_documents_are_verified_with_every_field(paddle: dict[str, Any]) -> None:
    result = paddle["results"][0]
    assert result["outcome"] == "verified", result["reasons"]
    got = result["extracted"]
    assert got["name"] == CLEAN.name
    assert got["id_number"] == CLEAN.id_number
    assert got["id_valid_to"] == CLEAN.id_valid_to.isoformat()
    assert got["bank_card_number"] == CLEAN.bank_card_number
    assert got["credit_code"] == CLEAN.credit_code
    assert got["company_name"] == CLEAN.company_name
    assert got["legal_representative"] == CLEAN.name


def test_harsh_id_card_under_another_name_is_a_mismatch(paddle: dict[str, Any]) -> None:
    result = paddle["results"][1]
    assert result["outcome"] == "mismatch", result["reasons"]
    assert {(doc, field) for doc, field, _ in result["reasons"]} == {("id_front", "name")}
    assert result["extracted"]["id_number"] == HARSH.id_number


def test_blank_photo_is_unreadable(paddle: dict[str, Any]) -> None:
    result = paddle["results"][2]
    assert result["outcome"] == "unreadable"
    assert [code for _, _, code in result["reasons"]] == ["unreadable_image"]
