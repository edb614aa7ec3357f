"""IAM, which moto does not enforce: record each function's AWS calls, check them against
the function's role as SAM translates template.yaml.

- `CallRecorder` hooks botocore's event system (`before-parameter-build`, `after-call`,
  and the S3 client class for presigned POSTs) and attributes each call to the function
  whose handler is running (`lambdas.running_function`); the local cloud's own calls, the
  simulated banks' and the tests' run outside any handler and are not recorded. Each call
  becomes the IAM authorisations it needs (`Need`: action + resource ARN), including the
  implicit ones: KMS for SSE-KMS tables, buckets and queues, one action per item of a
  DynamoDB transaction. Only ids and ARNs are kept, never parameters (personal data).
- `role_policies` asks SAM's own translator (in .venv-sam) for each function's role and
  resolves its intrinsics against the deployment; `check` evaluates every recorded need
  against it (explicit Deny, then Allow, IAM wildcards) and reports what is denied, and
  what is granted but never used (a table, key, queue, bucket or state machine no call
  touched, or a statement no call needed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from infra.localcloud.deploy import ACCOUNT, Deployment
from infra.localcloud.lambdas import running_function
from infra.localcloud.template import Resolver, load_template

# The managed policies SAM attaches (logs, X-Ray): the runtime uses them, never our code,
# and they grant none of the stack's resources.
RUNTIME_MANAGED_POLICIES = (
    "iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "iam::aws:policy/AWSXRayDaemonWriteAccess",
    "iam::aws:policy/AWSXrayWriteOnlyAccess",
)
# botocore service name -> IAM service prefix, where they differ.
_PREFIX = {"stepfunctions": "states"}
# Operations authorised by another action than their own name.
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
}
_BUCKET_LEVEL = {"ListBucket", "GetBucketLocation", "GetBucketCors", "GetEncryptionConfiguration"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_EXECUTION_OPERATIONS = {"DescribeExecution", "GetExecutionHistory", "StopExecution"}
_TASK_OPERATIONS = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}


@dataclass(frozen=True, order=True)
class Need:
    """One authorisation a call needs: an IAM action on a resource ARN."""

    action: str
    resource: str
    why: str = ""  # an implicit need says what implies it


@dataclass(frozen=True, order=True)
class Call:
    function: str  # logical id
    operation: str  # "dynamodb.Query"
    needs: tuple[Need, ...]


# -- the stack's resources, by what calls name them --------------------------------------


@dataclass
class Resources:
    """ARNs of the deployed resources, and the KMS key each encrypts with."""

    partition: str
    region: str
    account: str = ACCOUNT
    # base ARN -> logical id (tables, buckets, queues, keys, state machines, functions)
    by_arn: dict[str, str] = field(default_factory=dict)
    sse_keys: dict[str, str] = field(default_factory=dict)  # resource ARN -> key ARN
    queues: dict[str, str] = field(default_factory=dict)  # URL -> ARN
    aliases: dict[str, str] = field(default_factory=dict)  # alias name -> key ARN
    state_machines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, deployment: Deployment, root: Path) -> Resources:
        r = deployment.resolver
        found = cls(partition=r.refs["AWS::Partition"], region=deployment.region)
        template = load_template(root / "template.yaml")["Resources"]
        kinds = {
            "AWS::DynamoDB::Table": found._table,
            "AWS::S3::Bucket": found._bucket,
            "AWS::SQS::Queue": found._queue,
            "AWS::KMS::Key": found._key,
            "AWS::KMS::Alias": found._alias,
            "AWS::SecretsManager::Secret": found._secret,
        }
        for logical_id in deployment.created:
            spec = template[logical_id]
            add = kinds.get(spec["Type"])
            if add is not None:
                add(logical_id, r.resolve(spec.get("Properties", {})), r)
        for logical_id, arn in deployment.state_machines.items():
            found.by_arn[arn] = logical_id
            found.state_machines.append(arn)
        for logical_id, fn in deployment.functions.items():
            found.by_arn[fn.arn] = logical_id
        return found

    def _table(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        arn = self.table(r.refs[logical_id])
        self.by_arn[arn] = logical_id
        sse = props.get("SSESpecification") or {}
        if sse.get("SSEEnabled") and sse.get("KMSMasterKeyId"):
            self.sse_keys[arn] = self.key(sse["KMSMasterKeyId"])

    def _bucket(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        arn = self.bucket(r.refs[logical_id])
        self.by_arn[arn] = logical_id
        rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", [])
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                self.sse_keys[arn] = self.key(default["KMSMasterKeyID"])

    def _queue(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        arn = r.attributes[(logical_id, "Arn")]
        self.by_arn[arn] = logical_id
        self.queues[r.refs[logical_id]] = arn
        if props.get("KmsMasterKeyId"):
            self.sse_keys[arn] = self.key(props["KmsMasterKeyId"])

    def _key(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        self.by_arn[self.key(r.refs[logical_id])] = logical_id

    def _secret(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        self.by_arn[r.refs[logical_id]] = logical_id

    def _alias(self, logical_id: str, props: dict[str, Any], r: Resolver) -> None:
        self.aliases[props["AliasName"]] = self.key(props["TargetKeyId"])

    # -- ARNs as IAM sees them -----------------------------------------------------------

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def table(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("dynamodb", f"table/{name}")

    def bucket(self, name: str) -> str:
        return f"arn:{self.partition}:s3:::{name}"

    def key(self, key_id: str) -> str:
        """A key id, key ARN, alias name or alias ARN -> the key's ARN."""
        if key_id.startswith("alias/"):
            return self.aliases.get(key_id, self._arn("kms", key_id))
        if key_id.startswith("arn:") and ":alias/" in key_id:
            return self.aliases.get("alias/" + key_id.split(":alias/", 1)[1], key_id)
        return key_id if key_id.startswith("arn:") else self._arn("kms", f"key/{key_id}")

    def queue(self, url: str) -> str:
        if url in self.queues:
            return self.queues[url]
        account, name = url.rstrip("/").split("/")[-2:]
        return f"arn:{self.partition}:sqs:{self.region}:{account}:{name}"

    def function(self, name: str) -> str:
        return name if name.startswith("arn:") else self._arn("lambda", f"function:{name}")

    def owner(self, arn: str) -> str | None:
        """The logical id of the resource an ARN is, or is inside (an index, an object)."""
        for base, logical_id in self.by_arn.items():
            if arn == base or arn.startswith(base + "/"):
                return logical_id
        return None

    # -- what a call needs ---------------------------------------------------------------

    def needs(self, service: str, operation: str, params: dict[str, Any]) -> list[Need]:
        prefix = _PREFIX.get(service, service)
        build = getattr(self, f"_needs_{service}", None)
        if build is None:
            return [Need(f"{prefix}:{operation}", "?", f"no IAM mapping for {service}")]
        found: list[Need] = build(operation, params)
        return found

    def _needs_dynamodb(self, operation: str, params: dict[str, Any]) -> list[Need]:
        if operation in ("TransactWriteItems", "TransactGetItems"):
            # No transact action in IAM: each item needs its own action on its table.
            items = params.get("TransactItems", [])
            pairs = [(_TRANSACT_ACTIONS[kind], body) for i in items for kind, body in i.items()]
            needs = [Need(f"dynamodb:{a}", self.table(b["TableName"])) for a, b in pairs]
        elif operation in ("BatchWriteItem", "BatchGetItem"):
            tables = params.get("RequestItems", {})
            needs = [Need(f"dynamodb:{operation}", self.table(t)) for t in tables]
        else:
            table = self.table(params["TableName"])
            index = params.get("IndexName")
            needs = [Need(f"dynamodb:{operation}", f"{table}/index/{index}" if index else table)]
        return needs + self._sse(needs, "kms:Decrypt", "dynamodb")

    def _sse(self, needs: Iterable[Need], action: str, via: str) -> list[Need]:
        """The caller's own KMS permission that SSE-KMS under a customer key needs."""
        out = set()
        for need in needs:
            base = self._container(need.resource)
            if base in self.sse_keys:
                out.add(Need(action, self.sse_keys[base], f"SSE-KMS of {via} {base}"))
        return sorted(out)

    def _container(self, arn: str) -> str:
        """The table of an index, the bucket of an object; any other ARN is its own."""
        if "/index/" in arn:
            return arn.split("/index/", 1)[0]
        if arn.startswith(f"arn:{self.partition}:s3:::"):
            return arn.split("/", 1)[0]
        return arn

    def _needs_kms(self, operation: str, params: dict[str, Any]) -> list[Need]:
        key = params.get("KeyId")
        # Decrypt names no key (the ciphertext does): the after-call hook fills it in.
        return [Need(f"kms:{operation}", self.key(key) if key else "?")]

    def _needs_s3(self, operation: str, params: dict[str, Any]) -> list[Need]:
        action = _S3_ACTIONS.get(operation, operation)
        bucket = self.bucket(params["Bucket"])
        if action in _BUCKET_LEVEL or "Key" not in params:
            return [Need(f"s3:{action}", bucket)]
        need = Need(f"s3:{action}", f"{bucket}/{params['Key']}")
        implied = {"PutObject": "kms:GenerateDataKey", "GetObject": "kms:Decrypt"}
        if operation in implied:  # a HEAD reads metadata only: no key
            return [need, *self._sse([need], implied[operation], "s3")]
        return [need]

    def _needs_sqs(self, operation: str, params: dict[str, Any]) -> list[Need]:
        if operation == "GetQueueUrl":
            arn = f"arn:{self.partition}:sqs:{self.region}:{self.account}:{params['QueueName']}"
            return [Need("sqs:GetQueueUrl", arn)]
        need = Need(f"sqs:{operation}", self.queue(params["QueueUrl"]))
        if operation in ("SendMessage", "SendMessageBatch"):
            # A producer to an SSE-KMS queue needs both (SQS key management).
            return [
                need,
                *self._sse([need], "kms:GenerateDataKey", "sqs"),
                *self._sse([need], "kms:Decrypt", "sqs"),
            ]
        if operation == "ReceiveMessage":
            return [need, *self._sse([need], "kms:Decrypt", "sqs")]
        return [need]

    def _needs_stepfunctions(self, operation: str, params: dict[str, Any]) -> list[Need]:
        if operation in _TASK_OPERATIONS:
            # The Service Authorization Reference lists no resource type for these actions:
            # a policy must grant them on "*", and one scoped to a state machine may be
            # denied in AWS. Ask for "*" so only such a grant passes here.
            resource = "*"
        elif operation in _EXECUTION_OPERATIONS:
            resource = params["executionArn"]
        else:
            resource = params.get("stateMachineArn", "*")
        return [Need(f"states:{operation}", resource)]

    def _needs_sns(self, operation: str, params: dict[str, Any]) -> list[Need]:
        if operation == "Publish" and "PhoneNumber" in params:
            # An SMS straight to a number: no topic to name, SNS authorises it on "*".
            return [Need("sns:Publish", "*")]
        arn = params.get("TopicArn") or params.get("TargetArn") or "?"
        return [Need(f"sns:{operation}", arn)]

    def _needs_secretsmanager(self, operation: str, params: dict[str, Any]) -> list[Need]:
        secret = str(params.get("SecretId", "?"))
        if not secret.startswith("arn:"):
            # IAM matches the full ARN (name + "-" + 6 random characters): name it by ARN.
            return [Need(f"secretsmanager:{operation}", "?", "a secret named, not by ARN")]
        return [Need(f"secretsmanager:{operation}", secret)]

    def _needs_lambda(self, operation: str, params: dict[str, Any]) -> list[Need]:
        return [Need(f"lambda:{operation}", self.function(params["FunctionName"]))]


