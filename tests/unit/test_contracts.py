"""The documents we publish (OpenAPI, funder message schemas) stay what the code does."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from lending.api.openapi import message_schemas, openapi
from lending.funding.model import Confirmation, FundRequestBody

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"


def test_openapi_document_is_valid_and_covers_every_route() -> None:
    doc = openapi()
    validate(doc)
    assert "/v1/applications/{application_id}/submit" in doc["paths"]
    assert "CreateApplicationRequest" in doc["components"]["schemas"]


@pytest.mark.parametrize("name", sorted(message_schemas()))
def test_published_message_schemas_match_the_code(name: str) -> None:
    published = json.loads((CONTRACTS / name).read_text(encoding="utf-8"))
    assert published == message_schemas()[name], f"regenerate tests/contracts/{name}"


def test_samples_validate_against_schemas_and_models() -> None:
    schemas = message_schemas()
    request = json.loads((CONTRACTS / "fund-request.v1.sample.json").read_text(encoding="utf-8"))
    jsonschema.validate(request["body"], schemas["fund-request.v1.schema.json"])
    assert FundRequestBody.model_validate(request["body"]).amount_fen == 3_000_000
    confirmation = json.loads(
        (CONTRACTS / "fund-confirmation.v1.sample.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(confirmation, schemas["fund-confirmation.v1.schema.json"])
    assert Confirmation.model_validate(confirmation).status == "paid"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**confirmation, "status": "maybe"}, schemas["fund-confirmation.v1.schema.json"]
        )
