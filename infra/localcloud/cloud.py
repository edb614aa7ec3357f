"""Boot the local cloud: moto + the real template + the real state machine + the API.

with LocalCloud.start() as cloud:
    cloud.api_url         # the mini-program API on 127.0.0.1
    cloud.s3_url          # where presigned document uploads go (moto's S3 on loopback)
    cloud.banks           # the simulated partner banks pulling their queues
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import boto3
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from moto.server import ThreadedMotoServer

from infra.localcloud import iam, lambdas, moto_speed, s3_post_policy
from infra.localcloud.apigateway import ApiGateway
from infra.localcloud.bank import SimulatedBank
from infra.localcloud.channel import SimulatedChannel, new_key, public_pem
from infra.localcloud.clock import ControllableClock
from infra.localcloud.deploy import Deployment, TemplateDeployer
from infra.localcloud.schedules import Fired, Schedule, plan
from infra.localcloud.smtp import SmtpSink
from infra.localcloud.wechat import FakeWeChat, Message

ROOT = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"
FINANCE_SENDER, FINANCE_MAILBOX = "digest@lender.example", "finance@lender.example"
# How long `tick` waits for a scheduled state machine execution to finish.
SCHEDULED_EXECUTION_TIMEOUT_SECONDS = 600.0
log = logging.getLogger("localcloud")
logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Fake credentials: moto accepts anything, and nothing may reach a real AWS endpoint.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class LocalCloud:
    deployment: Deployment
    registry: lambdas.LambdaRegistry
    clock: ControllableClock
    api_url: str
    s3_url: str
    started_in_seconds: float
    banks: dict[str, SimulatedBank] = field(default_factory=dict)
    channel: SimulatedChannel | None = None  # the payment channel (with the banks)
    smtp: SmtpSink | None = None  # the mail relay finance's digest goes out through
    wechat: FakeWeChat | None = None  # WeChat's API: the reminders' subscription messages
    # Scheduled functions that failed: (logical id, fire time, error).
    schedule_errors: list[tuple[str, datetime, str]] = field(default_factory=list)
    # Every AWS call each function made (moto enforces no IAM: `iam_findings` checks them).
    calls: iam.CallRecorder | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    _stoppers: list[Any] = field(default_factory=list)
    _last_fired: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def start(
        cls,
        banks: bool = True,
        log_level: str = "WARNING",
        sandbox: bool = True,
        moto_as_is: bool = False,
    ) -> Iterator[LocalCloud]:
        """`sandbox=False` deploys as production does: no sandbox login nor sandbox data
        (start it with banks=False: the simulated banks sign in through the sandbox).
        `moto_as_is=True` leaves moto's O(table) calls unpatched (`moto_speed`; a patch,
        once made, stays for the process)."""
        started = time.perf_counter()
        saved_env = dict(os.environ)
        os.environ.update(_FAKE_AWS_ENV)
        if not moto_as_is:
            moto_speed.install()
        mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        mock.start()
        registry = lambdas.LambdaRegistry()
        lambdas.install(registry)
        s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        s3_server.start()
        s3_post_policy.install(s3_server, REGION)  # moto's S3 enforces no POST policy
        clock = ControllableClock()
        smtp, wechat = SmtpSink(), FakeWeChat(now=clock.now)  # the lender's mail relay, WeChat
        servers: list[_Server] = [s3_server, smtp, wechat]
        for server in servers[1:]:
            server.start()
        cloud: LocalCloud | None = None
        calls: iam.CallRecorder | None = None
        api_port = free_port()  # the one address of the API and the front ends
        parameters = _parameters(sandbox, log_level, smtp, wechat, api_port)
        channel_key = new_key()  # the simulated payment channel's own key
        try:
            deployment = TemplateDeployer(
                ROOT,
                registry,
                region=REGION,
                parameters={**parameters, "PaymentChannelPublicKey": public_pem(channel_key)},
            ).deploy()
            # Before any function builds a client: a client copies the handlers it is born with.
            calls = iam.CallRecorder(iam.Resources.of(deployment, ROOT))
            calls.install(_default_session_events())
            s3_url = f"http://127.0.0.1:{s3_server._server.port}"  # type: ignore[union-attr]
            _configure(deployment, s3_url, wechat)
            _wire(clock)
            _seed_funders()
            _seed_models()
            api_server = _serve_api(registry, deployment, api_port)
            cloud = cls(
                deployment=deployment,
                registry=registry,
                clock=clock,
                api_url=f"http://127.0.0.1:{api_port}",
                s3_url=s3_url,
                started_in_seconds=0.0,
                calls=calls,
                parameters=parameters,
                _stoppers=[api_server.shutdown, *(server.stop for server in servers)],
                smtp=smtp,
                wechat=wechat,
            )
            if banks:
                _start_outside_world(cloud, channel_key)
            cloud.started_in_seconds = time.perf_counter() - started
            yield cloud
        finally:
            if cloud is not None:
                for stop in reversed(cloud._stoppers):
                    stop()
            else:
                for server in servers:
                    server.stop()
            if calls is not None:
                calls.uninstall(_default_session_events())
            lambdas.uninstall()
            _unwire()
            mock.stop()
            os.environ.clear()
            os.environ.update(saved_env)

    # -- sandbox controls -------------------------------------------------------------------

    def pin(self, id_number: str, row: int, dishonest: bool = False) -> None:
        """Make the sandbox bureau answer for this person with German row `row`."""
        from lending.aws import wiring

        id_hash = wiring.blind_index().digest("id:" + id_number)
        directory = wiring.sandbox_directory()
        directory.rows[id_hash] = row
        directory.dishonest[id_hash] = dishonest

    def pin_company(self, credit_code: str, status: str = "存续") -> None:
        """Make the sandbox business registry report this company's status."""
        from lending.aws import wiring

        code_hash = wiring.blind_index().digest("uscc:" + credit_code)
        wiring.sandbox_directory().companies[code_hash] = status

    def set_outage(self, source: str, down: bool = True) -> None:
        from lending.aws import wiring

        faults = wiring.sandbox_faults()
        if down:
            faults.down.add(source)
        else:
            faults.down.discard(source)

    @contextmanager
    def wait_timeouts(self, **seconds: int) -> Iterator[None]:
        """Executions started inside get these wait timeouts (e.g. funding=2), as a
        deployment with those settings would; the others keep theirs."""
        from lending.aws.settings import settings

        names = {f"LENDING_{name.upper()}_TIMEOUT_SECONDS": str(v) for name, v in seconds.items()}
        saved = {name: os.environ[name] for name in names if name in os.environ}
        os.environ.update(names)
        settings.cache_clear()
        try:
            yield
        finally:
            for name in names:
                os.environ.pop(name, None)
            os.environ.update(saved)
            settings.cache_clear()

    # -- time ----------------------------------------------------------------------------

    def tick(self, delta: timedelta, only: Collection[str] | None = None) -> list[Fired]:
        """Move the clock on by `delta`, firing the schedules due on the way (those named in
        `only`, when given: a test that puts the clock back afterwards must not run
        another test's nights, which would then run again under the same name).

        A cron schedule fires at each of its occurrences, a rate schedule at most once, at
        the end, if a full period has passed since it last fired (see `schedules.plan`).
        Before each firing the clock is moved to its time, so the target sees that "now";
        a state machine's execution is waited for before the next. The clock ends exactly
        `delta` on. Returns what fired, (logical id, fire time), in order.
        """
        start = self.clock.now()
        until = start + delta
        schedules = [
            s for s in self.deployment.schedules.values() if only is None or s.logical_id in only
        ]
        for schedule in schedules:
            self._last_fired.setdefault(schedule.logical_id, start)
        cursor = start
        fired: list[Fired] = []
        try:
            for at, schedule in plan(schedules, start, until, self._last_fired):
                self.clock.advance(at - cursor)
                cursor = at
                if schedule.period is not None:
                    self._last_fired[schedule.logical_id] = at
                self._fire(schedule, at)
                fired.append(Fired(schedule.logical_id, at))
        finally:
            self.clock.advance(until - cursor)
        return fired

    def _fire(self, schedule: Schedule, at: datetime) -> None:
        if schedule.target == "function":
            payload = schedule.input or json.dumps({"source": "local.scheduler"})
            out = boto3.client("lambda", region_name=REGION).invoke(
                FunctionName=self.deployment.functions[schedule.logical_id].name, Payload=payload
            )
            if out.get("FunctionError"):
                # AWS would retry and then drop it: here it is kept for tests to see.
                error = out["Payload"].read().decode()
                log.error("scheduled %s failed: %s", schedule.logical_id, error)
                self.schedule_errors.append((schedule.logical_id, at, error))
            return
        sfn = self.sfn()
        execution = sfn.start_execution(  # moto needs named executions
            stateMachineArn=self.deployment.state_machines[schedule.logical_id],
            name=f"{schedule.logical_id}-{at.astimezone(UTC):%Y%m%dT%H%M%S}",
            input=schedule.input or "{}",
        )["executionArn"]
        deadline = time.monotonic() + SCHEDULED_EXECUTION_TIMEOUT_SECONDS
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution} still RUNNING after the tick's wait")
            time.sleep(0.05)

    # -- inspection for tests and the demo -------------------------------------------------

    def sfn(self) -> Any:
        return boto3.client("stepfunctions", region_name=REGION)

    def execution(self, application_id: str) -> dict[str, Any]:
        arn = self.deployment.state_machines["OriginationStateMachine"].replace(
            ":stateMachine:", ":execution:"
        )
        result: dict[str, Any] = self.sfn().describe_execution(
            executionArn=f"{arn}:{application_id}"
        )
        return result

    def executions(self) -> list[dict[str, Any]]:
        arn = self.deployment.state_machines["OriginationStateMachine"]
        out: list[dict[str, Any]] = self.sfn().list_executions(stateMachineArn=arn)["executions"]
        return out

    def history(self, application_id: str) -> list[dict[str, Any]]:
        arn = self.execution(application_id)["executionArn"]
        events: list[dict[str, Any]] = self.sfn().get_execution_history(
            executionArn=arn, maxResults=1000
        )["events"]
        return events

    def sms_outbox(self) -> list[tuple[str, str]]:
        """Every SMS sent through SNS, in order: (phone number, text). moto keeps them;
        the local cloud delivers none."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())

    def wechat_outbox(self) -> list[Message]:
        """Every subscription message WeChat accepted, in order."""
        return list(self.wechat.outbox) if self.wechat is not None else []

    def emails(self) -> list[tuple[str, list[str], EmailMessage]]:
        """Every email the local mail relay accepted: (sender, recipients, message)."""
        return list(self.smtp.outbox) if self.smtp is not None else []

    def iam_findings(self) -> list[iam.Finding]:
        """Each function's recorded AWS calls against its role as SAM translates the
        template (moto enforces no IAM): what was denied, what is granted and unused."""
        assert self.calls is not None
        roles = iam.role_policies(self.deployment, ROOT, self.parameters)
        return iam.check(self.calls.snapshot(), roles, self.calls.resources)


def _configure(deployment: Deployment, s3_url: str, wechat: FakeWeChat) -> None:
    """The functions' environment, and the operator's step after deploying: the
    mini-program's id and secret in the secret the stack created."""
    os.environ.update(deployment.environment)
    os.environ["LENDING_S3_PUBLIC_ENDPOINT"] = s3_url
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=deployment.resolver.refs["WeChatAppCredentials"],
        SecretString=wechat.credentials(),
    )