# -- recording -------------------------------------------------------------------------


class CallRecorder:
    """Every AWS call a function's handler makes, as (function, operation, needs), counted."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.calls: Counter[Call] = Counter()
        self._lock = threading.Lock()

    def _handlers(self) -> list[tuple[str, Any]]:
        return [
            ("before-parameter-build", self._before),
            ("after-call.kms.Decrypt", self._after_decrypt),
            ("creating-client-class.s3", self._s3_class),
        ]

    def install(self, events: Any) -> None:
        """Register on a boto3/botocore session's event system, before its clients exist
        (a client copies the handlers when it is created)."""
        for event, handler in self._handlers():
            events.register(event, handler)

    def uninstall(self, events: Any) -> None:
        for event, handler in self._handlers():
            events.unregister(event, handler)

    def record(self, function: str, operation: str, needs: Iterable[Need]) -> None:
        with self._lock:
            self.calls[Call(function, operation, tuple(sorted(set(needs))))] += 1

    def functions(self) -> set[str]:
        with self._lock:
            return {c.function for c in self.calls}

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def counted(self) -> Counter[Call]:
        """Each call with how many times it was made."""
        with self._lock:
            return Counter(self.calls)

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        function = running_function()
        if function is None:
            return
        if context.get("is_presign_request") and model.name == "CreateBucket":
            return  # a presigned POST: `_s3_class` records it with its key
        service = model.service_model.service_name
        needs = self.resources.needs(service, model.name, params)
        if any(n.resource == "?" and n.action == "kms:Decrypt" for n in needs):
            context["localcloud_iam"] = (function, f"{service}.{model.name}")
            return
        self.record(function, f"{service}.{model.name}", needs)

    def _after_decrypt(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        pending = context.pop("localcloud_iam", None)
        if pending is not None:
            key = parsed.get("KeyId")
            need = Need("kms:Decrypt", self.resources.key(key) if key else "?")
            self.record(pending[0], pending[1], [need])

    def _s3_class(self, class_attributes: dict[str, Any], **_: Any) -> None:
        """Wrap `generate_presigned_post`: whoever uploads with it acts with the signer's
        permissions, so the signing function needs s3:PutObject on the key (and the key's
        KMS permission when the bucket encrypts with a customer key)."""
        presign = class_attributes.get("generate_presigned_post")
        if presign is None:
            return
        recorder = self

        def generate_presigned_post(client: Any, Bucket: str, Key: str, **kwargs: Any) -> Any:
            function = running_function()
            if function is not None:
                needs = recorder.resources.needs("s3", "PutObject", {"Bucket": Bucket, "Key": Key})
                recorder.record(function, "s3.PresignedPost", needs)
            return presign(client, Bucket=Bucket, Key=Key, **kwargs)

        class_attributes["generate_presigned_post"] = generate_presigned_post


# -- the roles, as SAM translates them ------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str  # where it comes from, for reports

    def allows(self, need: Need) -> bool:
        return any(self.grants(a, need) for a in self.actions)

    def grants(self, action: str, need: Need) -> bool:
        """Whether this statement's `action` (one of its patterns) covers `need`."""
        return _glob(action, need.action, fold=True) and any(
            _glob(r, need.resource) for r in self.resources
        )


