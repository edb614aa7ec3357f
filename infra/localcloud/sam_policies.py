"""Print each function's IAM role policies as SAM translates template.yaml (JSON on stdout).

Run by SAM's own interpreter (.venv-sam: SAM CLI's pins clash with the product's, so
samtranslator is not importable from .venv), so this file imports only samtranslator
and the standard library:

    .venv-sam/bin/python infra/localcloud/sam_policies.py template.yaml '{"Sandbox": "true"}'

Output: {function logical id: {"policies": [policy document, ...], "managed": [arn, ...]}}
with the intrinsics (Ref, Fn::Sub, Fn::GetAtt) left for the local cloud to resolve
against what it deployed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# Placeholders for what `sam build` / `sam package` fill in; policies do not depend on them.
_ARTEFACTS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class _NoManagedPolicies:
    """The template names managed policies by ARN only, so nothing is looked up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def role_policies(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    for resource in template["Resources"].values():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props.get("PackageType") == "Image":
            props["ImageUri"] = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/function:latest"
        elif resource["Type"] in _ARTEFACTS:
            props[_ARTEFACTS[resource["Type"]]] = "s3://sam-artefacts/placeholder.zip"
    translated = transform(template, parameters, _NoManagedPolicies())
    resources = translated["Resources"]
    out: dict[str, Any] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"]["Role"]
        role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) else None
        if role_id is None or role_id not in resources:
            raise ValueError(f"{logical_id}: role {role!r} is not a role of this template")
        props = resources[role_id]["Properties"]
        out[logical_id] = {
            "role": role_id,
            "policies": [p["PolicyDocument"] for p in props.get("Policies", [])],
            "managed": props.get("ManagedPolicyArns", []),
        }
    return out


def main() -> None:
    template = yaml_parse(Path(sys.argv[1]).read_text(encoding="utf-8"))
    parameters = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    json.dump(role_policies(template, parameters), sys.stdout)


if __name__ == "__main__":
    main()
