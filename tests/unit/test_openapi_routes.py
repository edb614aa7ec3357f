"""The OpenAPI document cannot drift from the routes: each Chalice route is documented,
each documented operation is a route, with the same request model."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

from lending.api.openapi import ROUTES, openapi

APP = Path(__file__).resolve().parents[2] / "functions" / "api" / "app.py"
UNDOCUMENTED = {("get", "/v1/openapi.json")}  # the document itself


def api_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_app_under_test", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_route_is_documented_and_every_documented_operation_exists() -> None:
    app = api_module().app
    routed = {(method.lower(), path) for path, methods in app.routes.items() for method in methods}
    documented = {
        (method, path) for path, operations in openapi()["paths"].items() for method in operations
    }
    assert routed - UNDOCUMENTED == documented


def test_each_documented_request_model_is_the_one_the_route_parses() -> None:
    module = api_module()
    views = {
        (method.lower(), path): entry.view_function
        for path, methods in module.app.routes.items()
        for method, entry in methods.items()
    }
    for method, path, _, request, _, _ in ROUTES:
        source = inspect.getsource(views[(method, path)])
        if request is None:
            assert "body(" not in source, f"{method} {path} parses a body the document omits"
        else:
            assert f"body({request.__name__})" in source, f"{method} {path}: not {request}"
