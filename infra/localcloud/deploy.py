"""Create the resources of template.yaml on moto: no second, hand-kept list of resources."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra.localcloud.lambdas import FunctionSpec, LambdaRegistry
from infra.localcloud.schedules import Schedule, Target
from infra.localcloud.template import Resolver, dependencies, load_template

ACCOUNT = "123456789012"
ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Deployment:
    stack: str
    region: str
    resolver: Resolver
    environment: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    # Target logical id -> its EventBridge Scheduler schedule (`Schedule`/`ScheduleV2`
    # events of functions and state machines): moto stores schedules but never fires
    # them, so `LocalCloud.tick` does.
    schedules: dict[str, Schedule] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def ref(self, logical_id: str) -> str:
        return self.resolver.refs[logical_id]


class TemplateDeployer:
    def __init__(
        self,
        root: Path,
        registry: LambdaRegistry,
        stack: str = "lending-local",
        region: str = "cn-north-1",
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.registry = registry
        self.template = load_template(root / "template.yaml")
        self.region = region
        self.stack = stack
        params = {
            name: str(spec.get("Default", ""))
            for name, spec in self.template.get("Parameters", {}).items()
        }
        params.update(parameters or {})
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack,
            "AWS::Partition": "aws-cn" if region.startswith("cn-") else "aws",
            "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
        }
        self.deployment = Deployment(stack, region, Resolver(pseudo, params))
        self._client_cache: dict[str, Any] = {}
        self._role_arn = ""

    @property
    def _partition(self) -> str:
        return self.deployment.resolver.refs["AWS::Partition"]

    def client(self, service: str) -> Any:
        if service not in self._client_cache:
            self._client_cache[service] = boto3.client(  # type: ignore[call-overload]
                service, region_name=self.region
            )
        return self._client_cache[service]

    def deploy(self) -> Deployment:
        resolver = self.deployment.resolver
        resolver.evaluate_conditions(self.template.get("Conditions", {}))
        # A resource whose Condition is false is not created, as in CloudFormation.
        resources: dict[str, Any] = {
            logical_id: spec
            for logical_id, spec in self.template["Resources"].items()
            if resolver.conditions.get(spec.get("Condition", ""), True)
        }
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        self._role_arn = self.client("iam").create_role(
            RoleName=f"{self.stack}-execution", AssumeRolePolicyDocument=ROLE_POLICY
        )["Role"]["Arn"]
        for logical_id in self._order(resources, globals_fn):
            spec = resources[logical_id]
            create = self._creators().get(spec["Type"])
            if create is None:
                raise NotImplementedError(f"local cloud cannot create {spec['Type']}")
            create(logical_id, spec.get("Properties", {}), spec)
            self.deployment.created.append(logical_id)
        return self.deployment

    def _order(self, resources: dict[str, Any], globals_fn: dict[str, Any]) -> list[str]:
        known = set(resources)
        deps = {}
        for logical_id, spec in resources.items():
            found = dependencies(spec.get("Properties", {}))
            if spec["Type"] == "AWS::Serverless::Function":
                found |= dependencies(globals_fn)
            deps[logical_id] = found & known - {logical_id}
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(node: str) -> None:
            if node in ordered:
                return
            if node in visiting:
                raise ValueError(f"dependency cycle at {node}")
            visiting.add(node)
            for dep in sorted(deps[node]):
                visit(dep)
            visiting.discard(node)
            ordered.append(node)

        for logical_id in resources:
            visit(logical_id)
        return ordered

    def _creators(self) -> dict[str, Callable[[str, dict[str, Any], dict[str, Any]], None]]:
        return {
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Serverless::Api": self._api,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::SNS::Topic": self._topic,
            "AWS::SecretsManager::Secret": self._secret,
        }

    # -- resources -----------------------------------------------------------------------

    def _set(self, logical_id: str, ref: str, **attributes: str) -> None:
        r = self.deployment.resolver
        r.refs[logical_id] = ref
        for name, value in attributes.items():
            r.attributes[(logical_id, name)] = value

    def _kms_key(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        kms = self.client("kms")
        meta = kms.create_key(
            Description=p.get("Description", logical_id),
            KeySpec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
            KeyUsage=p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        )["KeyMetadata"]
        if p.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self._set(logical_id, meta["KeyId"], Arn=meta["Arn"], KeyId=meta["KeyId"])

    def _kms_alias(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        self.client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
        self._set(logical_id, p["AliasName"])

    def _table(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("TableName", f"{self.stack}-{logical_id}")
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if p.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        sse = p.get("SSESpecification")
        if sse:
            args["SSESpecification"] = {
                "Enabled": sse.get("SSEEnabled", False),
                "SSEType": sse.get("SSEType", "KMS"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }
        if "DeletionProtectionEnabled" in p:
            args["DeletionProtectionEnabled"] = p["DeletionProtectionEnabled"]
        db = self.client("dynamodb")
        desc = db.create_table(**args)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            db.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self._set(logical_id, name, Arn=desc["TableArn"])

    def _bucket(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("BucketName", f"{self.stack}-{logical_id}".lower())
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if "BucketEncryption" in p:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    # CloudFormation's property names differ from the API's here.
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": rule[
                                "ServerSideEncryptionByDefault"
                            ],
                            "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                        }
                        for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
            )
        if "VersioningConfiguration" in p:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=p["VersioningConfiguration"]
            )
        if "CorsConfiguration" in p:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={
                    "CORSRules": [_cors_rule(r) for r in p["CorsConfiguration"]["CorsRules"]]
                },
            )
        self._set(logical_id, name, Arn=f"arn:{self._partition}:s3:::{name}")

    def _queue(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("QueueName", f"{self.stack}-{logical_id}")
        attributes: dict[str, str] = {}
        for key in (
            "FifoQueue",
            "ContentBasedDeduplication",
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "KmsMasterKeyId",
        ):
            if key in p:
                value = p[key]
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if "RedrivePolicy" in p:
            attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._set(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _layer(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        # Locally the lending package is installed in the environment itself.
        layer = f"{self.stack}-{logical_id}"
        arn = f"arn:{self._partition}:lambda:{self.region}:{ACCOUNT}:layer:{layer}:1"
        self._set(logical_id, arn)

    def _api(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        self._set(logical_id, f"{self.stack}-{logical_id.lower()}")

    def _function(self, logical_id: str, props: dict[str, Any], spec: dict[str, Any]) -> None:
        r = self.deployment.resolver
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        env = r.resolve(globals_fn.get("Environment", {}).get("Variables", {}))
        own_env = r.resolve(props.get("Environment", {}).get("Variables", {}))
        for key, value in own_env.items():
            # One process hosts every function, so they must agree on the environment.
            if env.get(key, value) != value:
                raise ValueError(f"{logical_id} overrides {key}: keep settings in Globals")
            env[key] = value
        self.deployment.environment.update(env)
        name = f"{self.stack}-{logical_id}"
        if props.get("PackageType") == "Image":
            code_dir = (self.root / spec["Metadata"]["Dockerfile"]).parent
            handler = props["ImageConfig"]["Command"][0]
        else:
            code_dir = self.root / props["CodeUri"]
            handler = props["Handler"]
        memory = int(props.get("MemorySize", globals_fn.get("MemorySize", 512)))
        fn = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self._role_arn,
            Handler=handler,
            Code={"ZipFile": _EMPTY_ZIP},
            Timeout=int(props.get("Timeout", globals_fn.get("Timeout", 30))),
            MemorySize=memory,
        )
        function_spec = FunctionSpec(logical_id, name, fn["FunctionArn"], code_dir, handler, memory)
        self.registry.add(function_spec)
        self.deployment.functions[logical_id] = function_spec
        self._set(logical_id, name, Arn=fn["FunctionArn"])
        # Api events need nothing here: the local cloud serves the Chalice app itself.
        for event in props.get("Events", {}).values():
            if event["Type"] == "S3":
                self._s3_notification(fn["FunctionArn"], r.resolve(event["Properties"]))
            elif event["Type"] in _SCHEDULE_EVENTS:
                self._schedule(logical_id, "function", r.resolve(event["Properties"]))

    def _topic(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("TopicName", f"{self.stack}-{logical_id}")
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self._set(logical_id, arn, TopicArn=arn, TopicName=name)

    def _secret(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("Name", f"{self.stack}-{logical_id}")
        arn = self.client("secretsmanager").create_secret(
            Name=name, SecretString=p.get("SecretString", "{}")
        )["ARN"]
        self._set(logical_id, arn, Id=arn)

    def _alarm(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        p = self.deployment.resolver.resolve(props)
        name = p.get("AlarmName", f"{self.stack}-{logical_id}")
        keys = (
            "AlarmDescription",
            "Namespace",
            "MetricName",
            "Dimensions",
            "Statistic",
            "Period",
            "EvaluationPeriods",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
        )
        cloudwatch = self.client("cloudwatch")
        cloudwatch.put_metric_alarm(AlarmName=name, **{k: p[k] for k in keys if k in p})
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        self._set(logical_id, name, Arn=arn)

    def _s3_notification(self, function_arn: str, props: dict[str, Any]) -> None:
        events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
        config: dict[str, Any] = {"LambdaFunctionArn": function_arn, "Events": events}
        if "Filter" in props:
            config["Filter"] = {"Key": {"FilterRules": props["Filter"]["S3Key"]["Rules"]}}
        self.client("s3").put_bucket_notification_configuration(
            Bucket=props["Bucket"],
            NotificationConfiguration={"LambdaFunctionConfigurations": [config]},
        )

    def _state_machine(self, logical_id: str, props: dict[str, Any], _: dict[str, Any]) -> None:
        r = self.deployment.resolver
        p = r.resolve(props)
        text = (self.root / p["DefinitionUri"]).read_text(encoding="utf-8")
        substitutions: dict[str, Any] = p.get("DefinitionSubstitutions", {})
        missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(substitutions)
        if missing:
            raise ValueError(f"{logical_id}: no substitution for {sorted(missing)}")
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", str(value))
        name = p.get("Name", f"{self.stack}-{logical_id}")
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=self._role_arn, type=p.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.deployment.state_machines[logical_id] = arn
        self._set(logical_id, arn, Name=name, Arn=arn)
        for event_name, event in p.get("Events", {}).items():
            if event["Type"] not in _SCHEDULE_EVENTS:
                raise NotImplementedError(
                    f"local cloud cannot wire {event['Type']} event {event_name} of {logical_id}"
                )
            self._schedule(logical_id, "state_machine", event.get("Properties", {}))

    def _schedule(self, logical_id: str, target: Target, props: dict[str, Any]) -> None:
        """Record a `Schedule`/`ScheduleV2` event (resolved properties) for `tick` to fire."""
        if props.get("State", "ENABLED") == "DISABLED" or props.get("Enabled", True) is False:
            return
        if logical_id in self.deployment.schedules:
            raise NotImplementedError(f"local cloud fires one schedule per resource: {logical_id}")
        payload = props.get("Input")
        self.deployment.schedules[logical_id] = Schedule(
            logical_id=logical_id,
            # ScheduleV2 (EventBridge Scheduler) names it ScheduleExpression, Schedule (a
            # scheduled EventBridge rule, always UTC) names it Schedule.
            expression=props.get("ScheduleExpression", props.get("Schedule", "")),
            timezone=props.get("ScheduleExpressionTimezone", "UTC"),
            target=target,
            input=payload if payload is None or isinstance(payload, str) else json.dumps(payload),
        )


_SCHEDULE_EVENTS = ("Schedule", "ScheduleV2")


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in rule.items() if k != "MaxAge"}
    if "MaxAge" in rule:
        out["MaxAgeSeconds"] = rule["MaxAge"]
    return out


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "code runs in-process in the local cloud")
    return buffer.getvalue()


_EMPTY_ZIP = _empty_zip()
