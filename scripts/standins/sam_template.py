"""What the local stand-ins need from template.yaml: the functions, their HTTP routes, the tables and the
queues they use, and the queues' event source mappings.

Read from the template itself, so the local stack cannot drift from what `sam deploy` creates: a new
route, a renamed handler or a changed timeout shows up locally on the next start. The properties are
read as the AWS SAM specification defines them (`AWS::Serverless::Function` with its `Globals`,
`HttpApi` events and `AWS::Serverless::HttpApi` with an OpenAPI `DefinitionBody`, SAM's defaults where
the template says nothing) and CloudFormation's template reference (short-form intrinsic functions,
`AWS::DynamoDB::Table`). Only the subset of SAM that this project uses is understood; anything else
raises `TemplateError` instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from standins.dynamodb import Table
from standins.sqs import QueueDefinition, QueueEvent

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
SQS_QUEUE = "AWS::SQS::Queue"
# CloudFormation's AWS::SQS::Queue properties that are queue attributes of the same name (CreateQueue).
QUEUE_ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "VisibilityTimeout")
# SAM's SQS event defaults (AWS::Serverless::Function SQS event: BatchSize 10).
DEFAULT_SQS_BATCH = 10
# SAM's defaults when a function or its Globals say nothing.
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
DEFAULT_ASYNC_RETRIES = 2
IMPLICIT_HTTP_API = "ServerlessHttpApi"

_OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z.]+)?\}")


class TemplateError(ValueError):
    """template.yaml uses something the local stack does not understand."""


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation's short tags (!Ref, !Sub, ...) as their long forms."""


