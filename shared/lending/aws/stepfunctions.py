"""Step Functions adapter of the workflow port."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any


class StepFunctionsWorkflow:
    def __init__(
        self, client: Any, state_machine_arn: str, timeouts: Callable[[], Mapping[str, int]]
    ) -> None:
        self._sfn = client
        self._arn = state_machine_arn
        # Seconds each wait of an execution may take (the execution input carries them),
        # read from the settings at each start.
        self._timeouts = timeouts

    def start(self, application_id: str) -> bool:
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=application_id,
                input=json.dumps(
                    {"application_id": application_id, "timeouts": dict(self._timeouts())}
                ),
            )
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        try:
            self._sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except (self._sfn.exceptions.TaskTimedOut, self._sfn.exceptions.InvalidToken):
            return False
        return True

    def fail(self, token: str, error: str) -> bool:
        # moto drops SendTaskFailure's cause, so everything the ASL needs is in `error`.
        try:
            self._sfn.send_task_failure(taskToken=token, error=error)
        except (self._sfn.exceptions.TaskTimedOut, self._sfn.exceptions.InvalidToken):
            return False
        return True