@dataclass(frozen=True)
class Role:
    function: str
    statements: tuple[Statement, ...]
    managed: tuple[str, ...]

    def decide(self, need: Need) -> Statement | None:
        """The Allow statement that grants `need`, or None (denied: explicit or implicit)."""
        if any(s.effect == "Deny" and s.allows(need) for s in self.statements):
            return None
        return next((s for s in self.statements if s.effect == "Allow" and s.allows(need)), None)


def _glob(pattern: str, value: str, fold: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one; actions are case-insensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if fold else 0) is not None


class SamUnavailable(RuntimeError):
    """SAM's translator (in .venv-sam, which `make lint` installs) is needed for the check."""


def sam_python(root: Path) -> Path:
    path = Path(os.environ.get("LENDING_SAM_PYTHON", root / ".venv-sam" / "bin" / "python"))
    if not path.exists():
        raise SamUnavailable(f"{path} not found: `make lint` installs SAM CLI in .venv-sam")
    return path


@cache
def _translate(root: Path, template_text: str, parameters: str, region: str) -> Any:
    del template_text  # part of the cache key only: a changed template is translated again
    script = Path(__file__).with_name("sam_policies.py")
    # -I: the script's folder holds http.py, which would shadow the standard library's.
    out = subprocess.run(
        [str(sam_python(root)), "-I", str(script), str(root / "template.yaml"), parameters],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": region, "SAM_CLI_TELEMETRY": "0"},
        timeout=120,
    )
    if out.returncode != 0:
        raise SamUnavailable(f"SAM could not translate template.yaml:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def role_policies(
    deployment: Deployment, root: Path, parameters: dict[str, str]
) -> dict[str, Role]:
    """Each function's role as SAM translates the template, intrinsics resolved."""
    text = (root / "template.yaml").read_text(encoding="utf-8")
    translated = _translate(root, text, json.dumps(parameters, sort_keys=True), deployment.region)
    resolver = deployment.resolver
    roles: dict[str, Role] = {}
    for function, role in translated.items():
        statements: list[Statement] = []
        for n, document in enumerate(role["policies"]):
            for raw in _listed(document["Statement"]):
                unsupported = set(raw) - {"Effect", "Action", "Resource", "Sid"}
                if unsupported:
                    # NotAction, NotResource, Condition: not modelled, so never guessed.
                    raise NotImplementedError(f"{function}: statement with {sorted(unsupported)}")
                resources = [_resolved(resolver, r, function) for r in _listed(raw["Resource"])]
                statements.append(
                    Statement(
                        raw["Effect"],
                        tuple(_listed(raw["Action"])),
                        tuple(resources),
                        f"{role['role']}Policy{n}",
                    )
                )
        roles[function] = Role(function, tuple(statements), tuple(role["managed"]))
    return roles


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resolved(resolver: Resolver, value: Any, function: str) -> str:
    resolved = resolver.resolve(value)
    if not isinstance(resolved, str):
        raise ValueError(f"{function}: cannot resolve {value!r}")
    return resolved