def _short_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_tag)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as a dict, short tags in long form."""
    loader = _CfnLoader(path.read_text(encoding="utf-8"))
    try:
        document = loader.get_single_data()
    finally:
        loader.dispose()
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources")
    return document


@dataclass(frozen=True, slots=True)
class Function:
    """One Lambda function as the local runtime runs it."""

    logical_id: str
    name: str
    handler: str
    code_uri: str
    timeout: float
    memory_mb: int
    async_retries: int
    environment: dict[str, Any]

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP API route: ``POST /client-data`` on stage ``Prod`` goes to ``function``."""

    method: str  # upper case, or "ANY"
    path: str
    stage: str
    api: str
    function: Function

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _resolve_name(value: Any, stack_name: str, fallback: str) -> str:
    """A FunctionName/TableName: a literal, or a !Sub of the stack name; else the fallback."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text = value["Fn::Sub"].replace("${AWS::StackName}", stack_name)
        if "${" not in text:
            return text
    return fallback


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


class Template:
    """The parsed template and the few questions the local stack asks of it."""

    def __init__(self, document: dict[str, Any], *, stack_name: str = "agentic-memory-dev") -> None:
        self.document = document
        self.stack_name = stack_name
        self.resources: dict[str, dict[str, Any]] = document["Resources"]
        globals_ = document.get("Globals") or {}
        self._function_globals: dict[str, Any] = globals_.get("Function") or {}

    @classmethod
    def read(cls, path: Path = TEMPLATE, *, stack_name: str = "agentic-memory-dev") -> Template:
        return cls(load(path), stack_name=stack_name)

    def _of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {key: res for key, res in self.resources.items() if isinstance(res, dict) and res.get("Type") == kind}

    def functions(self) -> dict[str, Function]:
        """Every AWS::Serverless::Function, keyed by logical id, with Globals applied."""
        found = {}
        for logical_id, resource in self._of_type(SERVERLESS_FUNCTION).items():
            props = resource.get("Properties") or {}
            handler = props.get("Handler", self._function_globals.get("Handler"))
            if not isinstance(handler, str) or "." not in handler:
                raise TemplateError(f"{logical_id} has no module.function Handler")
            env = {
                **((self._function_globals.get("Environment") or {}).get("Variables") or {}),
                **((props.get("Environment") or {}).get("Variables") or {}),
            }
            retries = (props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)
            found[logical_id] = Function(
                logical_id=logical_id,
                name=_resolve_name(props.get("FunctionName"), self.stack_name, f"{self.stack_name}-{logical_id}"),
                handler=handler,
                code_uri=str(props.get("CodeUri", self._function_globals.get("CodeUri", "."))),
                timeout=float(props.get("Timeout", self._function_globals.get("Timeout", DEFAULT_TIMEOUT))),
                memory_mb=int(props.get("MemorySize", self._function_globals.get("MemorySize", DEFAULT_MEMORY))),
                async_retries=int(retries),
                environment=env,
            )
        return found

    def _stage(self, api_id: str) -> str:
        api = self.resources.get(api_id) or {}
        stage = (api.get("Properties") or {}).get("StageName", "$default")
        if not isinstance(stage, str):
            raise TemplateError(f"{api_id}.StageName must be a literal string locally")
        return stage

    def routes(self) -> list[Route]:
        """Routes from functions' HttpApi events and from HttpApi DefinitionBody paths, sorted by path."""
        functions = self.functions()
        routes: list[Route] = []
        for function in functions.values():
            events = (self.resources[function.logical_id].get("Properties") or {}).get("Events") or {}
            for event in events.values():
                if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                    continue
                props = event.get("Properties") or {}
                api_ref = props.get("ApiId")
                api_id = api_ref.get("Ref") if isinstance(api_ref, dict) else IMPLICIT_HTTP_API
                method = str(props.get("Method", "ANY")).upper()
                path = props.get("Path")
                if not isinstance(path, str):
                    raise TemplateError(
                        f"{function.logical_id}: an HttpApi event without Path ($default) is not served"
                    )
                routes.append(Route(method, path, self._stage(api_id), api_id, function))
        for api_id, api in self._of_type(SERVERLESS_HTTP_API).items():
            paths = ((api.get("Properties") or {}).get("DefinitionBody") or {}).get("paths") or {}
            for path, operations in paths.items():
                for verb, operation in (operations or {}).items():
                    if verb.lower() not in _OPENAPI_METHODS:
                        continue
                    integration = (operation or {}).get("x-amazon-apigateway-integration") or {}
                    target = self._referenced_function(integration.get("uri"), functions)
                    if target is None:
                        raise TemplateError(f"{api_id} {verb.upper()} {path}: no Lambda function in its integration")
                    method = "ANY" if verb.lower() == "x-amazon-apigateway-any-method" else verb.upper()
                    routes.append(Route(method, path, self._stage(api_id), api_id, target))
        # The same route on several APIs (GET /, each API's health answer) is served by each API's own host on
        # AWS; one local host serves the first API's, by logical id. Twice on one API is a mistake.
        seen: dict[tuple[str, str], str] = {}
        served: list[Route] = []
        for route in sorted(routes, key=lambda r: (r.path, r.method, r.api)):
            if "{" in route.path:
                raise TemplateError(f"{route.route_key}: path parameters are not served locally")
            first = seen.setdefault((route.method, route.path), route.api)
            if first != route.api:
                continue
            if any((r.method, r.path) == (route.method, route.path) for r in served):
                raise TemplateError(f"{route.route_key} is defined twice on {route.api}")
            served.append(route)
        return served

    @staticmethod
    def _referenced_function(node: Any, functions: dict[str, Function]) -> Function | None:
        """The function an integration URI names, through Ref, GetAtt or ${X.Arn}, in any branch."""
        if isinstance(node, str):
            for match in _SUB_REFERENCE.finditer(node):
                if match.group(1) in functions:
                    return functions[match.group(1)]
            return None
        if isinstance(node, dict):
            ref = node.get("Ref")
            if isinstance(ref, str) and ref.split(".")[0] in functions:
                return functions[ref.split(".")[0]]
            att = node.get("Fn::GetAtt")
            if isinstance(att, list) and att and att[0] in functions:
                return functions[att[0]]
            node = list(node.values())
        if isinstance(node, list):
            for item in node:
                found = Template._referenced_function(item, functions)
                if found is not None:
                    return found
        return None

    def tables(self) -> dict[str, Table]:
        """Tables that functions name in environment variables (``VAR: !Ref Table``), keyed by variable."""
        tables = self._of_type(DYNAMODB_TABLE)
        found: dict[str, Table] = {}
        for function in self.functions().values():
            for variable, value in function.environment.items():
                ref = value.get("Ref") if isinstance(value, dict) else None
                if ref not in tables:
                    continue
                props = tables[ref].get("Properties") or {}
                ttl = props.get("TimeToLiveSpecification") or {}
                found[variable] = Table(
                    logical_id=ref,
                    name=_resolve_name(props.get("TableName"), self.stack_name, f"{self.stack_name}-{_kebab(ref)}"),
                    key_schema=props["KeySchema"],
                    attribute_definitions=props["AttributeDefinitions"],
                    billing_mode=props.get("BillingMode", "PROVISIONED"),
                    ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
                    global_secondary_indexes=tuple(props.get("GlobalSecondaryIndexes") or ()),
                )
        return found

    def _parameter(self, value: Any) -> Any:
        """A literal, or a ``Ref`` to a parameter, as its default."""
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            spec = (self.document.get("Parameters") or {}).get(value["Ref"])
            if not isinstance(spec, dict) or "Default" not in spec:
                raise TemplateError(f"!Ref {value['Ref']} needs a parameter with a Default locally")
            return spec["Default"]
        return value

    def queues(self) -> dict[str, QueueDefinition]:
        """Every AWS::SQS::Queue, keyed by logical id: its name, the attributes CreateQueue takes, and its
        redrive policy (the dead-letter queue by logical id, maxReceiveCount)."""
        found: dict[str, QueueDefinition] = {}
        for logical_id, resource in self._of_type(SQS_QUEUE).items():
            props = resource.get("Properties") or {}
            attributes = {name: str(self._parameter(props[name])) for name in QUEUE_ATTRIBUTES if name in props}
            redrive = props.get("RedrivePolicy") or {}
            target = redrive.get("deadLetterTargetArn")
            dead_letter = target.get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
            if redrive and dead_letter not in self._of_type(SQS_QUEUE):
                raise TemplateError(f"{logical_id}: its RedrivePolicy must name a queue of this template")
            found[logical_id] = QueueDefinition(
                logical_id=logical_id,
                name=_resolve_name(props.get("QueueName"), self.stack_name, f"{self.stack_name}-{_kebab(logical_id)}"),
                attributes=attributes,
                dead_letter=dead_letter,
                max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            )
        return found

    def queue_events(self) -> list[QueueEvent]:
        """The functions' SQS events (event source mappings), as SAM's SQS event type defines them."""
        queues = self.queues()
        found = []
        for function in self.functions().values():
            events = (self.resources[function.logical_id].get("Properties") or {}).get("Events") or {}
            for event in events.values():
                if not isinstance(event, dict) or event.get("Type") != "SQS":
                    continue
                props = event.get("Properties") or {}
                queue = props.get("Queue")
                logical = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
                if logical not in queues:
                    raise TemplateError(f"{function.logical_id}: an SQS event must read a queue of this template")
                scaling = props.get("ScalingConfig") or {}
                limit = self._parameter(scaling.get("MaximumConcurrency")) if scaling else None
                found.append(
                    QueueEvent(
                        function=function.name,
                        queue=logical,
                        batch_size=int(self._parameter(props.get("BatchSize", DEFAULT_SQS_BATCH))),
                        report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                        maximum_concurrency=int(limit) if limit is not None else None,
                    )
                )
        return found

    def queue_variables(self) -> dict[str, str]:
        """Environment variables that name a queue (``VAR: !Ref Queue``: its URL), by variable -> logical id."""
        queues = self.queues()
        found = {}
        for function in self.functions().values():
            for variable, value in function.environment.items():
                ref = value.get("Ref") if isinstance(value, dict) else None
                if ref in queues:
                    found[variable] = ref
        return found
