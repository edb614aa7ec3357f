"""The local cloud's Step Functions shortcuts (`moto_speed`) change no execution's result.

A definition is parsed once however many executions run it, and executions running at the
same time from one parse tree each evaluate their own input."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from infra.localcloud import moto_speed

ROLE = "arn:aws:iam::123456789012:role/sfn"
# Choice on the input, a Map over it and a Pass that adds a field: state that a shared
# evaluation component would carry from one execution into another.
DEFINITION = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Each"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ResultPath": "$.items",
            "Iterator": {
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "End": True}},
            },
            "End": True,
        },
    },
}


@pytest.fixture
def sfn() -> Iterator[Any]:
    moto_speed.install()
    env = {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "cn-north-1",
    }
    with (
        mock.patch.dict(os.environ, env),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
    ):
        yield boto3.client("stepfunctions", region_name="cn-north-1")


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError(f"{arn} still running")


def test_executions_from_one_parse_each_get_their_own_result(sfn: Any) -> None:
    machine = sfn.create_state_machine(name="m", definition=json.dumps(DEFINITION), roleArn=ROLE)[
        "stateMachineArn"
    ]
    parses: Counter[str] = Counter()
    parse = AmazonStateLanguageParser.parse

    def counting(definition: str) -> Any:
        parses[definition] += 1
        return parse(definition)

    with mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(counting)):

        def run(n: int) -> dict[str, Any]:
            started = sfn.start_execution(
                stateMachineArn=machine,
                name=f"run-{n}",
                input=json.dumps({"n": n, "items": list(range(n))}),
            )
            return _finished(sfn, started["executionArn"])

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(run, range(12)))

    for n, result in enumerate(results):
        assert result["status"] == "SUCCEEDED"
        assert json.loads(result["output"]) == {
            "n": n,
            "items": list(range(n)),
            "size": "big" if n > 5 else "small",
        }
    # The Map's iterator is parsed as part of its machine; once for all twelve runs.
    assert sum(parses.values()) <= 1


def test_a_definition_it_cannot_parse_is_still_refused(sfn: Any) -> None:
    with pytest.raises(ClientError, match="ASLParserException"):
        sfn.create_state_machine(name="bad", definition='{"StartAt": 1}', roleArn=ROLE)