# -- the check -------------------------------------------------------------------------


@dataclass
class Finding:
    function: str
    kind: str  # "denied" | "unused resource" | "unused statement" | "unmapped" | ...
    detail: str

    def __str__(self) -> str:
        return f"{self.function}: {self.kind}: {self.detail}"


def check(calls: Iterable[Call], roles: dict[str, Role], resources: Resources) -> list[Finding]:
    """Every recorded need allowed by its function's role; every grant used by a call."""
    findings: list[Finding] = []
    by_function: dict[str, list[Call]] = {}
    for c in calls:
        by_function.setdefault(c.function, []).append(c)
    for function, role in sorted(roles.items()):
        findings += _managed(role)
        needs = {(c.operation, n) for c in by_function.get(function, []) for n in c.needs}
        used: set[Statement] = set()
        for operation, need in sorted(needs):
            if need.resource == "?":
                findings.append(Finding(function, "unmapped", f"{operation}: {need.why}"))
                continue
            statement = role.decide(need)
            if statement is None:
                why = f" ({need.why})" if need.why else ""
                findings.append(
                    Finding(
                        function,
                        "denied",
                        f"{operation} needs {need.action} on {need.resource}{why}",
                    )
                )
            else:
                used.add(statement)
        touched = {resources.owner(n.resource) for _, n in needs}
        for statement in role.statements:
            if statement.effect != "Allow":
                continue
            if statement not in used:
                findings.append(
                    Finding(
                        function,
                        "unused statement",
                        f"{statement.source}: "
                        f"{list(statement.actions)} on {list(statement.resources)}",
                    )
                )
            for granted in sorted(set(_granted(statement, resources)) - touched):
                findings.append(
                    Finding(
                        function,
                        "unused resource",
                        f"{granted} (granted by {statement.source}, never touched)",
                    )
                )
    for function in sorted(set(by_function) - set(roles)):
        findings.append(Finding(function, "no role", "its calls cannot be checked"))
    return _unique(findings)


