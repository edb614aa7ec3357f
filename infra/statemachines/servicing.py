"""The servicing state machine (the night's job and the morning's reminders), written once.

`python -m infra.statemachines.servicing` writes `servicing.asl.json`; template.yaml
deploys it twice, with each job's own functions substituted (least privilege: the night
writes the ledger and asks for debits, the reminders read contact details and send).

Plan lists the shards (index partitions); a Map pages through each, a Lambda call per
page that checkpoints after its page, looping until the shard is done; Close writes the
job's report. A crash midway (a call that dies, an execution that fails) resumes from
the checkpoints: run the execution again, nothing is done twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.statemachines.origination import LAMBDA_RETRY

ASL = Path(__file__).with_name("servicing.asl.json")
State = dict[str, Any]
# Pages run in parallel this wide (each is one Lambda call at a time per shard).
MAX_CONCURRENCY = 8

RETRY: list[State] = [
    LAMBDA_RETRY,
    # A page that failed (a function that died, a ledger that kept changing) is run
    # again from its checkpoint.
    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2.0},
]


def task(function: str, next_state: str | None, **extra: Any) -> State:
    state: State = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"${{{function}Arn}}", "Payload.$": "$"},
        "ResultSelector": {"result.$": "$.Payload"},
        "OutputPath": "$.result",
        "Retry": RETRY,
        **extra,
    }
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def definition() -> dict[str, Any]:
    page_loop: dict[str, Any] = {
        "StartAt": "ServicePage",
        "States": {
            "ServicePage": task("ServicePageFunction", "ShardDone"),
            "ShardDone": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Shard"}],
                "Default": "NextPage",
            },
            # The next call takes the shard again (its checkpoint says where it is).
            "NextPage": {"Type": "Pass", "Parameters": {"task.$": "$.task"}, "Next": "ServicePage"},
            "Shard": {"Type": "Succeed"},
        },
    }
    states: dict[str, State] = {
        "Plan": task("PlanServicingFunction", "Shards"),
        "Shards": {
            "Type": "Map",
            "ItemsPath": "$.shards",
            "ItemSelector": {"task.$": "$$.Map.Item.Value"},
            "MaxConcurrency": MAX_CONCURRENCY,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                **page_loop,
            },
            "ResultPath": None,
            "Next": "Close",
        },
        "Close": task("CloseServicingFunction", None),
    }
    return {
        "Comment": "Loan servicing: a job over the loans due and watched, shard by shard, "
        "page by page, checkpointed.",
        "StartAt": "Plan",
        "States": states,
    }


def render() -> str:
    return json.dumps(definition(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    ASL.write_text(render())
    print(f"wrote {ASL}")
