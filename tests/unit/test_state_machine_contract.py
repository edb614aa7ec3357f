"""The ASL and the code agree: every error name a Retry or Catch lists is a real exception
class that the code raises (or sends with SendTaskFailure), so no branch is dead."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import lending
from infra.statemachines.origination import render

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "infra" / "statemachines" / "origination.asl.json"
# Names Step Functions itself (States.*) or the Lambda service (Lambda.*) produce.
SERVICE_PREFIXES = ("States.", "Lambda.")


def error_names(states: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for state in states.values():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            names.update(rule["ErrorEquals"])
        for branch in state.get("Branches", []):
            names |= error_names(branch["States"])
    return names


def exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(lending.__path__, "lending."):
        if info.name.startswith("lending.modelling"):
            continue  # offline training: needs the train extra, raises nothing the ASL sees
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException):
                found.setdefault(value.__name__, value)
    return found


def source_text() -> str:
    files = [*(ROOT / "shared" / "lending").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    return "\n".join(f.read_text() for f in files)


def test_every_error_the_state_machine_names_is_raised_by_the_code() -> None:
    names = {
        n
        for n in error_names(json.loads(ASL.read_text())["States"])
        if not n.startswith(SERVICE_PREFIXES)
    }
    assert names, "the ASL catches no error of its own?"
    classes = exception_classes()
    code = source_text()
    for name in sorted(names):
        assert name in classes, f"{name}: no exception class of that name"
        # Exactly this class: a subclass raised reaches Step Functions under its own name.
        assert re.search(rf"raise {name}\(|{name}\.__name__", code), f"{name} is never raised"


def test_the_deployed_asl_is_the_one_the_builder_writes() -> None:
    assert ASL.read_text() == render(), "run: python -m infra.statemachines.origination"


def test_the_deployed_servicing_asl_is_the_one_the_builder_writes() -> None:
    from infra.statemachines import servicing

    assert servicing.ASL.read_text() == servicing.render(), "run: make asl"