def _managed(role: Role) -> list[Finding]:
    return [
        Finding(role.function, "unmodelled managed policy", arn)
        for arn in role.managed
        if not arn.endswith(RUNTIME_MANAGED_POLICIES)
    ]


def _granted(statement: Statement, resources: Resources) -> Iterator[str]:
    """The stack's resources a statement grants something on (`*` grants are left out:
    they name no resource, and the statement check covers them)."""
    for pattern in statement.resources:
        if pattern == "*":
            continue
        for base, logical_id in resources.by_arn.items():
            if _glob(pattern, base) or pattern.startswith(base + "/"):
                yield logical_id


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    out = []
    for f in findings:
        if str(f) not in seen:
            seen.add(str(f))
            out.append(f)
    return out


def summary(calls: Iterable[Call], resources: Resources) -> dict[str, list[str]]:
    """What each function was recorded doing, by resource (for failure messages)."""
    out: dict[str, set[str]] = {}
    for c in calls:
        for n in c.needs:
            owner = resources.owner(n.resource)
            where = n.resource
            if owner is not None:
                base = next(b for b, o in resources.by_arn.items() if o == owner)
                inside = n.resource[len(base) :].split("/")
                # An object's first folder, an index's name: not every key.
                where = owner + "/".join(inside[:3] if "index" in inside else inside[:2])
            out.setdefault(c.function, set()).add(f"{n.action} {where}")
    return {f: sorted(v) for f, v in sorted(out.items())}


def unused_actions(calls: Iterable[Call], roles: dict[str, Role]) -> dict[str, list[str]]:
    """Per function, the granted actions no recorded need matched (advice: a used
    statement may still grant more than it should; SAM's templates grant in bulk)."""
    needs: dict[str, set[Need]] = {}
    for c in calls:
        needs.setdefault(c.function, set()).update(c.needs)
    out: dict[str, list[str]] = {}
    for function, role in sorted(roles.items()):
        mine = needs.get(function, set())
        idle = [
            f"{s.source}: {action}"
            for s in role.statements
            if s.effect == "Allow"
            for action in s.actions
            if not any(s.grants(action, n) for n in mine)
        ]
        if idle:
            out[function] = idle
    return out
