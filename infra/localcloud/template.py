"""Read template.yaml (with CloudFormation's short-form tags) and resolve intrinsics.

moto's CloudFormation does not know SAM's transforms nor `DefinitionSubstitutions`,
so the local cloud resolves the handful of intrinsics the template uses itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_TAGS = {
    "!Ref": "Ref",
    "!Sub": "Fn::Sub",
    "!GetAtt": "Fn::GetAtt",
    "!Join": "Fn::Join",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Not": "Fn::Not",
    "!Condition": "Condition",
}


class _Loader(yaml.SafeLoader):
    pass


def _construct(tag: str) -> Any:
    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if _TAGS[tag] == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {_TAGS[tag]: value}

    return build


for _tag in _TAGS:
    _Loader.add_constructor(_tag, _construct(_tag))


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_Loader)
    return data


class Resolver:
    """Resolves Ref / Fn::Sub / Fn::GetAtt against what has been deployed so far."""

    def __init__(self, pseudo: dict[str, str], parameters: dict[str, str]) -> None:
        self.refs: dict[str, str] = {**pseudo, **parameters}
        self.attributes: dict[tuple[str, str], str] = {}
        self.conditions: dict[str, bool] = {}

    def evaluate_conditions(self, conditions: dict[str, Any]) -> None:
        """The template's Conditions, by name (they may refer to one another)."""
        pending = dict(conditions)
        while pending:
            for name, expression in list(pending.items()):
                try:
                    self.conditions[name] = bool(self.resolve(expression))
                except KeyError:
                    continue  # refers to a condition not evaluated yet
                del pending[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.refs[arg]
            if key == "Fn::GetAtt":
                return self.attributes[(arg[0], arg[1])]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(str(arg[0]))
            if key in _CONDITIONALS:
                return _CONDITIONALS[key](self, arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.attributes[(logical, attribute)]
            return self.refs[name]

        return re.sub(r"\$\{([A-Za-z0-9_:.]+)\}", lookup, text)


# Condition functions: (resolver, argument) -> value.
_CONDITIONALS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Fn::If": lambda r, a: r.resolve(a[1] if r.conditions[a[0]] else a[2]),
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(x) for x in a),
    "Fn::Or": lambda r, a: any(r.resolve(x) for x in a),
    "Condition": lambda r, a: r.conditions[a],
}


def dependencies(value: Any) -> set[str]:
    """Logical ids a property tree refers to (for ordering the deployment)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name in re.findall(r"\$\{([A-Za-z0-9_:.]+)\}", text):
                    found.add(name.split(".", 1)[0])
                if not isinstance(arg, str):
                    found |= dependencies(arg[1])
            else:
                found |= dependencies(arg)
    return found