def _parameters(
    sandbox: bool, log_level: str, smtp: SmtpSink, wechat: FakeWeChat, api_port: int
) -> dict[str, str]:
    """The stack's parameters: the lender's mail relay, WeChat and the front ends' one
    origin (the API server's, which serves them) are on loopback."""
    return {
        "FrontEndOrigins": f"http://127.0.0.1:{api_port}",
        "Sandbox": str(sandbox).lower(),
        "Stage": "dev",
        "LogLevel": log_level,
        "FinanceSender": FINANCE_SENDER,
        "FinanceRecipients": FINANCE_MAILBOX,
        "FinanceSmtpHost": "127.0.0.1",
        "FinanceSmtpPort": str(smtp.port),
        "FinanceSmtpStartTls": "false",
        "WeChatApiBase": wechat.url,
        "WeChatReminderTemplateId": wechat.template_id,
    }


def _start_outside_world(cloud: LocalCloud, channel_key: rsa.RSAPrivateKey) -> None:
    """The partner banks (one per funder queue) and the payment channel."""
    environment = cloud.deployment.environment
    for funder_id, url in json.loads(environment["LENDING_FUNDER_QUEUES"]).items():
        bank = SimulatedBank(funder_id, url, cloud.api_url, REGION, now=cloud.clock.now)
        bank.start()
        cloud.banks[funder_id] = bank
        cloud._stoppers.append(bank.stop)
    queue = environment["LENDING_PAYMENT_REQUESTS_QUEUE"]
    cloud.channel = SimulatedChannel(queue, cloud.api_url, REGION, channel_key, now=cloud.clock.now)
    cloud.channel.start()
    cloud._stoppers.append(cloud.channel.stop)


def _wire(clock: ControllableClock) -> None:
    from lending.aws import wiring

    wiring.reset()
    wiring.override(clock=clock)


def _default_session_events() -> Any:
    """The event system of boto3's default session (moto gives each mock a fresh one)."""
    return boto3._get_default_session().events


def _unwire() -> None:
    from lending.aws import wiring

    wiring.reset()


def _seed_funders() -> None:
    from lending.aws import wiring
    from lending.sandbox.funders import SANDBOX_FUNDERS

    repo = wiring.funders()
    for funder in SANDBOX_FUNDERS:
        repo.put(funder)


def _seed_models() -> None:
    """Register the packaged admission scorecard as the champion, as a first deployment
    does; the score step then loads it from the registry (S3 + table), checksum-checked."""
    from lending.aws import wiring
    from lending.scoring.registry import ModelRecord, sha256_hex
    from lending.scoring.scorecard import DEFAULT_ARTEFACT, Scorecard

    blob = Path(DEFAULT_ARTEFACT).read_bytes()
    card = Scorecard.load()
    record = ModelRecord(
        family=wiring.config().admission_family,
        version=card.version,
        algorithm="scorecard",
        role="champion",
        sha256=sha256_hex(blob),
        created_at=datetime.now(UTC).isoformat(),
    )
    wiring.model_registry().register(record, blob)


def _serve_api(registry: lambdas.LambdaRegistry, deployment: Deployment, port: int) -> ApiGateway:
    """API Gateway's `ANY /{proxy+}` in front of the API function's real Lambda handler."""
    gateway = ApiGateway(registry, deployment.functions["ApiFunction"].name, port)
    gateway.start()
    return gateway
